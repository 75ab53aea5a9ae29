import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkVariable, MAX_TRACKED_LINKS, PIXEL_VARIABLE, trackContent, trackLiteralLinks } from './tracked-links.ts';

const html = (body: string) => `<html><body>${body}</body></html>`;

test('each http(s) link of the HTML part is found with its label and position, and its href becomes a placeholder', () => {
  const r = trackContent(html('<p><a href="https://a.example/one">First <b>offer</b></a> and <a class="x" href=\'http://b.example/two\'><img src="i.png" alt="Logo"></a></p>'), null, { textLinks: false });
  assert.deepEqual(r.links.map(({ url, label, part, position, personalized }) => ({ url, label, part, position, personalized })), [
    { url: 'https://a.example/one', label: 'First offer', part: 'html', position: 1, personalized: false },
    { url: 'http://b.example/two', label: 'Logo', part: 'html', position: 2, personalized: false },
  ]);
  assert.ok(r.html!.includes(`href="{{ ${linkVariable(1)} }}"`));
  assert.ok(r.html!.includes(`<a class="x" href="{{ ${linkVariable(2)} }}">`));
  assert.ok(!r.html!.includes('a.example/one'), 'the original URL is no longer in the HTML');
});

test('&amp; in an href is decoded: the recorded URL is the one a browser would follow', () => {
  const r = trackContent(html('<a href="https://a.example/?a=1&amp;b=2">x</a>'), null, { textLinks: false });
  assert.equal(r.links[0].url, 'https://a.example/?a=1&b=2');
});

test('data-estafeta-track="off" leaves the link as it was and removes the attribute', () => {
  const r = trackContent(html('<a href="https://a.example/keep" data-estafeta-track="off">keep</a> <a href="https://a.example/t">t</a>'), null, { textLinks: false });
  assert.equal(r.links.length, 1);
  assert.equal(r.links[0].url, 'https://a.example/t');
  assert.ok(r.html!.includes('<a href="https://a.example/keep">keep</a>'), r.html!);
  assert.ok(!r.html!.includes('data-estafeta-track'));
});

test('{{ unsubscribeUrl }}, mailto: and other schemes are left untouched', () => {
  const body = '<a href="{{ unsubscribeUrl }}">Unsubscribe</a> <a href="mailto:help@a.example">mail us</a> <a href="tel:+331">call</a> <a href="#top">top</a>';
  const r = trackContent(html(body), null, { textLinks: false });
  assert.equal(r.links.length, 0);
  assert.ok(r.html!.includes(body));
});

test('a link whose URL contains personalization is tracked and flagged personalized', () => {
  const r = trackContent(html('<a href="https://a.example/u/{{ recipient.id }}?x={% if a %}1{% endif %}">me</a>'), null, { textLinks: false });
  assert.equal(r.links.length, 1);
  assert.equal(r.links[0].personalized, true);
  assert.equal(r.links[0].url, 'https://a.example/u/{{ recipient.id }}?x={% if a %}1{% endif %}');
});

test('the open pixel goes just before the last </body>, or at the end when there is none', () => {
  const r = trackContent('<html><body><p>hi</p></BODY></html>', null, { textLinks: false });
  const pixelAt = r.html!.indexOf(`{{ ${PIXEL_VARIABLE} }}`);
  assert.ok(pixelAt > r.html!.indexOf('<p>hi</p>') && pixelAt < r.html!.indexOf('</BODY>'), r.html!);
  const bare = trackContent('<p>hi</p>', null, { textLinks: false }).html!;
  assert.ok(bare.startsWith('<p>hi</p><img src="{{ estafetaOpenPixel }}"'), bare);
  assert.ok(bare.endsWith('>'));
});

test('text links are tracked only when asked, and trailing punctuation stays out of the URL', () => {
  const text = 'See https://a.example/page. Or (https://b.example/x?y=1), and mailto:me@a.example!';
  assert.equal(trackContent(null, text, { textLinks: false }).text, text);
  assert.equal(trackContent(null, text, { textLinks: false }).links.length, 0);
  const r = trackContent(null, text, { textLinks: true });
  assert.deepEqual(r.links.map((l) => [l.url, l.part, l.position]), [['https://a.example/page', 'text', 1], ['https://b.example/x?y=1', 'text', 2]]);
  assert.equal(r.text, `See {{ ${linkVariable(1)} }}. Or ({{ ${linkVariable(2)} }}), and mailto:me@a.example!`);
});

test('positions count per part; ids count across parts', () => {
  const r = trackContent(html('<a href="https://a.example/h">h</a>'), 'https://a.example/t', { textLinks: true });
  assert.deepEqual(r.links.map((l) => [l.id, l.part, l.position]), [[1, 'html', 1], [2, 'text', 1]]);
});

test(`at most ${MAX_TRACKED_LINKS} links are tracked; the rest are left as written`, () => {
  const body = Array.from({ length: MAX_TRACKED_LINKS + 5 }, (_, i) => `<a href="https://a.example/${i}">${i}</a>`).join(' ');
  const r = trackContent(html(body), null, { textLinks: false });
  assert.equal(r.links.length, MAX_TRACKED_LINKS);
  assert.ok(r.html!.includes(`<a href="https://a.example/${MAX_TRACKED_LINKS}">`));
  assert.ok(!r.html!.includes(`<a href="https://a.example/${MAX_TRACKED_LINKS - 1}">`));
});

test('literal HTML: the same links are replaced at once, the others left as written, and hrefFor may decline one', () => {
  const body = '<a href="https://a.example/?a=1&amp;b=2">one</a> <a href="https://a.example/keep" data-estafeta-track="off">keep</a> <a href="mailto:x@a.example">m</a> <a href=\'http://b.example/two\'>two</a> <a href="https://c.example/no">no</a>';
  const seen: string[] = [];
  const out = trackLiteralLinks(html(body), (link) => {
    seen.push(`${link.id} ${link.url}`);
    return link.url.includes('/no') ? null : `https://t.example/c/${link.id}`;
  });
  assert.deepEqual(seen, ['1 https://a.example/?a=1&b=2', '2 http://b.example/two', '3 https://c.example/no']);
  assert.ok(out.includes('<a href="https://t.example/c/1">one</a>'), out);
  assert.ok(out.includes('<a href="https://t.example/c/2">two</a>'), out);
  assert.ok(out.includes('<a href="https://a.example/keep">keep</a>') && !out.includes('data-estafeta-track'));
  assert.ok(out.includes('<a href="mailto:x@a.example">m</a>') && out.includes('<a href="https://c.example/no">no</a>'));
  assert.ok(!out.includes('{{'), 'no placeholder: the HTML is not a template');
});
