/**
 * The small page a recipient reaches from the unsubscribe link: which address, which
 * sender, and one button. Plain HTML with its own stylesheet (the Content Security Policy
 * allows no inline style or script), readable without the dashboard and with a screen
 * reader. Every value is escaped. Does not unsubscribe anyone: the route does, on POST.
 */
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]);

export const UNSUBSCRIBE_CSS = `
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2430; background: #f4f6f9; margin: 0; }
main { max-width: 32rem; margin: 12vh auto; background: #fff; border: 1px solid #d8dee8; border-radius: 8px; padding: 2rem 2.25rem; }
h1 { font-size: 1.35rem; margin: 0 0 1rem; }
p { margin: 0 0 1rem; }
.address { font-weight: 600; word-break: break-all; }
button { font: inherit; font-weight: 600; color: #fff; background: #1f5fbf; border: 0; border-radius: 6px; padding: .7rem 1.4rem; cursor: pointer; }
button:focus-visible { outline: 3px solid #f0b400; outline-offset: 2px; }
.note { color: #566175; font-size: .9rem; }
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>${esc(title)}</title><link rel="stylesheet" href="/unsubscribe/style.css"></head>
<body><main>${body}</main></body>
</html>`;
}

const sender = (name: string, address: string) => (name ? `${esc(name)} (${esc(address)})` : esc(address));

export function confirmPage(p: { address: string; fromName: string; fromAddress: string; action: string }): string {
  return page(
    'Unsubscribe',
    `<h1>Unsubscribe</h1>
<p>Stop the emails from ${sender(p.fromName, p.fromAddress)} to <span class="address">${esc(p.address)}</span>?</p>
<form method="post" action="${esc(p.action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><input type="hidden" name="from" value="page">
<button type="submit">Unsubscribe</button></form>
<p class="note">Nothing changes until you press the button.</p>`,
  );
}

export function donePage(p: { address: string; fromName: string; fromAddress: string }): string {
  return page('Unsubscribed', `<h1 role="status">You are unsubscribed</h1>
<p><span class="address">${esc(p.address)}</span> will get no more emails from ${sender(p.fromName, p.fromAddress)}.</p>`);
}

export function invalidPage(): string {
  return page('Link not valid', `<h1>This unsubscribe link is not valid</h1>
<p>It may have been cut or changed when it was copied. Open the link from the email again, or reply to the email and ask to be removed.</p>`);
}
