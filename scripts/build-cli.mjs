// Compiles the `estafeta` command (src/cli/main.ts and what it imports) into one folder of
// plain JavaScript under dist/cli/ with esbuild, so that the command starts in a fraction of
// a second instead of compiling TypeScript through tsx at each run. Plain JavaScript itself,
// so that bin/estafeta.js can call it without a loader.
//
// The folder is named after a fingerprint of the sources (their paths, sizes and times), so
// a changed source gets a new build on the next run, and several commands started at once
// never see a half-written one: each builds beside it and renames into place.
// Packages stay outside the bundle (node_modules is read as usual), and each source's
// import.meta.url keeps pointing at the source file, so files found next to a source
// (policy/, web/dist/, src/sim/profiles.yaml, the worker threads) are found as under tsx.
//
//   node scripts/build-cli.mjs                build if the sources changed; print the entry file
//   node scripts/build-cli.mjs --if-possible  the same, but a failure only warns (npm install)
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SRC = join(ROOT, 'src');
const OUT = join(ROOT, 'dist', 'cli');

/** The sources a build depends on: every .ts and .mjs under src/ except tests. */
function sources() {
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'testdata') walk(path);
      } else if (/\.(ts|mjs)$/.test(e.name) && !e.name.endsWith('.test.ts')) files.push(path);
    }
  };
  walk(SRC);
  return files;
}

export function fingerprint() {
  const hash = createHash('sha1').update(ROOT);
  for (const file of [...sources(), join(ROOT, 'package.json'), join(ROOT, 'tsconfig.json'), fileURLToPath(import.meta.url)]) {
    const s = statSync(file, { throwIfNoEntry: false });
    hash.update(`${relative(ROOT, file)}:${s?.size}:${s?.mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** The compiled entry file for the current sources, built first if needed. */
export async function ensureCliBuild() {
  const stamp = fingerprint();
  const dir = join(OUT, stamp);
  const entry = join(dir, 'main.mjs');
  if (existsSync(entry)) return entry;
  const { build } = await import('esbuild');
  const temp = `${dir}.${process.pid}.${Date.now()}`;
  await build({
    entryPoints: { main: join(SRC, 'cli', 'main.ts') },
    outdir: temp,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    // A failure is thrown: bin/estafeta.js then runs the sources through tsx, which reports it.
    logLevel: 'silent',
    plugins: [keepSourceUrls],
  });
  writeFileSync(join(temp, 'package.json'), '{"type":"module"}\n');
  mkdirSync(dirname(dir), { recursive: true });
  try {
    renameSync(temp, dir);
  } catch {
    // Another command built the same sources at the same time: use its build.
    rmSync(temp, { recursive: true, force: true });
  }
  removeOldBuilds(stamp);
  return entry;
}

/** import.meta.url in a source means that source's file, as when tsx runs it. */
const keepSourceUrls = {
  name: 'keep-source-urls',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/].*\.(ts|mjs)$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
    });
  },
};

/** Builds older than an hour (a command still running may be reading a newer one's files). */
function removeOldBuilds(keep) {
  for (const name of readdirSync(OUT)) {
    if (name === keep) continue;
    const path = join(OUT, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > 3_600_000) rmSync(path, { recursive: true, force: true });
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.stdout.write(`${relative(process.cwd(), await ensureCliBuild())}\n`);
  } catch (err) {
    if (!process.argv.includes('--if-possible')) throw err;
    // bin/estafeta.js tries again at its first run, and runs through tsx if it cannot.
    process.stderr.write(`estafeta: the CLI was not compiled (${err.message.split('\n').slice(0, 2).join(' ')}); it will run through tsx\n`);
  }
}
