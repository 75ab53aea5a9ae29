/** Retention of old deliveries' logs and events: see purge.ts. */
export { purgeOldData, type PurgeOptions, type PurgeReport } from './purge.ts';
export { retentionCutoffs } from './cutoffs.ts';
