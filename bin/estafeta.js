#!/usr/bin/env -S node --max-semi-space-size=64
// The `estafeta` command. It runs the CLI compiled to plain JavaScript under dist/cli/
// (scripts/build-cli.mjs: rebuilt in a fraction of a second whenever a source changed), so
// a short command starts in about a tenth of a second; if the build cannot be written (a
// read-only install), it runs the TypeScript sources through tsx, as `npm start` does.
// A 64 MB young generation (16 MB by default) lets the per-message garbage of sending die
// young: less CPU per message in `npm run bench` (docs/PERFORMANCE.md).
import { pathToFileURL } from 'node:url';

let entry = null;
try {
  entry = await (await import('../scripts/build-cli.mjs')).ensureCliBuild();
} catch {
  // No build: tsx below.
}
if (entry) {
  // Stack traces name the TypeScript sources (the build writes source maps).
  process.setSourceMapsEnabled(true);
  await import(pathToFileURL(entry).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
