export { StreamSender, type MessageResult, type RecipientResult, type StreamSenderOptions, type AnswerHook } from './send.ts';
export { messageSchema, checkMessage, type MessageInput, type CheckedMessage } from './message-input.ts';
export { composeStreamMessage, type StreamComposeSettings } from './compose.ts';
export { claimKey, recordAnswer, releaseKey, expireKeys, KEEP_MS } from './idempotency.ts';
export { SEND_LIMITS } from './limits.ts';
export { SendRateLimiter, type SendRate } from './rate.ts';
export { createTemplate, listTemplates, getTemplate, updateTemplate, deleteTemplate, renderTemplates, MISSING_FIELDS, type TemplateView, type TemplateInput, type Rendered } from './templates.ts';
