export * from './types.ts';
export { writeEvents, fetchUnapplied, markApplied, noteEvents, eventsForLog, countUnapplied } from './store.ts';
export { webhookHorizon, deleteEventsOfLogs, countEventsOfDelivery } from './purge.ts';
