export { FeedbackService, type FeedbackOptions } from './feedback.ts';
export { applyEvent, type LogState, type Effect } from './apply.ts';
