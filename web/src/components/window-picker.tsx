// The time window of a stream's figures (a stream never finishes, so its figures are
// always "over the last …"), as a group of buttons; the page keeps it in its URL.
/** Last hour, 24 hours, 7 days: the window of a stream's figures, as buttons in a group. */
export const WINDOWS: [string, string][] = [['1h', 'Last hour'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days']];
export function WindowPicker({ value, onChange }: { value: string; onChange: (w: string) => void }) {
  return (
    <div className="segmented" role="group" aria-label="Time window">
      {WINDOWS.map(([w, label]) => (
        <button key={w} type="button" aria-pressed={w === value} data-window={w} onClick={() => onChange(w)}>
          {label}
        </button>
      ))}
    </div>
  );
}
