export * from './types.ts';
export { writeEvents, fetchUnapplied, markApplied, noteEvents, eventsForLog, countUnapplied } from './store.ts';
