/**
 * Checks of the command line's own values before anything is sent, in words: "a delivery
 * id is a number", "--limit is a whole number from 1 to 1000". The API checks everything
 * again; these only spare a round trip and a message about URLs the user never typed.
 */
import { CliError } from './client.ts';

/** An id typed on the command line: a positive whole number, or an error naming what it identifies. */
export function idOf(what: string, value: string): number {
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new CliError(`${/^[aeiou]/i.test(what) ? 'an' : 'a'} ${what} id is a number: "${value}" is not one`);
  return Number(text);
}

/** A whole number option within bounds. */
export function wholeNumber(option: string, value: string, min: number, max: number): number {
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new CliError(`${option} is a whole number from ${min} to ${max.toLocaleString('en')}: "${value}" is not one`);
  return Number(text);
}
