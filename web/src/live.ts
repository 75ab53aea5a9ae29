// Live data from the server's event streams (server-sent events). The browser reconnects by
// itself after a restart; `connected` lets pages say when the figures may be stale.
import { useEffect, useRef, useState } from 'react';

export function useEventStream<T>(url: string | null, event: string, onData: (data: T) => void): { connected: boolean } {
  const [connected, setConnected] = useState(false);
  const handler = useRef(onData);
  handler.current = onData;
  useEffect(() => {
    if (!url) return;
    const source = new EventSource(url);
    source.onopen = () => setConnected(true);
    source.onerror = () => setConnected(false);
    const listener = (e: MessageEvent) => handler.current(JSON.parse(e.data) as T);
    source.addEventListener(event, listener);
    return () => {
      source.removeEventListener(event, listener);
      source.close();
      setConnected(false);
    };
  }, [url, event]);
  return { connected };
}

/** Loads data for a page and reloads it on demand; keeps the previous data while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: Error | null; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data: T | undefined; error: Error | null; loading: boolean }>({ data: undefined, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error: Error) => live && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/**
 * Loads data and loads it again every `everyMs` while the page is shown (hidden tabs do not
 * poll), so a page stays live without a Refresh button. Keeps the previous data meanwhile.
 */
export function usePoll<T>(load: () => Promise<T>, deps: unknown[], everyMs = 5000): { data: T | undefined; error: Error | null; loading: boolean; reload: () => void; at: number | null } {
  const result = useLoad(load, deps);
  const [at, setAt] = useState<number | null>(null);
  const reload = useRef(result.reload);
  reload.current = result.reload;
  useEffect(() => {
    if (!result.loading) setAt(Date.now());
  }, [result.loading, result.data]);
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') reload.current();
    }, everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return { ...result, at };
}
