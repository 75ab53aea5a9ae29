/**
 * The bounds on one target import, so that no import can hold the main thread (which the
 * MTA and the bounce listener share) or exhaust memory: columns per CSV row, characters
 * per field, bytes per row, rows per import, and for recipients given as JSON objects the
 * number, depth and size of their personalization values. Every check runs in time linear
 * in the input and stops at the first value over a bound. The request body's own size is
 * the HTTP API's limit, not this file's.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { invalidInput } from '../lib/errors.ts';

export const TARGET_LIMITS = {
  /** Columns in a CSV row, the header included (the `email` column counts). */
  columns: 500,
  /** Characters in one CSV field or one JSON string value. */
  fieldChars: 10_000,
  /** Bytes in one CSV row (a quoted field's line breaks are part of its row). */
  rowBytes: 100_000,
  /** Recipients in one import (CSV rows after the header, or JSON objects). */
  rows: 5_000_000,
  /** Levels of nesting in a JSON recipient: the recipient object is level 1. */
  jsonDepth: 10,
  /** Size of a JSON recipient's values, counted as their JSON text would be, about. */
  jsonBytes: 100_000,
} as const;

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const isDelimiter = (b: number) => b === 0x2c || b === 0x3b || b === 0x09; // , ; tab: the reader's delimiters

/**
 * A pass-through stream in front of the CSV parser that refuses a row with too many
 * columns or too many bytes as soon as it reaches the bound, before the parser builds it:
 * a header of a million empty columns would otherwise become an array of a million
 * fields. It follows quotes the way CSV does (a quoted delimiter or line break belongs
 * to its field) and counts the rows that have content, as the reader does.
 */
export function csvRowGuard(): Transform {
  let quoted = false;
  let rowBytes = 0;
  let delimiters = 0;
  let rows = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i];
        if (b === QUOTE) quoted = !quoted;
        else if (!quoted && (b === LF || b === CR)) {
          if (rowBytes) rows++;
          rowBytes = 0;
          delimiters = 0;
          continue;
        } else if (!quoted && isDelimiter(b) && ++delimiters >= TARGET_LIMITS.columns) {
          return done(invalidInput(`row ${rows + 1} of the CSV has more than ${TARGET_LIMITS.columns} columns; the limit is ${TARGET_LIMITS.columns} columns per row. Nothing was imported`));
        }
        if (++rowBytes > TARGET_LIMITS.rowBytes) {
          return done(invalidInput(`row ${rows + 1} of the CSV is longer than ${TARGET_LIMITS.rowBytes} bytes; the limit is ${TARGET_LIMITS.rowBytes} bytes per row. Nothing was imported`));
        }
      }
      done(null, chunk);
    },
  });
}

/** What is wrong with one CSV row's field lengths, or null. */
export function longFieldProblem(record: string[], header: string[]): string | null {
  for (let i = 0; i < record.length; i++) {
    if (record[i].length > TARGET_LIMITS.fieldChars) {
      return `the field "${header[i] ?? i + 1}" is ${record[i].length} characters long; the limit is ${TARGET_LIMITS.fieldChars}`;
    }
  }
  return null;
}

/**
 * What is wrong with one JSON recipient's values, or null: too many fields, a string too
 * long, values nested too deep or too large in all. Walked with an explicit stack, never
 * by recursion, so a value nested 100,000 levels deep is refused instead of overflowing
 * the call stack; the walk stops at the first bound passed.
 */
export function recipientValueProblem(recipient: Record<string, unknown>): string | null {
  const keys = Object.keys(recipient);
  if (keys.length > TARGET_LIMITS.columns) return `it has ${keys.length} fields; the limit is ${TARGET_LIMITS.columns}`;
  const stack: { value: unknown; depth: number; field: string }[] = keys.map((k) => ({ value: recipient[k], depth: 2, field: k }));
  let bytes = 2 + keys.reduce((n, k) => n + k.length + 4, 0);
  while (stack.length) {
    const { value, depth, field } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.length > TARGET_LIMITS.fieldChars) return `the field "${field}" holds a string of ${value.length} characters; the limit is ${TARGET_LIMITS.fieldChars}`;
      bytes += value.length + 3;
    } else if (value !== null && typeof value === 'object') {
      if (depth > TARGET_LIMITS.jsonDepth) return `the field "${field}" is nested more than ${TARGET_LIMITS.jsonDepth} levels deep; the limit is ${TARGET_LIMITS.jsonDepth}`;
      const own = Array.isArray(value) ? null : Object.keys(value);
      bytes += own ? 2 + own.reduce((n, k) => n + k.length + 4, 0) : 2 + (value as unknown[]).length;
      // Checked before the children are queued, so a field of a million items queues none.
      if (bytes > TARGET_LIMITS.jsonBytes) return tooLarge(field);
      if (own) for (const k of own) stack.push({ value: (value as Record<string, unknown>)[k], depth: depth + 1, field });
      else for (const item of value as unknown[]) stack.push({ value: item, depth: depth + 1, field });
    } else {
      bytes += 8;
    }
    if (bytes > TARGET_LIMITS.jsonBytes) return tooLarge(field);
  }
  return null;
}

const tooLarge = (field: string) => `its values take more than ${TARGET_LIMITS.jsonBytes} bytes (the field "${field}" passes the limit); the limit is ${TARGET_LIMITS.jsonBytes} bytes per recipient`;
