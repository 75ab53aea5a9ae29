/**
 * Changing a message stream's settings: its name, sender domains, IP pool, validity,
 * tracking, whether quarantine and the denylist apply, List-Unsubscribe. Messages sent from
 * then on follow them (the sender reads the stream's row for each call); messages already in
 * the MTA keep what they were sent with. Each change is in the stream's audit trail.
 */
import type { Db } from '../db/index.ts';
import { invalidInput } from '../lib/errors.ts';
import { parseDuration } from '../lib/duration.ts';
import { audit } from './audit.ts';
import type { DeliveryDefaults } from './store.ts';
import { getStreamRow, STREAM_KIND, streamOptionsOf, toStreamView, type StreamInput, type StreamView } from './streams.ts';

const DOMAIN = /^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/;

export async function updateStream(db: Db, id: number, input: Partial<StreamInput>, defaults: DeliveryDefaults, actor = 'api'): Promise<StreamView> {
  const set: Record<string, unknown> = {};
  const changed: Record<string, unknown> = {};
  let fromDomains: string[] | undefined;
  if (input.fromDomains !== undefined) {
    fromDomains = [...new Set(input.fromDomains.map((d) => d.trim().toLowerCase()))];
    if (!fromDomains.length) throw invalidInput('fromDomains: give at least one domain the stream sends from');
    const bad = fromDomains.find((d) => !DOMAIN.test(d));
    if (bad) throw invalidInput(`fromDomains: "${bad}" is not a domain name`);
    changed.fromDomains = fromDomains;
  }
  if (input.validity !== undefined) {
    let ms: number;
    try {
      ms = parseDuration(input.validity);
    } catch (err) {
      throw invalidInput(`validity: ${(err as Error).message}`);
    }
    if (ms < 60_000 || ms > defaults.maxValidityMs) throw invalidInput(`validity: between one minute and ${defaults.maxValidityMs / 86_400_000} days`);
    set.validity_ms = ms;
    changed.validitySeconds = ms / 1000;
  }
  if (input.ipPool !== undefined) set.ip_pool = changed.ipPool = input.ipPool;
  if (input.tracking !== undefined) {
    set.tracking = input.tracking ? 1 : 0;
    changed.tracking = input.tracking;
  }
  const name = input.name?.trim();
  if (input.name !== undefined && !name) throw invalidInput('name: a stream needs a name');
  return db.tx(async (trx) => {
    const row = await getStreamRow(trx, id);
    if (name !== undefined && name !== row.label) {
      const taken = await trx.selectFrom('deliveries').select('id').where('kind', '=', STREAM_KIND).where('label', '=', name).executeTakeFirst();
      if (taken) throw invalidInput(`name: a stream named "${name}" exists already (id ${taken.id})`);
      set.label = changed.name = name;
    }
    const options = streamOptionsOf(row);
    const next = {
      fromDomains: fromDomains ?? options.fromDomains,
      applyQuarantine: input.applyQuarantine ?? options.applyQuarantine,
      listUnsubscribe: input.listUnsubscribe ?? options.listUnsubscribe,
    };
    if (input.applyQuarantine !== undefined) changed.applyQuarantine = input.applyQuarantine;
    if (input.listUnsubscribe !== undefined) changed.listUnsubscribe = input.listUnsubscribe;
    if (!Object.keys(changed).length) return toStreamView(row);
    const updated = await trx
      .updateTable('deliveries')
      .set({ ...set, stream_options: JSON.stringify(next), updated_at: Date.now() })
      .where('id', '=', Number(row.id))
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, Number(row.id), actor, 'stream-updated', changed);
    return toStreamView(updated);
  });
}
