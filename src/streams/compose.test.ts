import { test } from 'node:test';
import assert from 'node:assert/strict';
import PostalMime from 'postal-mime';
import { composeStreamMessage, type StreamComposeSettings } from './compose.ts';
import { checkMessage, messageSchema } from './message-input.ts';
import { readClickToken, readOpenToken } from '../mail/tracking-tokens.ts';

const settings: StreamComposeSettings = { secret: 'a-secret-for-tests', publicUrl: 'https://mail.shop.example/', bounceDomain: 'bounces.shop.example' };
const html = '<p>Hello <a href="https://app.example/reset?u=7&amp;t=x1">reset</a>, <a href="https://app.example/help" data-estafeta-track="off">help</a>, <a href="mailto:help@app.example">mail</a>.</p>';

async function compose(tracking: boolean) {
  const checked = checkMessage(messageSchema.parse({ stream: 'resets', from: 'no-reply@app.example', to: ['ana@example.com'], subject: 'Reset', html, text: 'Go to https://app.example/reset' }));
  assert.ok(checked.ok);
  const m = composeStreamMessage(settings, { streamId: 3, tracking, listUnsubscribe: false }, checked.message, 41, 'ana@example.com');
  return (await PostalMime.parse(m.body)) as { html?: string; text?: string };
}

test('a tracking stream sends its http(s) links through signed redirects that lead back to each URL, and an open pixel', async () => {
  const mail = await compose(true);
  const clicks = [...(mail.html ?? '').matchAll(/href="https:\/\/mail\.shop\.example\/t\/c\/([^"]+)"/g)].map((m) => readClickToken(settings.secret, m[1]));
  assert.deepEqual(clicks, [{ deliveryId: 3, logId: 41, linkId: 1, url: 'https://app.example/reset?u=7&t=x1' }]);
  assert.ok(mail.html!.includes('<a href="https://app.example/help">help</a>'), 'a link marked off is kept, without the attribute');
  assert.ok(mail.html!.includes('href="mailto:help@app.example"'));
  const pixel = /src="https:\/\/mail\.shop\.example\/t\/o\/([^"]+)"/.exec(mail.html!);
  assert.deepEqual(readOpenToken(settings.secret, pixel![1]), { deliveryId: 3, logId: 41 });
  assert.equal(mail.text?.trim(), 'Go to https://app.example/reset', 'text links are left as written');
});

test('a stream that does not track leaves the HTML as the application wrote it', async () => {
  const mail = await compose(false);
  assert.ok(mail.html!.includes('href="https://app.example/reset?u=7&amp;t=x1"'), mail.html);
  assert.ok(!mail.html!.includes('/t/'));
});
