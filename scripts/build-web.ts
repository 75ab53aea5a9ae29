/**
 * Builds the dashboard (web/ → web/dist) with Vite when the build is missing or older than
 * its sources, so `npm start` on a fresh clone serves it and later starts cost nothing.
 * `--force` rebuilds anyway. Without Vite (installed with --omit=dev) it warns and goes on:
 * the API works without the dashboard.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const web = join(root, 'web');
const stamp = join(web, 'dist', 'index.html');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export async function buildWeb(options: { force?: boolean; quiet?: boolean } = {}): Promise<'built' | 'fresh' | 'skipped'> {
  const sources = Math.max(newest(web), statSync(join(root, 'package-lock.json')).mtimeMs);
  if (!options.force && existsSync(stamp) && statSync(stamp).mtimeMs >= sources) return 'fresh';
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    process.stderr.write('estafeta: Vite is not installed (npm install without --omit=dev); the dashboard is not built, the API still works\n');
    return 'skipped';
  }
  const started = Date.now();
  await vite.build({ configFile: join(web, 'vite.config.ts'), logLevel: options.quiet ? 'error' : 'warn' });
  if (!options.quiet) process.stderr.write(`estafeta: dashboard built in ${Date.now() - started} ms (web/dist)\n`);
  return 'built';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildWeb({ force: process.argv.includes('--force') });
}
