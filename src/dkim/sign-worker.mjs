// Entry point of a DKIM signing worker thread: plain JavaScript, so that it loads however
// the main thread was started (tsx's loader does not carry over into worker threads), then
// registers tsx for this thread and runs the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./sign-worker.ts');
