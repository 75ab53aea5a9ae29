// Number and date formatting in one place, so every page writes figures the same way.

const int = new Intl.NumberFormat('en-US');
export const n = (v: number | null | undefined) => (v === null || v === undefined ? '–' : int.format(v));
export const pct = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${v.toFixed(v >= 99.995 || v === 0 ? 0 : 2)} %`);

const dateTime = new Intl.DateTimeFormat('en-GB', { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const time = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
export const when = (iso: string | null | undefined) => (iso ? dateTime.format(new Date(iso)) : '–');
export const clock = (iso: string | null | undefined) => (iso ? time.format(new Date(iso)) : '–');

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const h = s / 3600;
  return h < 48 ? `${h.toFixed(1)} h` : `${(h / 24).toFixed(1)} d`;
}

export const bytes = (b: number) => (b < 1024 ? `${b} B` : b < 1024 * 1024 ? `${(b / 1024).toFixed(1)} KB` : `${(b / 1024 / 1024).toFixed(1)} MB`);
