export { Engine, type EngineDeps, type EngineSettings, type EngineStats } from './engine.ts';
export { MxResolver, siteName, type MxHost, type MxResult, type MxResolverOptions } from './mx-resolver.ts';
export { enqueue, setDeliveryHold, spoolStats, claim, HELD_PAUSED, HELD_STOPPED, type InjectMessage, type SpoolMessage, type SpoolStats } from './spool.ts';
export { decideOutcome, type Outcome, type OutcomeKind, type OutcomePolicy } from './outcome.ts';
export type { SiteLimits } from './site.ts';
export { openSession, type SessionOptions, type TlsPolicy } from './smtp-client.ts';
