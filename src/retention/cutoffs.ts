/**
 * The instants before which logs and events go, from the `retention` settings (off, or a
 * duration such as 90d): null where retention is off.
 */
import { parseDuration } from '../lib/duration.ts';

export function retentionCutoffs(retention: { logs: string | number; events: string | number }, now = Date.now()): { logsBefore: number | null; eventsBefore: number | null } {
  const at = (v: string | number) => (v === 'off' ? null : now - parseDuration(v));
  return { logsBefore: at(retention.logs), eventsBefore: at(retention.events) };
}
