/** The event stream: the events webhooks get, published to NATS JetStream (docs in README). */
export { EventStreamPublisher, type EventStreamOptions, type EventStreamStats } from './publisher.ts';
export type { JetStreamTarget } from './jetstream.ts';
