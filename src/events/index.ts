export * from './types.ts';
export { writeEvents, fetchUnapplied, markApplied, eventsForLog, countUnapplied } from './store.ts';
