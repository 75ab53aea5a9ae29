/**
 * The bulk-sender compliance gate of the delivery analysis (docs/DELIVERABILITY.md): SPF,
 * DMARC and forward-confirmed reverse DNS (compliance-dns.ts), one-click unsubscribe over
 * https, and the From domain's recent spam-complaint rate, each as report lines saying what
 * to fix. A requirement not met is an error for a bulk delivery (policy/compliance.yaml's
 * bulkRecipients, 5,000) and a warning below; a check that could not be made is a warning
 * that says so. All lookups run at once, cached by the DNS helper. DKIM is the DKIM stage's
 * check, registered next to this one.
 */
import type { Q } from '../db/index.ts';
import type { CompliancePolicy } from '../config/compliance-policy.ts';
import type { DnsLookup } from '../lib/dns-lookup.ts';
import { domainOf } from '../mail/address.ts';
import { checkDmarc, checkReverseDns, checkSpf, type Line, type SendingIp, type Unmet } from './compliance-dns.ts';
import { recentComplaintRate } from './complaint-rate.ts';
import type { ExtraCheckInput } from './analyze.ts';
import type { ReportLines } from './report.ts';

export interface ComplianceDeps {
  q: Q;
  dns: DnsLookup;
  policy: () => CompliancePolicy;
  /** The VERP return path's domain (bounces.domain). */
  bounceDomain: string;
  /** The base URL of Estafeta's unsubscribe page, and whether the operator set it (publicUrl). */
  publicUrl: { url: string; configured: boolean };
  /** The configured sending IPs (none: the system's default address, not checked). */
  sendingIps: () => SendingIp[];
  now?: () => number;
}

export function complianceCheck(deps: ComplianceDeps) {
  return async (d: ExtraCheckInput, out: ReportLines): Promise<void> => {
    const policy = deps.policy();
    const bulk = d.recipients >= policy.bulkRecipients;
    const unmet: Unmet = bulk ? 'error' : 'warning';
    const fromDomain = domainOf(d.fromAddress).toLowerCase();
    const ips = dedupe(deps.sendingIps());
    const guarded = (what: string, code: string, run: () => Promise<Line[]> | Line[]) =>
      Promise.resolve()
        .then(run)
        .catch((err: Error): Line[] => [{ level: 'warning', code, message: `Could not check ${what}: ${err.message}.` }]);
    const groups = await Promise.all([
      guarded('SPF', 'spf-unchecked', () => checkSpf(deps.dns, { fromDomain, bounceDomain: deps.bounceDomain, ips, unmet })),
      guarded('DMARC', 'dmarc-unchecked', () => checkDmarc(deps.dns, { fromDomain, unmet })),
      guarded('one-click unsubscribe', 'unsubscribe-unchecked', () => checkOneClick({ publicUrl: deps.publicUrl, ownUrl: d.unsubscribeUrl, unmet, recipients: d.recipients, bulkRecipients: policy.bulkRecipients })),
      guarded('reverse DNS', 'ptr-unchecked', () => checkReverseDns(deps.dns, { ips, unmet })),
      guarded('the complaint rate', 'complaint-rate-unchecked', () => checkComplaintRate(deps.q, { fromDomain, deliveryId: d.deliveryId, policy: policy.complaintRate, now: deps.now?.() ?? Date.now() })),
    ]);
    const lines = groups.flat();
    if (bulk) {
      out.add('info', 'bulk-sender', `${d.recipients.toLocaleString('en')} recipients: bulk sending (${policy.bulkRecipients.toLocaleString('en')} or more, policy/compliance.yaml), so Gmail's, Yahoo's and Microsoft's sender requirements below are errors when not met.`);
    }
    for (const l of lines) out.add(l.level, l.code, l.message);
  };
}

/**
 * RFC 8058 one-click needs an https List-Unsubscribe URL (the sender adds List-Unsubscribe-Post
 * only then). The URL is the delivery's own when it has one, else Estafeta's public URL.
 */
