/**
 * Message streams as records: a stream is a row of `deliveries` whose kind is 'stream',
 * created In progress and never finished (the sender leaves it alone but for pause and
 * resume). Its options (the sender domains it owns, whether quarantine and the denylist
 * apply, whether messages carry List-Unsubscribe) are JSON in `stream_options`. Also the
 * writes a message sent to a stream makes in deliveries/'s tables: its row numbers, its
 * target row (metadata and tags). The logs are log-writes.ts's. Sending is streams/.
 */
import type { Db, Q } from '../db/index.ts';
import { invalidInput, illegalState, notFound } from '../lib/errors.ts';
import { parseDuration } from '../lib/duration.ts';
import { audit } from './audit.ts';
import { DeliveryState, stateLabel, stateName } from './states.ts';
import type { DeliveryDefaults, DeliveryRow } from './store.ts';

export interface StreamOptions {
  /** Domains a From address may use (lower case). */
  fromDomains: string[];
  /** Whether quarantined and denylisted recipients are refused. */
  applyQuarantine: boolean;
  /** Whether messages carry List-Unsubscribe (and its one-click form over HTTPS). */
  listUnsubscribe: boolean;
}

export interface StreamInput {
  name: string;
  fromDomains: string[];
  ipPool?: string | null;
  validity?: string | number;
  tracking?: boolean;
  applyQuarantine?: boolean;
  listUnsubscribe?: boolean;
}

export interface StreamView {
  id: number;
  name: string;
  state: string;
  stateLabel: string;
  fromDomains: string[];
  ipPool: string | null;
  validitySeconds: number;
  tracking: boolean;
  applyQuarantine: boolean;
  listUnsubscribe: boolean;
  createdAt: string;
}

export const STREAM_KIND = 'stream';

export function streamOptionsOf(row: DeliveryRow): StreamOptions {
  const o = JSON.parse(row.stream_options ?? '{}') as Partial<StreamOptions>;
  return { fromDomains: o.fromDomains ?? [], applyQuarantine: o.applyQuarantine ?? true, listUnsubscribe: o.listUnsubscribe ?? false };
}

export function toStreamView(row: DeliveryRow): StreamView {
  const o = streamOptionsOf(row);
  return {
    id: Number(row.id),
    name: row.label,
    state: stateName(row.state),
    stateLabel: stateLabel(row.state),
    fromDomains: o.fromDomains,
    ipPool: row.ip_pool,
    validitySeconds: Number(row.validity_ms) / 1000,
    tracking: Number(row.tracking) === 1,
    applyQuarantine: o.applyQuarantine,
    listUnsubscribe: o.listUnsubscribe,
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
}

const DOMAIN = /^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/;

export async function createStream(db: Db, input: StreamInput, defaults: DeliveryDefaults, actor = 'api'): Promise<StreamView> {
  const name = input.name.trim();
  if (!name) throw invalidInput('name: a stream needs a name');
  const fromDomains = [...new Set(input.fromDomains.map((d) => d.trim().toLowerCase()))];
  if (!fromDomains.length) throw invalidInput('fromDomains: give at least one domain the stream sends from');
  const bad = fromDomains.find((d) => !DOMAIN.test(d));
  if (bad) throw invalidInput(`fromDomains: "${bad}" is not a domain name`);
  let validity = defaults.defaultValidityMs;
  if (input.validity !== undefined) {
    try {
      validity = parseDuration(input.validity);
    } catch (err) {
      throw invalidInput(`validity: ${(err as Error).message}`);
    }
    if (validity < 60_000 || validity > defaults.maxValidityMs) throw invalidInput(`validity: between one minute and ${defaults.maxValidityMs / 86_400_000} days`);
  }
  const options: StreamOptions = { fromDomains, applyQuarantine: input.applyQuarantine ?? true, listUnsubscribe: input.listUnsubscribe ?? false };
  const now = Date.now();
  const row = await db.tx(async (trx) => {
    const taken = await trx.selectFrom('deliveries').select('id').where('kind', '=', STREAM_KIND).where('label', '=', name).executeTakeFirst();
    if (taken) throw invalidInput(`name: a stream named "${name}" exists already (id ${taken.id})`);
    const created = await trx
      .insertInto('deliveries')
      .values({
        kind: STREAM_KIND,
        stream_options: JSON.stringify(options),
        label: name,
        // Created In progress: a stream takes messages from the start and never finishes.
        state: DeliveryState.InProgress,
        from_name: '',
        from_address: '',
        subject: '',
        headers: '{}',
        ip_pool: input.ipPool ?? null,
        tracking: input.tracking === false ? 0 : 1,
        validity_ms: validity,
        created_at: now,
        updated_at: now,
        started_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, Number(created.id), actor, 'stream-created', { fromDomains, applyQuarantine: options.applyQuarantine });
    return created;
  });
  return toStreamView(row);
}

/** A stream by id or by name; NOT_FOUND for a delivery's id. */
export async function getStreamRow(q: Q, idOrName: number | string): Promise<DeliveryRow> {
  let query = q.selectFrom('deliveries').selectAll().where('kind', '=', STREAM_KIND);
  if (typeof idOrName === 'number' || /^\d+$/.test(idOrName)) query = query.where('id', '=', Number(idOrName));
  else query = query.where('label', '=', idOrName);
  const row = await query.executeTakeFirst();
  if (!row) throw notFound(`stream ${idOrName}`);
  return row;
}

export async function listStreams(q: Q): Promise<StreamView[]> {
  return (await q.selectFrom('deliveries').selectAll().where('kind', '=', STREAM_KIND).orderBy('id').execute()).map(toStreamView);
}

/**
 * Counts messages into a stream and gives them row numbers, in the caller's transaction:
 * the stream's row is updated (on PostgreSQL, locked until the commit, so a pause committed
 * meanwhile is seen), and a stream not In progress refuses them. Returns the first row number.
 */
export async function admitToStream(trx: Q, streamId: number, counts: { targeted: number; toDeliver: number; excluded: number }): Promise<number> {
  const r = await trx
    .updateTable('deliveries')
    .set((eb) => ({ targeted: eb('targeted', '+', counts.targeted), to_deliver: eb('to_deliver', '+', counts.toDeliver), excluded: eb('excluded', '+', counts.excluded), updated_at: Date.now() }))
    .where('id', '=', streamId)
    .where('kind', '=', STREAM_KIND)
    // Only while In progress: a refused stream is left unchanged, so the caller's transaction
    // may go on with other streams.
    .where('state', '=', DeliveryState.InProgress)
    .returning(['targeted'])
    .executeTakeFirst();
  if (!r) {
    const current = await trx.selectFrom('deliveries').select('state').where('id', '=', streamId).where('kind', '=', STREAM_KIND).executeTakeFirst();
    if (!current) throw notFound(`stream ${streamId}`);
    throw illegalState(`the stream is "${stateLabel(current.state)}": resume it to send`);
  }
  return Number(r.targeted) - counts.targeted + 1;
}

/** One target row per recipient of a stream message: its data is the message's metadata and tags. */
export async function insertStreamTargets(trx: Q, rows: { streamId: number; rowNo: number; email: string; data: Record<string, unknown> }[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 1000) {
    await trx
      .insertInto('delivery_targets')
      .values(rows.slice(i, i + 1000).map((r) => ({ delivery_id: r.streamId, row_no: r.rowNo, email: r.email, data: JSON.stringify(r.data) })))
      .execute();
  }
}
