/**
 * The demo's sample target: N recipients to deliver, spread over the simulated providers
 * (src/sim/profiles.yaml) with personalization fields, plus a few rows the analysis must
 * exclude (malformed addresses, duplicates), so every part of the product has something
 * to show.
 *
 * Fates are chosen by the simulator from the address: a share of recipients carry a fate
 * prefix (unknown-, full-, grey-, complain-, ...) so that even a small demo shows each
 * failure reason; the others get the providers' own hashed percentages. Deterministic:
 * the same N gives the same list, so test expectations and screenshots hold.
 */

export interface DemoRecipient {
  email: string;
  firstName: string;
  lastName: string;
  city: string;
  plan: string;
  vip?: boolean;
}

export interface DemoTarget {
  recipients: DemoRecipient[];
  /** Rows to deliver (N); the others are excluded by the analysis. */
  toDeliver: number;
  /** Malformed and duplicate rows appended on purpose. */
  excluded: number;
}

/** Consumer-mailbox market shares, roughly; the broken domains fail with Invalid domain. */
const DOMAINS: [string, number][] = [
  ['gmail.sim', 41.6],
  ['googlemail.sim', 2],
  ['yahoo.sim', 11],
  ['aol.sim', 3],
  ['outlook.sim', 14],
  ['hotmail.sim', 9],
  ['eumail.sim', 13],
  ['smallisp.sim', 6],
  ['nxdomain.sim', 0.2],
  ['nomx.sim', 0.2],
];

/**
 * Percent of recipients given each prefix (see the simulator's profiles file). The rest are
 * plain addresses whose fate the providers' percentages decide.
 */
const PREFIXES: [string, number][] = [
  ['unknown-', 1.5], // 550 5.1.1: Hard, User unknown, quarantined
  ['full-', 0.8], // 452 4.2.2: retried until the validity ends, then Mailbox full
  ['disabled-', 0.3], // account disabled
  ['spam-', 0.3], // 554 5.7.1 spam block: Refused
  ['bounce-later-', 0.8], // accepted, then a DSN: Sent becomes Failed
  ['complain-', 0.5], // accepted, then an ARF complaint: denylisted
  ['autoreply-', 1], // accepted, then an out-of-office reply (ignored)
  ['grey-', 3], // greylisted on the first attempt, delivered on a retry
];

const FIRST = ['Ana', 'Bruno', 'Carla', 'David', 'Elena', 'Fátima', 'Gonzalo', 'Helena', 'Iker', 'Julia', 'Kenji', 'Lucía', 'Marco', 'Nerea', 'Óscar', 'Paula', 'Quim', 'Rosa', 'Sven', 'Teresa', 'Ugo', 'Vera', 'Wen', 'Xavier', 'Yara', 'Zoe'];
const LAST = ['García', 'Silva', 'Martin', 'Rossi', 'Müller', 'Novak', 'Dubois', 'Santos', 'Kowalski', 'Jensen', 'Moreau', 'Costa', 'Fischer', 'López', 'Bianchi', 'Ivanova', 'Nakamura', 'Okafor'];
const CITIES = ['Lisboa', 'Madrid', 'Barcelona', 'Porto', 'Sevilla', 'Paris', 'Lyon', 'Milano', 'Berlin', 'Amsterdam', 'Dublin', 'Kraków'];
const PLANS = ['free', 'free', 'free', 'plus', 'plus', 'pro'];

/**
 * Low-discrepancy points in [0, 1) (a Weyl sequence): unlike random numbers, any share p
 * gets about N·p of the first N points, even for N = 300, and they still look scattered.
 */
const weyl = (i: number, alpha: number) => ((i + 1) * alpha) % 1;
const GOLDEN = 0.6180339887498949;
const SQRT2 = 0.41421356237309515;

function pick<T>(table: [T, number][], u: number): T | null {
  const total = 100;
  let edge = 0;
  for (const [value, share] of table) {
    edge += share / total;
    if (u < edge) return value;
  }
  return null;
}

/** The sample target: `toDeliver` deliverable rows, then malformed and duplicate rows. */
export function demoTarget(toDeliver: number): DemoTarget {
  const recipients: DemoRecipient[] = [];
  for (let i = 0; i < toDeliver; i++) {
    const first = FIRST[i % FIRST.length];
    const last = LAST[Math.floor(i / FIRST.length) % LAST.length];
    const domain = pick(DOMAINS, weyl(i, SQRT2)) ?? 'gmail.sim';
    const prefix = pick(PREFIXES, weyl(i, GOLDEN)) ?? '';
    // The index keeps addresses unique; names are folded to ASCII for the local part.
    const local = `${prefix}${ascii(first)}.${ascii(last)}${i}`.toLowerCase();
    const r: DemoRecipient = { email: `${local}@${domain}`, firstName: first, lastName: last, city: CITIES[(i * 7) % CITIES.length], plan: PLANS[(i * 5) % PLANS.length] };
    if (i % 10 === 3) r.vip = true;
    recipients.push(r);
  }
  // About 0.5 % of extra rows that the analysis excludes: Bad-quality address and Double.
  const extra = Math.max(2, Math.round(toDeliver * 0.005));
  const bad = ['ana.garcia@', 'bruno@@gmail.sim', 'carla.silva.gmail.sim', 'david martin@yahoo.sim', 'elena@outlook', '@hotmail.sim'];
  for (let j = 0; j < extra; j++) {
    if (j % 2 === 0) {
      recipients.push({ email: bad[(j / 2) % bad.length], firstName: 'Bad', lastName: 'Address', city: 'Lisboa', plan: 'free' });
    } else {
      // The same address in other case: one person, one message.
      const twin = recipients[(j * 37) % toDeliver];
      recipients.push({ ...twin, email: twin.email.toUpperCase() });
    }
  }
  return { recipients, toDeliver, excluded: extra };
}

function ascii(name: string): string {
  return name.normalize('NFD').replace(/[^A-Za-z]/g, '');
}
