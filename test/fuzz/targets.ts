/**
 * The fuzz targets, in the order a run goes through them. Each is a FuzzTarget
 * (harness.ts) in targets/; scripts/fuzz.ts runs them with a budget and
 * test/fuzz-smoke.test.ts runs a few thousand inputs of each in the default suite.
 */
import type { FuzzTarget } from './harness.ts';
import { apiHttpTarget } from './targets/api-http.ts';
import { apiSchemasTarget } from './targets/api-schemas.ts';
import { bounceMailTarget } from './targets/bounce-mail.ts';
import { csvTarget } from './targets/csv-targets.ts';
import { smtpReplyTarget } from './targets/smtp-reply.ts';
import { templateTarget } from './targets/template.ts';
import { tokensTarget } from './targets/tokens.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const TARGETS: FuzzTarget<any>[] = [bounceMailTarget, smtpReplyTarget, csvTarget, templateTarget, tokensTarget, apiSchemasTarget, apiHttpTarget];

export function findTarget(name: string): FuzzTarget<unknown> | undefined {
  return TARGETS.find((t) => t.name === name);
}
