/**
 * The per-link report (Campaign's tracked URLs with their clicks): each tracked link of a
 * delivery with its clicks and unique clicks by people, and its share of the delivery's
 * unique clicks. Read from the counters the feedback service keeps (`link:<id>:clicks`,
 * `link:<id>:unique`), so its cost does not grow with the delivery's size.
 */
import type { Q } from '../db/index.ts';
import { getCounters, listLinks, type LinkRecord } from '../deliveries/index.ts';

export interface LinkReportRow extends LinkRecord {
  clicks: number;
  uniqueClicks: number;
  /** Unique clicks on this link / unique clicks on the delivery, in %. */
  percentOfClickers: number;
}

export async function getLinkReport(q: Q, deliveryId: number): Promise<{ links: LinkReportRow[]; uniqueClicks: number }> {
  const [links, c] = await Promise.all([listLinks(q, deliveryId), getCounters(q, deliveryId)]);
  const clickers = c.uniqueClicks ?? 0;
  return {
    uniqueClicks: clickers,
    links: links.map((l) => {
      const unique = c[`link:${l.id}:unique`] ?? 0;
      return { ...l, clicks: c[`link:${l.id}:clicks`] ?? 0, uniqueClicks: unique, percentOfClickers: clickers > 0 ? Math.round((unique / clickers) * 10000) / 100 : 0 };
    }),
  };
}
