/**
 * Deliveries as records: create, read, list, edit, and import their target. Editing a
 * delivery that was analyzed sends it back to "Being edited": the analysis froze the
 * content, so a change needs a new analysis (Campaign's rule).
 */
import type { Selectable } from 'kysely';
import type { Db, DeliveriesTable, Q } from '../db/index.ts';
import { invalidInput, notFound } from '../lib/errors.ts';
import { parseDuration } from '../lib/duration.ts';
import { checkAddress } from '../mail/address.ts';
import { audit } from './audit.ts';
import { deliveryCreateSchema, deliveryUpdateSchema, parseInput, type DeliveryCreateInput, type DeliveryUpdateInput } from './input.ts';
import { assertAction, DeliveryState, stateLabel, stateName } from './states.ts';
import { compileTemplate } from './template.ts';
import { countTarget, jsonTarget, readCsvTarget, storeTarget, type TargetRow } from './targets.ts';

export type DeliveryRow = Selectable<DeliveriesTable>;

export interface DeliveryDefaults {
  defaultValidityMs: number;
  maxValidityMs: number;
}

export interface DeliveryView {
  id: number;
  label: string;
  state: string;
  stateCode: number;
  stateLabel: string;
  from: { name: string; address: string };
  replyTo: string | null;
  subject: string;
  html: string | null;
  text: string | null;
  headers: Record<string, string>;
  unsubscribeUrl: string | null;
  ipPool: string | null;
  /** Opens and clicks are tracked. */
  tracking: boolean;
  /** Links of the text part are tracked too. */
  trackTextLinks: boolean;
  validitySeconds: number;
  validUntil: string | null;
  contentVersion: number;
  analyzedVersion: number | null;
  createdAt: string;
  updatedAt: string;
  confirmedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  lastError: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export function toView(row: DeliveryRow): DeliveryView {
  return {
    id: Number(row.id),
    label: row.label,
    state: stateName(row.state),
    stateCode: row.state,
    stateLabel: stateLabel(row.state),
    from: { name: row.from_name, address: row.from_address },
    replyTo: row.reply_to,
    subject: row.subject,
    html: row.html,
    text: row.text,
    headers: JSON.parse(row.headers),
    unsubscribeUrl: row.unsubscribe_url,
    ipPool: row.ip_pool,
    tracking: Number(row.tracking) === 1,
    trackTextLinks: Number(row.track_text_links) === 1,
    validitySeconds: Number(row.validity_ms) / 1000,
    validUntil: iso(row.valid_until),
    contentVersion: row.content_version,
    analyzedVersion: row.analyzed_version,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    confirmedAt: iso(row.confirmed_at),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    lastError: row.last_error,
  };
}

function validityMs(value: string | number | undefined, defaults: DeliveryDefaults): number {
  if (value === undefined) return defaults.defaultValidityMs;
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    throw invalidInput(`validity: ${(err as Error).message}`);
  }
  if (ms < 60_000) throw invalidInput('validity: the validity period must be at least one minute');
  if (ms > defaults.maxValidityMs) throw invalidInput(`validity: at most ${defaults.maxValidityMs / 86_400_000} days`);
  return ms;
}

function checkContent(d: { from?: { address: string }; replyTo?: string | null; subject?: string; html?: string | null; text?: string | null; unsubscribeUrl?: string | null }) {
  if (d.from && !checkAddress(d.from.address).ok) throw invalidInput(`from.address: "${d.from.address}" is not a valid email address`);
  if (d.replyTo && !checkAddress(d.replyTo).ok) throw invalidInput(`replyTo: "${d.replyTo}" is not a valid email address`);
  // Parse every template now so a syntax error is reported when the operator writes it.
  if (d.subject !== undefined) compileTemplate('subject', d.subject);
  if (d.html) compileTemplate('html', d.html);
  if (d.text) compileTemplate('text', d.text);
  if (d.unsubscribeUrl) compileTemplate('text', d.unsubscribeUrl);
}

