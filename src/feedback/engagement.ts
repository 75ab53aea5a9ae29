/**
 * Whether an open or a click was a machine's, and why, from the request as the recorder saw
 * it (which proxy or scanner, a burst of links) and from the log's own story (how long after
 * sending, whether anything was opened before). Returns the reason, or null for a person's.
 * Pure. What each rule catches and misses: docs/TRACKING.md.
 */
import type { StoredEvent } from '../events/index.ts';

export interface EngagementTiming {
  /** A proxy's open this soon after sending is a prefetch. */
  proxyPrefetchMs: number;
  /** A click this soon after sending, before any open, is a scanner's. */
  clickBeforeOpenMs: number;
}

export function judgeEngagement(log: { sentAt: number | null; openedAt: number | null }, event: StoredEvent, timing: EngagementTiming): string | null {
  const p = event.payload;
  const agent = typeof p.agent === 'string' ? p.agent : null;
  const since = log.sentAt === null ? null : event.occurredAt - log.sentAt;
  if (p.method === 'HEAD') return 'a HEAD request (a link checker, not a browser)';
  if (agent && (p.agentKind === 'machine' || p.agentKind === 'scanner')) return agent;
  if (event.type === 'opened') {
    if (agent && p.agentKind === 'proxy' && since !== null && since < timing.proxyPrefetchMs) return `${agent}, fetched ${seconds(since)} after sending (a prefetch)`;
    return null;
  }
  if (typeof p.burst === 'number' && p.burst > 1) return `${p.burst} links of the message followed within a second`;
  if (log.openedAt === null && since !== null && since < timing.clickBeforeOpenMs) return `clicked ${seconds(since)} after sending, before any open`;
  return null;
}

const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 100) / 10)} s`;
