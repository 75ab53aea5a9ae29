/**
 * tracking/: opens, clicks and unsubscriptions as they arrive over HTTP, recorded as outcome
 * events (the feedback service then counts them and judges machine from human).
 */
export { TrackingRecorder, type TrackingHit, type RecorderOptions } from './recorder.ts';
export { agentMatcher, type AgentMatch, type AgentMatcher } from './machine.ts';
