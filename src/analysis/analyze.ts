/**
 * Runs a delivery's analysis: moves it to "Analyzing", replaces any previous result with one
 * delivery log per recipient, runs the built-in checks, stores the report and counts, and
 * leaves the delivery "Pending confirmation" (confirmation is refused while the report has
 * errors). A crash mid-way leaves "Analyzing", which `recoverInterruptedAnalyses` (in
 * deliveries/, which owns every state change) undoes at the next start.
 */
import type { Db } from '../db/index.ts';
import type { Logger } from '../lib/logger.ts';
import { beginAnalysis, clearLogs, completeAnalysis, compileTemplate, failAnalysis, getDeliveryRow, recountDelivery, type CompiledTemplate } from '../deliveries/index.ts';
import type { TemplateKind } from '../deliveries/template.ts';
import { checkMessageSize, checkRenderCost, checkSubjectAndSender, checkUnsubscribeLinks, checkValidity, type CheckLimits } from './checks.ts';
import { ReportLines, type AnalysisReport } from './report.ts';
import { RENDER_BUDGET, runTargetPass } from './target-pass.ts';
import { withBoundedHeapGrowth } from '../lib/heap-growth.ts';
import { readStoredHeaders } from '../mail/extra-headers.ts';

export interface AnalyzeOptions {
  limits: CheckLimits;
  actor?: string;
  logger?: Logger;
  onProgress?: (done: number, total: number) => void;
  /**
   * Extra checks other stages contribute (DKIM: a key for the sender domain; the compliance
   * gate: SPF, DMARC, reverse DNS...). They run while the target pass runs, each on its own
   * lines, which follow the pass's lines in the order the checks are given.
   */
  extraChecks?: ((d: ExtraCheckInput, out: ReportLines) => Promise<void> | void)[];
}

export interface ExtraCheckInput {
  deliveryId: number;
  fromAddress: string;
  /** The delivery's own List-Unsubscribe URL (a template), or null for Estafeta's page. */
  unsubscribeUrl: string | null;
  /** Recipients in the target (before exclusions), for the bulk-sender threshold. */
  recipients: number;
}

export async function analyzeDelivery(db: Db, id: number, options: AnalyzeOptions): Promise<AnalysisReport> {
  const started = Date.now();
  const row = await db.tx(async (trx) => {
    const current = await getDeliveryRow(trx, id);
    await beginAnalysis(trx, current, options.actor ?? 'api');
    return current;
  });
  try {
    const report = await analyze(db, row, started, options);
    await db.tx(async (trx) => {
      await recountDelivery(trx, id);
      await completeAnalysis(trx, id, {
        report: JSON.stringify(report),
        contentVersion: row.content_version,
        targeted: report.counts.targeted,
        toDeliver: report.counts.toDeliver,
        excluded: report.counts.excluded,
        audit: { targeted: report.counts.targeted, toDeliver: report.counts.toDeliver, errors: report.errors, warnings: report.warnings },
      }, options.actor ?? 'api');
    });
    return report;
  } catch (err) {
    await failAnalysis(db.kysely, id, (err as Error).message);
    throw err;
  }
}

