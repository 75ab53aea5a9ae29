// Number and date formatting in one place, so every page writes figures and times the same
// way: 10,050 (never 10050), percentages with two decimals, and one date format everywhere,
// "3 Dec 17:02:35" (the year is added when it is not the current one: "3 Dec 2025 17:02:35").

const int = new Intl.NumberFormat('en-US');
export const n = (v: number | null | undefined) => (v === null || v === undefined ? '–' : int.format(v));
export const pct = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${v.toFixed(v >= 99.995 || v === 0 ? 0 : 2)} %`);

const sameYear = new Intl.DateTimeFormat('en-GB', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
const otherYear = new Intl.DateTimeFormat('en-GB', { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
const time = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
const hm = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const toDate = (v: string | number) => (typeof v === 'number' ? new Date(v) : new Date(v));

/** The app's one date format: "3 Dec 17:02:35", or "3 Dec 2025 17:02:35" in another year. */
export function when(v: string | number | null | undefined): string {
  if (v === null || v === undefined || v === '') return '–';
  const d = toDate(v);
  if (Number.isNaN(d.getTime())) return '–';
  return (d.getFullYear() === new Date().getFullYear() ? sameYear : otherYear).format(d).replace(/,? (at )?(?=\d\d:)/, ' ');
}
/** Time of day only, for series within one day (chart axes, "next try 12:19"). */
export const clock = (v: string | number | null | undefined) => (v === null || v === undefined || v === '' ? '–' : time.format(toDate(v)));
export const hourMinute = (v: string | number | null | undefined) => (v === null || v === undefined || v === '' ? '–' : hm.format(toDate(v)));

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const h = s / 3600;
  return h < 48 ? `${h.toFixed(1)} h` : `${(h / 24).toFixed(1)} d`;
}

/** "in 4 min", "2 h ago": for what is about to happen or just happened. */
export function relative(v: string | number | null | undefined, now = Date.now()): string {
  if (v === null || v === undefined || v === '') return '–';
  const ms = toDate(v).getTime() - now;
  const text = duration(Math.abs(ms));
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

export const bytes = (b: number) => (b < 1024 ? `${n(b)} B` : b < 1024 * 1024 ? `${(b / 1024).toFixed(1)} KB` : `${(b / 1024 / 1024).toFixed(1)} MB`);

/** A rate as a percentage with enough decimals to compare with a 0.3 % threshold. */
export const ratePct = (part: number, whole: number) => (whole > 0 ? (part / whole) * 100 : 0);
export const pct2 = (v: number) => `${v.toFixed(2)} %`;
