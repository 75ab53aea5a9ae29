/**
 * Creates, analyzes and confirms a small delivery through the API, for tests about what
 * happens after the sender (DKIM, TLS, receiving MTAs). Returns the delivery id and the
 * analysis report; waiting for outcomes is the test's business.
 */
import assert from 'node:assert/strict';
import type { TestEstafeta } from './estafeta.ts';

export interface SmallDelivery {
  from: string;
  recipients: string[];
  label?: string;
  /** Analyze only, do not confirm. */
  analyzeOnly?: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function startSmallDelivery(estafeta: TestEstafeta, d: SmallDelivery): Promise<{ id: number; report: any }> {
  const created = await estafeta.api('POST', '/deliveries', {
    label: d.label ?? 'small delivery',
    from: { name: 'Shop', address: d.from },
    subject: 'Hello {{ firstName }}',
    html: '<p>Hello {{ firstName }}</p><p>Our news.</p><a href="{{ unsubscribeUrl }}">Unsubscribe</a>',
    text: 'Hello {{ firstName }}\nOur news.\nUnsubscribe: {{ unsubscribeUrl }}',
    validity: '1h',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id as number;
  const csv = ['email,firstName', ...d.recipients.map((r, i) => `${r},Name${i}`)].join('\n') + '\n';
  const imported = await estafeta.api('PUT', `/deliveries/${id}/recipients`, csv, 'text/csv');
  assert.equal(imported.status, 200, JSON.stringify(imported.body));
  const analysis = await estafeta.api('POST', `/deliveries/${id}/analyze`);
  assert.equal(analysis.status, 200, JSON.stringify(analysis.body));
  assert.equal(analysis.body.errors, 0, JSON.stringify(analysis.body.lines));
  if (!d.analyzeOnly) {
    const confirmed = await estafeta.api('POST', `/deliveries/${id}/confirm`);
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
  }
  return { id, report: analysis.body };
}

/** The delivery's logs (up to 1,000). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function deliveryLogs(estafeta: TestEstafeta, id: number): Promise<any[]> {
  return (await estafeta.api('GET', `/deliveries/${id}/logs?limit=1000`)).body.logs;
}
