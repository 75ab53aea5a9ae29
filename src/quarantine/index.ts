export * from './status.ts';
export { nextQuarantineEntry, type QuarantinePolicy, type QuarantineEntry, type QuarantineFact } from './rules.ts';
export { applyQuarantineFacts, quarantineKey, type AddressFact, type QuarantineChange } from './store.ts';
export { OutageGuard, type OutageGuardPolicy } from './outage-guard.ts';
export { listQuarantine, getQuarantineEntry, releaseAddress, releaseBulk, addToQuarantine, quarantineStats, releaseExpiredErrors, toQuarantineView, type QuarantineView, type QuarantineFilter, type BulkRelease } from './admin.ts';
export { listIncidents, resolveIncident, type IncidentView } from './incidents.ts';
export { auditQuarantine, quarantineAuditOf, type QuarantineAuditEntry, type NewQuarantineAudit } from './audit.ts';
