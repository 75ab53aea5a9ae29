/**
 * A delivery's tracked links (Campaign's tracked URLs): written by the sender when it first
 * prepares a content version, read by the click redirect (the URL of a link that is the same
 * for every recipient) and by the per-link report. The only writer of `delivery_links`.
 */
import { sql } from 'kysely';
import type { Q } from '../db/index.ts';
import type { FoundLink } from '../mail/tracked-links.ts';

/** A tracked link as found in the content (mail/tracked-links.ts). */
export type LinkRecord = FoundLink;

/** Replaces a delivery's links with those of the content version being sent. */
export async function recordLinks(q: Q, deliveryId: number, links: LinkRecord[]): Promise<void> {
  await q.deleteFrom('delivery_links').where('delivery_id', '=', deliveryId).where('link_id', '>', links.length).execute();
  if (!links.length) return;
  await q
    .insertInto('delivery_links')
    .values(links.map((l) => ({ delivery_id: deliveryId, link_id: l.id, url: l.url, label: l.label, part: l.part, position: l.position, personalized: l.personalized ? 1 : 0 })))
    .onConflict((oc) =>
      oc.columns(['delivery_id', 'link_id']).doUpdateSet({ url: sql`excluded.url`, label: sql`excluded.label`, part: sql`excluded.part`, position: sql`excluded.position`, personalized: sql`excluded.personalized` }),
    )
    .execute();
}

export async function listLinks(q: Q, deliveryId: number): Promise<LinkRecord[]> {
  const rows = await q.selectFrom('delivery_links').selectAll().where('delivery_id', '=', deliveryId).orderBy('link_id').execute();
  return rows.map((r) => ({ id: r.link_id, url: r.url, label: r.label, part: r.part === 'text' ? 'text' : 'html', position: r.position, personalized: r.personalized === 1 }));
}

/** The URL a link of a delivery leads to, or null when the delivery has no such link. */
export async function linkUrl(q: Q, deliveryId: number, linkId: number): Promise<string | null> {
  const r = await q.selectFrom('delivery_links').select('url').where('delivery_id', '=', deliveryId).where('link_id', '=', linkId).executeTakeFirst();
  return r?.url ?? null;
}
