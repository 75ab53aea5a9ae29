export * from './status.ts';
export { nextQuarantineEntry, DEFAULT_QUARANTINE_POLICY, type QuarantinePolicy, type QuarantineEntry, type QuarantineFact } from './rules.ts';
export { applyQuarantineFacts, quarantineKey, type AddressFact, type QuarantineChange } from './store.ts';