export function checkOneClick(o: { publicUrl: { url: string; configured: boolean }; ownUrl: string | null; unmet: Unmet; recipients: number; bulkRecipients: number }): Line[] {
  const volume = o.unmet === 'error' ? ` This delivery has ${o.recipients.toLocaleString('en')} recipients (bulk: ${o.bulkRecipients.toLocaleString('en')} or more), so confirmation waits for it.` : '';
  if (o.ownUrl) {
    const url = o.ownUrl.trim();
    if (/^https:\/\//i.test(url)) return [{ level: 'info', code: 'unsubscribe-one-click', message: `One-click unsubscribe: List-Unsubscribe is the delivery's own https URL (${url}); it must answer the RFC 8058 POST "List-Unsubscribe=One-Click" itself.` }];
    if (/^http:\/\//i.test(url)) {
      return [{ level: o.unmet, code: 'unsubscribe-not-https', message: `The delivery's own unsubscribe URL is http (${url}): messages go out without List-Unsubscribe-Post, so Gmail and Yahoo cannot offer one-click unsubscribe. Use an https URL, or remove it to use Estafeta's page.${volume}` }];
    }
    return [{ level: 'warning', code: 'unsubscribe-unchecked', message: `Could not check the delivery's own unsubscribe URL (${url}): it does not start with https:// before personalization. Start it with https:// so every recipient gets one-click unsubscribe.` }];
  }
  const base = o.publicUrl.url.replace(/\/$/, '');
  if (/^https:\/\//i.test(base)) return [{ level: 'info', code: 'unsubscribe-one-click', message: `One-click unsubscribe: List-Unsubscribe points at ${base}/unsubscribe/… with List-Unsubscribe-Post (RFC 8058).` }];
  const unset = o.publicUrl.configured ? '' : ' publicUrl is not set, so links use the API address, which mailbox providers cannot reach either.';
  return [
    {
      level: o.unmet,
      code: 'unsubscribe-not-https',
      message: `The public URL is not https (${base}): messages go out without List-Unsubscribe-Post, so Gmail and Yahoo cannot offer one-click unsubscribe.${unset} Put Estafeta behind a TLS reverse proxy and set publicUrl (ESTAFETA_PUBLIC_URL) to its https address (README: "Unsubscribe links and TLS").${volume}`,
    },
  ];
}

const percent = (r: number) => `${(r * 100).toFixed(2)} %`;

/** Complaints ÷ delivered over the From domain's last deliveries, against Gmail's 0.1 % and 0.3 %. */
export async function checkComplaintRate(q: Q, o: { fromDomain: string; deliveryId: number; policy: CompliancePolicy['complaintRate']; now: number }): Promise<Line[]> {
  const p = o.policy;
  const days = Math.round(p.windowMs / 86_400_000);
  const r = await recentComplaintRate(q, { domain: o.fromDomain, excludeId: o.deliveryId, since: o.now - p.windowMs, limit: p.lastDeliveries });
  if (!r.delivered) return [{ level: 'info', code: 'complaint-rate', message: `No message from ${o.fromDomain} was delivered in the last ${days} days: no spam-complaint rate yet.` }];
  const rate = r.complaints / r.delivered;
  const figure = `${percent(rate)} (${r.complaints.toLocaleString('en')} complaints / ${r.delivered.toLocaleString('en')} delivered, over the last ${r.deliveries} deliveries from ${o.fromDomain} in ${days} days)`;
  const fix = 'Find what drew the complaints (an old or bought list, mail they did not ask for, a hidden unsubscribe link) and send to engaged recipients only until it falls.';
  const few = r.delivered < p.minDelivered ? ` Only ${r.delivered.toLocaleString('en')} messages were delivered (fewer than ${p.minDelivered.toLocaleString('en')}), so this is a warning, not an error.` : '';
  if (rate > p.errorAbove) return [{ level: few ? 'warning' : 'error', code: 'complaint-rate-high', message: `Spam-complaint rate ${figure}: above ${percent(p.errorAbove)}, where Gmail junks or refuses a sender's mail. ${fix}${few}` }];
  if (rate > p.warnAbove) return [{ level: 'warning', code: 'complaint-rate-high', message: `Spam-complaint rate ${figure}: above ${percent(p.warnAbove)}, Gmail's recommended ceiling. ${fix}` }];
  return [{ level: 'info', code: 'complaint-rate', message: `Spam-complaint rate ${figure}: below ${percent(p.warnAbove)}.` }];
}

function dedupe(ips: SendingIp[]): SendingIp[] {
  const seen = new Map<string, SendingIp>();
  for (const ip of ips) if (!seen.has(ip.address)) seen.set(ip.address, ip);
  return [...seen.values()];
}
