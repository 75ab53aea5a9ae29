/**
 * The pipeline's signals in one map: the names a stage emits when it has written something
 * the next stage acts on. Each stage declares its own part (and knows nothing of who
 * listens); `start.ts` connects the listeners by name. A signal only wakes: the data is in
 * the database, so a stage in another process, which never hears it, finds the work at its
 * next poll.
 *
 *   delivery:changed        API: a delivery was confirmed, paused, resumed or stopped
 *   spool:changed           sender: messages handed to the spool, released or stopped
 *   outcomes:written        MTA and inbound processor: outcome events are in the events table
 *   inbound:stored          bounce listener: a mail waits for the inbound processor
 *   logs:updated            feedback: delivery logs and counters changed
 *   qualifications:changed  API: an operator re-qualified a failure text
 */
import { Signals } from '../lib/signals.ts';
import type { Logger } from '../lib/logger.ts';
import type { ApiSignals } from '../api/context.ts';
import type { SenderSignals } from '../sender/index.ts';
import type { EventSignals } from '../events/index.ts';
import type { InboundSignals } from '../inbound/index.ts';
import type { FeedbackSignals } from '../feedback/index.ts';

export type PipelineSignals = ApiSignals & SenderSignals & EventSignals & InboundSignals & FeedbackSignals;

export function pipelineSignals(logger: Logger): Signals<PipelineSignals> {
  return new Signals<PipelineSignals>((name, err) => logger.error({ err, signal: name }, 'a listener of a pipeline signal failed'));
}
