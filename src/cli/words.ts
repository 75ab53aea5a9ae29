/**
 * Numbers, counts and times as the CLI prints them to people: "10,050", "1 recipient" and
 * "2 recipients", "13:05" for later today, "Sat 18:00" within the week, "2026-12-24 18:00"
 * further off, in the machine's time zone. `--json` prints the API's values untouched.
 */

export const num = (n: number | null | undefined): string => (n === null || n === undefined ? '' : n.toLocaleString('en'));

/** "1 recipient", "2 recipients"; `many` for irregular plurals ("address", "addresses"). */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${num(n)} ${n === 1 ? one : many}`;
}

export const percent = (p: number): string => `${Math.round(p * 10) / 10} %`;

const pad = (n: number) => String(n).padStart(2, '0');
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** A date and time for a table: "2026-12-03 17:05", local time. */
export function dateTime(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A moment near now, as short as it stays clear: "13:05", "Sat 18:00", "2026-12-24 18:00". */
export function moment(value: string | number | null | undefined, now = Date.now()): string {
  if (value === null || value === undefined || value === '') return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const today = new Date(now);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.toDateString() === today.toDateString()) return time;
  const days = Math.abs(d.getTime() - now) / 86_400_000;
  return days < 6 ? `${DAYS[d.getDay()]} ${time}` : dateTime(d.getTime());
}

/** How far off a moment is: "in 4 min", "in 2 h 10 min", "3 min ago". */
export function fromNow(value: string | number, now = Date.now()): string {
  const ms = new Date(value).getTime() - now;
  const minutes = Math.round(Math.abs(ms) / 60_000);
  const text = minutes < 1 ? 'less than a minute' : minutes < 60 ? `${minutes} min` : minutes < 48 * 60 ? `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ''}` : `${Math.round(minutes / 1440)} days`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** "Hard · User unknown", or "" when there was no failure. */
export function failure(type: string | null | undefined, reason: string | null | undefined): string {
  return [type, reason].filter(Boolean).join(' · ');
}
