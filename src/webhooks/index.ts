/** Webhooks: endpoints, signed event documents, and the dispatcher that posts them. */
export { WebhookDispatcher, sendTestEvent, type DispatcherOptions, type DispatcherCounts } from './dispatcher.ts';
export { WebhookThread, type WebhookRunner } from './thread.ts';
export { createEndpoint, listEndpoints, getEndpoint, deleteEndpoint, enableEndpoint, replayEndpoint, recentAttempts, checkUrl, redactedUrl, ATTEMPTS_KEPT, type EndpointView, type AttemptView } from './store.ts';
export { signatureHeader, verifySignature, SIGNATURE_HEADER } from './signature.ts';
export { DEFAULT_RETRY, retryDelayMs, givenUp, type RetryPolicy } from './retry.ts';
export { DOCUMENT_VERSION, buildDocuments, type EventDocument, type RawEvent } from './documents.ts';
export type { PostResult } from './post.ts';
export { registerWebhookMetrics } from './metrics.ts';