export async function createDelivery(db: Db, input: DeliveryCreateInput, defaults: DeliveryDefaults, actor = 'api'): Promise<DeliveryView> {
  const parsed = parseInput(deliveryCreateSchema, input);
  if (!parsed.success) throw invalidInput(parsed.message, parsed.issues);
  const d = parsed.data;
  checkContent(d);
  const validity = validityMs(d.validity, defaults);
  // CSV rows stream straight into the transaction: a broken row throws at the end and rolls it back.
  const target: Iterable<TargetRow> | AsyncIterable<TargetRow> | null = d.recipients ? jsonTarget(d.recipients) : d.recipientsCsv !== undefined ? readCsvTarget(d.recipientsCsv) : null;
  const now = Date.now();
  const row = await db.tx(async (trx) => {
    const created = await trx
      .insertInto('deliveries')
      .values({
        label: d.label || d.subject.slice(0, 80),
        state: DeliveryState.BeingEdited,
        from_name: d.from.name,
        from_address: d.from.address,
        reply_to: d.replyTo || null,
        subject: d.subject,
        html: d.html?.trim() ? d.html : null,
        text: d.text?.trim() ? d.text : null,
        headers: JSON.stringify(d.headers ?? {}),
        unsubscribe_url: d.unsubscribeUrl || null,
        ip_pool: d.ipPool ?? null,
        tracking: d.tracking === false ? 0 : 1,
        track_text_links: d.trackTextLinks ? 1 : 0,
        validity_ms: validity,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const stored = target ? await storeTarget(trx, Number(created.id), target, 'replace') : null;
    await audit(trx, Number(created.id), actor, 'created', stored ? { recipients: stored.total } : undefined);
    return created;
  });
  return toView(row);
}

export async function getDeliveryRow(q: Q, id: number): Promise<DeliveryRow> {
  if (!Number.isSafeInteger(id) || id <= 0) throw notFound(`delivery ${id}`);
  const row = await q.selectFrom('deliveries').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound(`delivery ${id}`);
  return row;
}

export async function getDelivery(db: Db, id: number): Promise<DeliveryView> {
  return toView(await getDeliveryRow(db.kysely, id));
}

export async function listDeliveries(db: Db, filter: { states?: number[]; limit?: number; beforeId?: number } = {}): Promise<DeliveryView[]> {
  // Streams are rows of the same table, listed apart (streams.ts).
  let q = db.kysely.selectFrom('deliveries').selectAll().where('kind', '=', 'bulk').orderBy('id', 'desc').limit(Math.min(filter.limit ?? 100, 1000));
  if (filter.states?.length) q = q.where('state', 'in', filter.states);
  if (filter.beforeId) q = q.where('id', '<', filter.beforeId);
  return (await q.execute()).map(toView);
}

/** Edits content or settings; an analyzed delivery goes back to "Being edited". */
export async function updateDelivery(db: Db, id: number, input: DeliveryUpdateInput, defaults: DeliveryDefaults, actor = 'api'): Promise<DeliveryView> {
  const parsed = parseInput(deliveryUpdateSchema, input);
  if (!parsed.success) throw invalidInput(parsed.message, parsed.issues);
  const d = parsed.data;
  checkContent(d);
  const row = await db.tx(async (trx) => {
    const current = await getDeliveryRow(trx, id);
    const next = assertAction('edit', current.state);
    const html = d.html === undefined ? current.html : d.html?.trim() ? d.html : null;
    const text = d.text === undefined ? current.text : d.text?.trim() ? d.text : null;
    if (!html && !text) throw invalidInput('give HTML content, text content, or both');
    const updated = await trx
      .updateTable('deliveries')
      .set({
        label: d.label ?? current.label,
        from_name: d.from?.name ?? current.from_name,
        from_address: d.from?.address ?? current.from_address,
        reply_to: d.replyTo === undefined ? current.reply_to : d.replyTo || null,
        subject: d.subject ?? current.subject,
        html,
        text,
        validity_ms: d.validity === undefined ? current.validity_ms : validityMs(d.validity, defaults),
        headers: d.headers ? JSON.stringify(d.headers) : current.headers,
        unsubscribe_url: d.unsubscribeUrl === undefined ? current.unsubscribe_url : d.unsubscribeUrl || null,
        ip_pool: d.ipPool === undefined ? current.ip_pool : d.ipPool,
        tracking: d.tracking === undefined ? current.tracking : d.tracking ? 1 : 0,
        track_text_links: d.trackTextLinks === undefined ? current.track_text_links : d.trackTextLinks ? 1 : 0,
        content_version: current.content_version + 1,
        state: next,
        updated_at: Date.now(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, id, actor, 'edited', { fields: Object.keys(d) });
    return updated;
  });
  return toView(row);
}

/** Replaces or extends the target. Like an edit, it requires a new analysis. */
export async function importTarget(db: Db, id: number, rows: Iterable<TargetRow> | AsyncIterable<TargetRow>, mode: 'replace' | 'append', actor = 'api'): Promise<{ recipients: number; imported: number }> {
  return db.tx(async (trx) => {
    const current = await getDeliveryRow(trx, id);
    const next = assertAction('edit', current.state);
    const { total, stored } = await storeTarget(trx, id, rows, mode);
    await trx.updateTable('deliveries').set({ state: next, content_version: current.content_version + 1, updated_at: Date.now() }).where('id', '=', id).execute();
    await audit(trx, id, actor, 'target-imported', { mode, imported: stored, total });
    return { recipients: total, imported: stored };
  });
}

export { countTarget };

