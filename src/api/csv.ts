/**
 * One CSV line (RFC 4180): fields with a comma, quote or line break are quoted, quotes are
 * doubled. A field starting with = + - @ (or a tab or carriage return) gets a leading
 * apostrophe, so a spreadsheet opening the export never runs a formula a recipient or a
 * remote server put in an address or a reply.
 */
export function csvLine(fields: (string | number | null | undefined)[]): string {
  return (
    fields
      .map((f) => {
        let s = f === null || f === undefined ? '' : String(f);
        if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
        return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
      })
      .join(',') + '\r\n'
  );
}
