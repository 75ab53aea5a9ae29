// Entry of the tracking thread: plain JavaScript that loads the TypeScript sources through
// tsx, whether the parent runs under tsx or from the compiled CLI (dist/cli keeps each
// source's import.meta.url, so this file is found beside its source).
import { register } from 'tsx/esm/api';

register();
await import('./tracking-worker-main.ts');