async function analyze(db: Db, d: Awaited<ReturnType<typeof getDeliveryRow>>, started: number, options: AnalyzeOptions): Promise<AnalysisReport> {
  const id = Number(d.id);
  const out = new ReportLines();
  const templates = {
    subject: compileOrReport('subject', d.subject, out),
    html: d.html ? compileOrReport('html', d.html, out) : null,
    text: d.text ? compileOrReport('text', d.text, out) : null,
  };
  const checked = { subject: d.subject, fromAddress: d.from_address, fromName: d.from_name, html: d.html, text: d.text, validityMs: Number(d.validity_ms) };
  checkSubjectAndSender(checked, out);
  // Rows stored before updates checked their headers may hold one the sender leaves out.
  for (const problem of readStoredHeaders(d.headers).refused) out.add('error', 'header-refused', `Extra headers: ${problem}. Remove or fix it in the delivery's headers.`);
  checkUnsubscribeLinks(checked, out);

  const total = Number((await db.kysely.selectFrom('delivery_targets').select((eb) => eb.fn.countAll<number>().as('n')).where('delivery_id', '=', id).executeTakeFirst())?.n ?? 0);
  // DNS lookups and the like wait on the network, not on this thread: run them meanwhile.
  const input: ExtraCheckInput = { deliveryId: id, fromAddress: d.from_address, unsubscribeUrl: d.unsubscribe_url, recipients: total };
  const extra = Promise.allSettled(
    (options.extraChecks ?? []).map(async (check) => {
      const lines = new ReportLines();
      await check(input, lines);
      return lines.lines;
    }),
  );
  await clearLogs(db.kysely, id);
  const pass = await withBoundedHeapGrowth(() => runTargetPass(db.kysely, id, templates, (done) => options.onProgress?.(done, total))).catch(async (err) => {
    await extra;
    throw err;
  });

  const excluded = [...pass.excludedByReason.values()].reduce((a, b) => a + b, 0);
  out.add('info', 'targeted', `${pass.targeted} recipients targeted.`, { count: pass.targeted });
  for (const [reason, count] of pass.excludedByReason) out.add('info', 'excluded', `${count} recipients excluded: ${reason}.`, { count });
  if (pass.personalizationErrors.count) {
    const fields = [...pass.personalizationErrors.fields].map(([f, n]) => `${f} (${n})`).join(', ');
    out.add('error', 'personalization-missing-field', `${pass.personalizationErrors.count} recipients lack a field the content needs: ${fields}. Give them a value, or use a default, e.g. {{ firstName | default: "there" }}.`, {
      count: pass.personalizationErrors.count,
      samples: pass.personalizationErrors.samples,
    });
  }
  checkRenderCost(pass.renderCost, pass.targeted, RENDER_BUDGET, out);
  if (pass.renderErrors.count) out.add('error', 'personalization-error', `${pass.renderErrors.count} recipients' messages could not be rendered.`, { count: pass.renderErrors.count, samples: pass.renderErrors.samples });
  if (pass.toDeliver === 0) out.add('error', 'nothing-to-deliver', pass.targeted === 0 ? 'The target is empty: import recipients first.' : 'No recipient is left to deliver to after exclusions and errors.');
  else out.add('info', 'to-deliver', `${pass.toDeliver} messages to deliver.`, { count: pass.toDeliver });
  checkMessageSize(pass.maxSize, pass.maxSizeSample ? [pass.maxSizeSample] : [], options.limits, out);
  checkValidity(checked, pass.toDeliver, options.limits, out);
  for (const result of await extra) {
    if (result.status === 'rejected') throw result.reason;
    for (const l of result.value) out.lines.push(l);
  }

  const finished = Date.now();
  return {
    contentVersion: d.content_version,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - started,
    counts: {
      targeted: pass.targeted,
      toDeliver: pass.toDeliver,
      excluded,
      excludedByReason: Object.fromEntries(pass.excludedByReason),
      personalizationErrors: pass.personalizationErrors.count + pass.renderErrors.count,
    },
    messageSize: { max: pass.maxSize, average: pass.toDeliver ? Math.round(pass.totalSize / pass.toDeliver) : 0 },
    topDomains: [...pass.domains].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([domain, count]) => ({ domain, count })),
    lines: out.lines,
    errors: out.count('error'),
    warnings: out.count('warning'),
  };
}

/**
 * A template that does not compile (a syntax error, a tag that is not allowed) is an
 * analysis error naming it; the rest of the analysis runs on an empty template, so the
 * report still counts the target and confirmation stays refused.
 */
function compileOrReport(kind: TemplateKind, source: string, out: ReportLines): CompiledTemplate {
  try {
    return compileTemplate(kind, source);
  } catch (err) {
    out.add('error', 'template-error', `${(err as Error).message}.`.replace(/\.\.$/, '.'));
    return compileTemplate(kind, '');
  }
}
