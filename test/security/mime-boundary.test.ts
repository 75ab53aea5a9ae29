/**
 * Finding 4 of the security review: MIME boundaries were a per-process prefix and a counter,
 * visible in every mail, so a recipient field holding "\n--<prefix><n>\nContent-Type:
 * text/html..." for a range of n ended the text part and replaced the HTML part of the sent
 * (and DKIM-signed) mail. Here an attacker reads the boundary of one mail it received, then
 * a delivery carries the guesses for the next boundaries in a personalization field; the
 * mail as received must hold exactly the template's two parts, the field's text shown as text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PostalMime from 'postal-mime';
import { startSimDns } from '../../src/sim/dns-server.ts';
import { freePort, startSink } from '../helpers/smtp-sink.ts';
import { startTestEstafeta, waitFor, type TestEstafeta } from '../helpers/estafeta.ts';

const MX = '127.0.7.32';

async function send(e: TestEstafeta, rcpt: string, note: string): Promise<void> {
  const created = await e.api('POST', '/deliveries', {
    from: { name: 'Shop', address: 'news@shop.example' },
    subject: 'Hello {{ firstName }}',
    html: '<p>Hello {{ firstName }}</p><div>{{ note }}</div><a href="{{ unsubscribeUrl }}">Unsubscribe</a>',
    text: 'Hello {{ firstName }}\n{{ note }}\nUnsubscribe: {{ unsubscribeUrl }}',
    validity: '1h',
    recipients: [{ email: rcpt, firstName: 'Ana', note }],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id;
  const analysis = await e.api('POST', `/deliveries/${id}/analyze`);
  assert.equal(analysis.body.errors, 0, JSON.stringify(analysis.body.lines));
  const confirmed = await e.api('POST', `/deliveries/${id}/confirm`);
  assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
}

test('personalization data cannot end a MIME part: guessed boundaries stay text, the HTML part is the template', { timeout: 60_000 }, async () => {
  const port = await freePort([MX]);
  const dns = await startSimDns({ port: 0, records: [{ name: 'mime.test', type: 'MX', exchange: 'mx.mime.test', priority: 10 }, { name: 'mx.mime.test', type: 'A', address: MX }] });
  const sink = await startSink(MX, port);
  const e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port } });
  try {
    const received = (rcpt: string) => waitFor(`the message to ${rcpt}`, async () => sink.received.find((m) => m.to.includes(rcpt)), 30_000);
    // The attacker receives one mail and reads its boundary.
    await send(e, 'attacker@mime.test', 'nothing');
    const seen = /boundary="([^"]+)"/.exec((await received('attacker@mime.test')).raw.toString('latin1'))?.[1];
    assert.ok(seen, 'the first mail is multipart');
    // Guesses for the next boundaries, as if the last "_" piece were a base-36 counter.
    const [, prefix, count] = /^(.*_)([0-9a-z]+)$/.exec(seen) ?? [, `${seen}_`, '0'];
    const n = parseInt(count, 36);
    const guesses = Array.from({ length: 40 }, (_, i) => `${prefix}${(n + 1 + i).toString(36)}`);
    const evil = '<p>EVIL</p>';
    const note = [seen, ...guesses].map((b) => `\n--${b}\nContent-Type: text/html; charset=utf-8\n\n${evil}\n--${b}--\n`).join('') + '\n-- \nsignature line\n';
    await send(e, 'victim@mime.test', note);

    const mail = await received('victim@mime.test');
    const raw = mail.raw.toString('latin1');
    const boundary = /boundary="([^"]+)"/.exec(raw)?.[1];
    assert.ok(boundary);
    const parsed = await PostalMime.parse(mail.raw);
    assert.ok(!parsed.html?.includes(evil), `the HTML part is the template, with the data escaped in it: ${parsed.html?.slice(0, 200)}`);
    assert.ok(parsed.html?.startsWith('<p>Hello Ana</p><div>'), parsed.html?.slice(0, 200));
    assert.ok(parsed.html?.includes('&lt;p&gt;EVIL&lt;/p&gt;'));
    assert.ok(parsed.text?.replace(/\r\n/g, '\n').includes(note), 'the text part shows the data as it was');
    assert.equal(parsed.attachments.length, 0);
    assert.ok(!guesses.includes(boundary) && boundary !== seen, 'the boundary was not guessed');
    // As a reader splits it: any CR, LF or CRLF ends a line (the SMTP encoder makes them CRLF).
    const dashLines = raw.split(/\r\n|\r|\n/).filter((l) => l.startsWith('--'));
    assert.deepEqual(dashLines, [`--${boundary}`, `--${boundary}`, `--${boundary}--`], 'no line of the parts begins with "--"');
  } finally {
    await e.stop();
    await sink.stop();
    await dns.stop();
  }
});
