// Entry of the webhook thread: plain JavaScript that loads the TypeScript sources through
// tsx, whether the parent runs under tsx or from the compiled CLI (as the tracking thread's).
import { register } from 'tsx/esm/api';

register();
await import('./worker-main.ts');
