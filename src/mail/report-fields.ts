/**
 * The "name: value" field syntax shared by message headers, DSN delivery-status parts
 * (RFC 3464) and ARF feedback reports (RFC 5965): unfolding, blocks split on blank lines,
 * and a small multi-valued field map.
 *
 * Does not decode RFC 2047 encoded words and does not know which fields a report needs:
 * see dsn.ts and arf.ts for that.
 */

/** Fields of one block, lower-cased names, values in order (a field may repeat). */
export type Fields = Map<string, string[]>;

export function first(fields: Fields, name: string): string | null {
  const values = fields.get(name);
  return values && values.length > 0 ? values[0] : null;
}

export function all(fields: Fields, name: string): string[] {
  return fields.get(name) ?? [];
}

/** Normalizes CRLF and lone CR line ends to LF. */
export function toLf(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

const FIELD_LINE = /^([A-Za-z0-9][A-Za-z0-9_.-]*)[ \t]*:[ \t]*(.*)$/;

function addField(fields: Fields, name: string, value: string): void {
  const key = name.toLowerCase();
  const list = fields.get(key);
  if (list) list.push(value.trim());
  else fields.set(key, [value.trim()]);
}

/**
 * Splits a report part into blocks of fields. A blank line ends a block; a line starting
 * with white space continues the previous field. Lines that are neither are skipped, so a
 * slightly broken report still yields the fields it has.
 */
export function parseFieldBlocks(text: string): Fields[] {
  const blocks: Fields[] = [];
  let current: Fields = new Map();
  let lastName: string | null = null;
  for (const line of toLf(text).split('\n')) {
    if (line.trim() === '') {
      if (current.size > 0) blocks.push(current);
      current = new Map();
      lastName = null;
      continue;
    }
    if (/^[ \t]/.test(line) && lastName) {
      const list = current.get(lastName)!;
      list[list.length - 1] = `${list[list.length - 1]} ${line.trim()}`.trim();
      continue;
    }
    const m = FIELD_LINE.exec(line);
    if (m) {
      addField(current, m[1], m[2]);
      lastName = m[1].toLowerCase();
    } else {
      lastName = null;
    }
  }
  if (current.size > 0) blocks.push(current);
  return blocks;
}

/**
 * Parses the header section at the start of a message (up to the first blank line) into
 * fields. Tolerates a leading mbox "From " line and leading blank lines.
 */
export function parseHeaderSection(text: string): Fields {
  const lines = toLf(text).split('\n');
  let i = 0;
  while (i < lines.length && lines[i].trim() === '') i++;
  if (i < lines.length && /^From /.test(lines[i])) i++;
  const fields: Fields = new Map();
  let lastName: string | null = null;
  for (; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') break;
    if (/^[ \t]/.test(line)) {
      if (lastName) {
        const list = fields.get(lastName)!;
        list[list.length - 1] = `${list[list.length - 1]} ${line.trim()}`.trim();
      }
      continue;
    }
    const m = FIELD_LINE.exec(line);
    if (!m) break;
    addField(fields, m[1], m[2]);
    lastName = m[1].toLowerCase();
  }
  return fields;
}

/** Flattens fields to a record (first value of each name), as ParsedBounce exposes them. */
export function fieldsToRecord(fields: Fields): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, values] of fields) {
    if (values.length > 0) out[name] = values[0];
  }
  return out;
}

/** Strips the "type;" prefix of a DSN/ARF typed value ("rfc822; a@b", "smtp; 550 ..."). */
export function stripValueType(value: string): { type: string | null; value: string } {
  const m = /^\s*([A-Za-z][A-Za-z0-9-]*)\s*;\s*(.*)$/s.exec(value);
  if (m) return { type: m[1].toLowerCase(), value: m[2].trim() };
  return { type: null, value: value.trim() };
}
