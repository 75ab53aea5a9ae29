/**
 * A typed map of named signals: a stage emits a name with a small payload when it has
 * written something another stage may want to act on, and the composition root connects
 * listeners by name. Signals only wake: the data itself always travels through the
 * database, so a signal that is missed (another process, a crash) costs a poll interval,
 * never a message. A listener that throws is logged and does not stop the others.
 */

/** What a stage that emits the signals of map M is given. */
export interface Emitter<M> {
  emit<K extends keyof M & string>(name: K, payload: M[K]): void;
}

export class Signals<M> implements Emitter<M> {
  private readonly listeners = new Map<keyof M, ((payload: never) => void)[]>();

  constructor(private readonly onError: (name: string, err: unknown) => void = () => {}) {}

  on<K extends keyof M & string>(name: K, listener: (payload: M[K]) => void): void {
    const list = this.listeners.get(name) ?? [];
    list.push(listener as (payload: never) => void);
    this.listeners.set(name, list);
  }

  emit<K extends keyof M & string>(name: K, payload: M[K]): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        (listener as (payload: M[K]) => void)(payload);
      } catch (err) {
        this.onError(name, err);
      }
    }
  }
}
