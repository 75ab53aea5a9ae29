/**
 * Policy files (YAML): the shipped defaults under policy/ and an operator's file of the same
 * name in the policy directory, read and validated together. A `PolicyWatcher` re-reads them
 * when either changes on disk, validates the new version first, and keeps the old one (with a
 * logged error) when the new one is invalid: a typo never takes a running MTA down.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../lib/duration.ts';

export const SHIPPED_POLICY_DIR = fileURLToPath(new URL('../../policy/', import.meta.url));

/** A duration written as "30s", "5m", "3.5d" or seconds, validated to milliseconds. */
export const durationSchema = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

export function readYamlFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    throw new Error(`${file}: not valid YAML: ${(err as Error).message}`);
  }
}

/** Parses a file with a zod schema; errors name the file and the path of each problem. */
export function parsePolicy<S extends z.ZodType>(file: string, schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `  - ${i.path.map(String).join('.') || '(top level)'}: ${i.message}`);
  throw new Error(`${file}: invalid policy:\n${lines.join('\n')}`);
}

export interface LayeredFiles {
  shipped: string;
  operator: string | null;
}

export function layeredFiles(name: string, operatorDir: string | null | undefined): LayeredFiles {
  const operator = operatorDir ? join(operatorDir, name) : null;
  return { shipped: join(SHIPPED_POLICY_DIR, name), operator: operator && existsSync(operator) ? operator : null };
}

/**
 * Reloads a policy when its files change (checked by modification time every few seconds).
 * A policy read from several files (the bounce rules and categories) names them all: `load`
 * gets the first name's files, and every name's in `all`, and a change to any reloads.
 */
export class PolicyWatcher<T> {
  private current: T;
  private stamp: string;
  private timer: NodeJS.Timeout | null = null;
  private readonly names: readonly string[];

  constructor(
    name: string | readonly string[],
    private readonly operatorDir: string | null | undefined,
    private readonly load: (files: LayeredFiles, all: LayeredFiles[]) => T,
    private readonly onError: (err: Error) => void = () => {},
  ) {
    this.names = typeof name === 'string' ? [name] : name;
    this.current = this.read();
    this.stamp = this.fingerprint();
  }

  get value(): T {
    return this.current;
  }

  /** Checks the files now; returns true when a new version was loaded. */
  refresh(): boolean {
    const stamp = this.fingerprint();
    if (stamp === this.stamp) return false;
    this.stamp = stamp;
    try {
      this.current = this.read();
      return true;
    } catch (err) {
      this.onError(err as Error);
      return false;
    }
  }

  watch(everyMs = 3000, onChange?: (value: T) => void): void {
    this.timer = setInterval(() => {
      if (this.refresh()) onChange?.(this.current);
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private read(): T {
    const all = this.names.map((n) => layeredFiles(n, this.operatorDir));
    return this.load(all[0], all);
  }

  private fingerprint(): string {
    return this.names
      .flatMap((n) => {
        const f = layeredFiles(n, this.operatorDir);
        return [f.shipped, f.operator];
      })
      .map((p) => (p && existsSync(p) ? `${p}:${statSync(p).mtimeMs}:${statSync(p).size}` : '-'))
      .join('|');
  }
}
