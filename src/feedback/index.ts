export { FeedbackService, type FeedbackOptions, type FeedbackSignals } from './feedback.ts';
export { applyEvent, type LogState, type Effect } from './apply.ts';
