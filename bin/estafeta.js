#!/usr/bin/env -S node --max-semi-space-size=64
// The `estafeta` command: runs the TypeScript sources through tsx, as `npm start` does.
// A 64 MB young generation (16 MB by default) lets the per-message garbage of sending die
// young: less CPU per message in `npm run bench` (docs/PERFORMANCE.md).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
