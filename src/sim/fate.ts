/**
 * Decides what happens to a recipient at a simulated provider: its outcome (accepted,
 * unknown, full, ...) and modifiers (greylisted first, answered slowly).
 *
 * Deterministic by design: prefixes of the local part win, then the provider's percentages
 * applied to a hash of the address, so a given recipient always meets the same fate and a
 * retried attempt is judged the same way. Pure; holds no state.
 */
import type { FateShares, ProviderProfile } from './profiles.ts';

/** What the provider does with the recipient. Async outcomes are accepted first. */
export type Outcome =
  | 'accept'
  | 'unknown'
  | 'full'
  | 'overquota'
  | 'disabled'
  | 'spam'
  | 'bounceLater'
  | 'complain'
  | 'autoreply'
  | 'defer'
  | 'drop';

export interface Fate {
  outcome: Outcome;
  /** Refused with the greylisting reply until the provider's greylist delay has passed. */
  grey: boolean;
  /** RCPT and DATA answers are delayed by the provider's slowMs. */
  slow: boolean;
  /** Subject to the provider's random deferrals, drops and greylisting share ("ok-" is not). */
  chance: boolean;
}

/** Local-part prefixes, longest first so "bounce-later-" is not read as something shorter. */
const OUTCOME_PREFIXES: [string, Outcome][] = [
  ['bounce-later-', 'bounceLater'],
  ['ok-', 'accept'],
  ['overquota-', 'overquota'],
  ['autoreply-', 'autoreply'],
  ['complain-', 'complain'],
  ['disabled-', 'disabled'],
  ['unknown-', 'unknown'],
  ['defer-', 'defer'],
  ['full-', 'full'],
  ['spam-', 'spam'],
  ['drop-', 'drop'],
];

/** Order in which percentages are stacked on the hash line; fixed so fates never move. */
const SHARE_ORDER: (keyof FateShares)[] = ['unknown', 'full', 'overquota', 'disabled', 'spam', 'bounceLater', 'complain', 'autoreply'];

/** The fate of `address` (already lower-cased) at `provider`. */
export function recipientFate(address: string, provider: ProviderProfile): Fate {
  const at = address.lastIndexOf('@');
  let local = at < 0 ? address : address.slice(0, at);
  let grey = false;
  let slow = false;
  let outcome: Outcome | null = null;
  // Modifiers and one outcome may be chained in any order: "grey-slow-unknown-bob".
  for (let progressed = true; progressed && outcome === null; ) {
    progressed = false;
    if (local.startsWith('grey-')) {
      grey = true;
      local = local.slice(5);
      progressed = true;
    } else if (local.startsWith('slow-')) {
      slow = true;
      local = local.slice(5);
      progressed = true;
    } else {
      for (const [prefix, o] of OUTCOME_PREFIXES) {
        if (local.startsWith(prefix)) {
          outcome = o;
          break;
        }
      }
    }
  }
  // "ok-" recipients are accepted whatever the percentages say: tests that need a sure
  // delivery use them.
  const chance = !local.startsWith('ok-');
  if (!grey && chance && provider.greylist.percent > 0) grey = hashFraction(`grey:${address}`) * 100 < provider.greylist.percent;
  return { outcome: outcome ?? sharedOutcome(address, provider.fates), grey, slow, chance };
}

function sharedOutcome(address: string, shares: FateShares): Outcome {
  const point = hashFraction(address) * 100;
  let edge = 0;
  for (const name of SHARE_ORDER) {
    edge += shares[name];
    if (point < edge) return name;
  }
  return 'accept';
}

/**
 * Whether an event with `percent` chance happens for this key, deterministically: the same
 * key (e.g. address + attempt number) always gives the same answer.
 */
export function happens(percent: number, key: string): boolean {
  return percent > 0 && hashFraction(key) * 100 < percent;
}

/** FNV-1a over the UTF-16 code units, mapped to [0, 1). Fast and stable across runs. */
export function hashFraction(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // FNV's low bits mix poorly for short similar keys; a final avalanche spreads them.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) / 0x100000000;
}
