export { Engine, type MtaSignals, type EngineDeps, type EngineSettings, type EngineStats, type QueueStats } from './engine.ts';
export { MxResolver, siteName, type MxHost, type MxResult, type MxResolverOptions } from './mx-resolver.ts';
export { enqueue, setDeliveryHold, spoolStats, claim, Hold, type InjectMessage, type SpoolMessage, type SpoolStats } from './spool.ts';
export { decideOutcome, type Outcome, type OutcomeKind, type OutcomePolicy } from './outcome.ts';
export { openSession, type SessionOptions, type TlsPolicy } from './smtp-client.ts';
export { Shaper } from './shaping/shaper.ts';
export { Adaptations, addOperatorAdaptation, cancelAdaptation, listAdaptations, type Adaptation } from './shaping/adaptations.ts';
export { SourceSelector } from './shaping/source-selector.ts';
export { countLiveMtaProcesses } from './shaping/peers.ts';
