/**
 * The DNS half of the bulk-sender compliance gate (Gmail and Yahoo 2024, Microsoft 2025):
 * SPF on the return path's domain, aligned with the From domain and authorizing the sending
 * IPs (evaluated by mailauth through our resolver); the DMARC record of the From domain or
 * its organizational domain; forward-confirmed reverse DNS of each sending IP. Each check
 * returns its report lines; `unmet` is the level of a requirement not met (error for a bulk
 * delivery, warning below), and a lookup that got no answer is a warning that says so,
 * never a pass. DKIM is the DKIM stage's own check (dkim/analysis-check.ts).
 */
import { isIP } from 'node:net';
import { spf } from 'mailauth/lib/spf/index.js';
import type { DnsLookup, Lookup } from '../lib/dns-lookup.ts';
import { organizationalDomain } from '../mail/organizational-domain.ts';
import type { AnalysisLine } from './report.ts';

export type Unmet = 'error' | 'warning';
export type Line = Pick<AnalysisLine, 'level' | 'code' | 'message'>;

const line = (level: Line['level'], code: string, message: string): Line => ({ level, code, message });
const noAnswer = (r: Lookup<unknown>) => (!r.ok && !r.missing ? (r as { code: string }).code : null);

type SpfRecord = { kind: 'record'; text: string } | { kind: 'none' } | { kind: 'several'; count: number } | { kind: 'unknown'; code: string };

async function spfRecord(dns: DnsLookup, name: string): Promise<SpfRecord> {
  const r = await dns.txt(name);
  const code = noAnswer(r);
  if (code) return { kind: 'unknown', code };
  const records = r.ok ? r.records.filter((t) => /^v=spf1(\s|$)/i.test(t.trim())) : [];
  if (records.length > 1) return { kind: 'several', count: records.length };
  return records.length ? { kind: 'record', text: records[0].trim() } : { kind: 'none' };
}

export interface SendingIp {
  address: string;
  helo: string | null;
}

/**
 * SPF is checked by receivers on the return path's domain (MAIL FROM: bounce+…@bounceDomain);
 * DMARC counts it only when that domain shares the From domain's organizational domain.
 */
export async function checkSpf(dns: DnsLookup, o: { fromDomain: string; bounceDomain: string; ips: SendingIp[]; unmet: Unmet }): Promise<Line[]> {
  const from = o.fromDomain;
  const org = organizationalDomain(from);
  const bounce = o.bounceDomain.toLowerCase();
  const aligned = organizationalDomain(bounce) === org;
  const [onBounce, onFrom, onOrg] = await Promise.all([spfRecord(dns, bounce), spfRecord(dns, from), org === from ? null : spfRecord(dns, org)]);
  const fromHas = onFrom.kind === 'record' ? from : onOrg?.kind === 'record' ? org : null;
  const fromNote = fromHas ? ` (${fromHas} publishes SPF, but receivers check the return path's domain)` : '';
  if (!aligned) {
    return [line(o.unmet, 'spf-not-aligned', `SPF is not aligned with ${from}: the return path is bounce+…@${bounce} (bounces.domain), outside ${org}, so SPF cannot make DMARC pass for ${from}${fromNote}. Set bounces.domain to a subdomain of ${org} (e.g. bounces.${org}) whose MX points at this server's bounce listener, and publish an SPF record there.`)];
  }
  if (onBounce.kind === 'unknown') return [line('warning', 'spf-unchecked', `Could not check SPF: the DNS gave no answer for TXT ${bounce} (${onBounce.code}). Analyze again when DNS answers.`)];
  if (onBounce.kind === 'several') return [line(o.unmet, 'spf-invalid', `${bounce} publishes ${onBounce.count} SPF records: receivers then treat SPF as an error (RFC 7208 §4.5). Merge them into one "v=spf1 … -all" record.`)];
  if (onBounce.kind === 'none') {
    return [line(o.unmet, 'spf-missing', `${bounce}, the return path's domain, has no SPF record${fromNote}: receivers see SPF "none". Publish a TXT record at ${bounce} such as "v=spf1 ${o.ips.length ? o.ips.map((ip) => `${isIP(ip.address) === 6 ? 'ip6' : 'ip4'}:${ip.address}`).join(' ') : 'ip4:<your sending IP>'} -all".`)];
  }
  const where = bounce === from ? from : `${bounce} (aligned with ${from}${org === from ? '' : ` through ${org}`})`;
  if (!o.ips.length) {
    return [line('info', 'spf-aligned', `SPF: ${where} publishes "${onBounce.text}". No sending IPs are configured (policy/sending-ips.yaml), so whether it authorizes the address mail leaves from was not checked.`)];
  }
  const results = await Promise.all(
    o.ips.map(async (ip) => {
      const r = await spf({ sender: `bounce@${bounce}`, ip: ip.address, helo: ip.helo ?? undefined, mta: 'estafeta-analysis', resolver: dns.resolve as never });
      return { ip: ip.address, result: r.status.result as string };
    }),
  );
  const temp = results.filter((r) => r.result === 'temperror');
  const refused = results.filter((r) => r.result !== 'pass' && r.result !== 'temperror');
  if (refused.length) {
    return [line(o.unmet, 'spf-ip-not-authorized', `SPF of ${bounce} ("${onBounce.text}") does not authorize ${refused.map((r) => `${r.ip} (${r.result})`).join(', ')}: add ${refused.map((r) => `${isIP(r.ip) === 6 ? 'ip6' : 'ip4'}:${r.ip}`).join(' ')} to the record.`)];
  }
  if (temp.length) return [line('warning', 'spf-unchecked', `Could not check SPF for ${temp.map((r) => r.ip).join(', ')}: a DNS lookup of ${bounce}'s record got no answer. Analyze again when DNS answers.`)];
  return [line('info', 'spf-aligned', `SPF: ${where} publishes "${onBounce.text}", which authorizes the sending IPs (${results.map((r) => r.ip).join(', ')}).`)];
}

type DmarcRecord = { kind: 'record'; text: string; tags: Map<string, string> } | { kind: 'none' } | { kind: 'several' } | { kind: 'unknown'; code: string };

async function dmarcRecord(dns: DnsLookup, domain: string): Promise<DmarcRecord> {
  const r = await dns.txt(`_dmarc.${domain}`);
  const code = noAnswer(r);
  if (code) return { kind: 'unknown', code };
  const records = r.ok ? r.records.filter((t) => /^v\s*=\s*DMARC1\s*(;|$)/i.test(t.trim())) : [];
  if (records.length > 1) return { kind: 'several' };
  if (!records.length) return { kind: 'none' };
  const tags = new Map<string, string>();
  for (const part of records[0].split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) tags.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return { kind: 'record', text: records[0].trim(), tags };
}

const POLICIES = new Set(['none', 'quarantine', 'reject']);

/** RFC 7489 §6.6.3: the From domain's record, or else its organizational domain's. */
export async function checkDmarc(dns: DnsLookup, o: { fromDomain: string; unmet: Unmet }): Promise<Line[]> {
  const from = o.fromDomain;
  const org = organizationalDomain(from);
  let name = `_dmarc.${from}`;
  let found = await dmarcRecord(dns, from);
  if (found.kind === 'none' && org !== from) {
    name = `_dmarc.${org}`;
    found = await dmarcRecord(dns, org);
  }
  const fix = `Publish a TXT record at _dmarc.${org} such as "v=DMARC1; p=none; rua=mailto:dmarc-reports@${org}" (p=none monitors; quarantine or reject once the reports show your mail passes).`;
  if (found.kind === 'unknown') return [line('warning', 'dmarc-unchecked', `Could not check DMARC: the DNS gave no answer for TXT ${name} (${found.code}). Analyze again when DNS answers.`)];
  if (found.kind === 'none') return [line(o.unmet, 'dmarc-missing', `${from} has no DMARC record (none at _dmarc.${from}${org !== from ? ` or _dmarc.${org}` : ''}): Gmail, Yahoo and Microsoft require one from bulk senders. ${fix}`)];
  if (found.kind === 'several') return [line(o.unmet, 'dmarc-invalid', `${name} has several DMARC records: receivers then apply none (RFC 7489 §6.6.3). Keep one.`)];
  // A subdomain found through its organizational domain's record follows sp= when present.
  const tag = name !== `_dmarc.${from}` && found.tags.has('sp') ? 'sp' : 'p';
  const p = (found.tags.get(tag) ?? '').toLowerCase();
  if (!found.tags.has('p') || !POLICIES.has((found.tags.get('p') ?? '').toLowerCase()) || !POLICIES.has(p)) {
    return [line(o.unmet, 'dmarc-invalid', `The DMARC record at ${name} ("${found.text}") has no valid policy: ${tag}= must be none, quarantine or reject (it is ${found.tags.has(tag) ? `"${found.tags.get(tag)}"` : 'missing'}). ${fix}`)];
  }
  const strength = p === 'none' ? ' (monitoring only: move to quarantine or reject once the reports show your mail passes)' : '';
  return [line('info', 'dmarc', `DMARC: ${name} publishes ${tag}=${p} for ${from}${strength}.`)];
}

/** Forward-confirmed reverse DNS: the address's PTR names a host whose A/AAAA records give the address back. */
export async function checkReverseDns(dns: DnsLookup, o: { ips: SendingIp[]; unmet: Unmet }): Promise<Line[]> {
  if (!o.ips.length) return [line('info', 'ptr-not-configured', 'No sending IPs are configured (policy/sending-ips.yaml): their reverse DNS was not checked.')];
  const lines: Line[] = [];
  const results = await Promise.all(o.ips.map(async (ip) => ({ ip, names: await dns.ptr(ip.address) })));
  for (const { ip, names } of results) {
    const code = noAnswer(names);
    if (code) {
      lines.push(line('warning', 'ptr-unchecked', `Could not check the reverse DNS of ${ip.address}: the DNS gave no answer (${code}). Analyze again when DNS answers.`));
      continue;
    }
    if (!names.ok || !names.records.length) {
      lines.push(line(o.unmet, 'ptr-missing', `Sending IP ${ip.address} has no PTR record: Gmail, Yahoo and Microsoft refuse or junk mail from addresses without reverse DNS. Ask whoever owns the address (your host or ISP) for a PTR record naming ${ip.helo ?? 'its host name'}, whose A record gives ${ip.address} back.`));
      continue;
    }
    const family = isIP(ip.address) === 6 ? 6 : 4;
    const forward = await Promise.all(names.records.map(async (name) => ({ name: name.replace(/\.$/, '').toLowerCase(), back: await dns.addresses(name, family) })));
    const confirmed = forward.find((f) => f.back.ok && f.back.records.some((a) => same(a, ip.address)));
    const unknown = forward.find((f) => noAnswer(f.back));
    if (confirmed) {
      const helo = ip.helo && ip.helo.toLowerCase() !== confirmed.name ? ` Its HELO name is ${ip.helo}; ${confirmed.name} is better, as receivers compare them.` : '';
      lines.push(line(helo ? 'warning' : 'info', helo ? 'ptr-helo-mismatch' : 'ptr', `Reverse DNS of ${ip.address}: ${confirmed.name}, which resolves back to it (forward-confirmed).${helo}`));
    } else if (unknown) {
      lines.push(line('warning', 'ptr-unchecked', `Could not check the reverse DNS of ${ip.address}: the DNS gave no answer for ${unknown.name} (${noAnswer(unknown.back)}). Analyze again when DNS answers.`));
    } else {
      const seen = forward.map((f) => `${f.name} → ${f.back.ok ? f.back.records.join(', ') : 'no address'}`).join('; ');
      lines.push(line(o.unmet, 'ptr-mismatch', `Reverse DNS of ${ip.address} is not forward-confirmed: its PTR names ${seen}, not ${ip.address}. Make the name's ${family === 6 ? 'AAAA' : 'A'} record give ${ip.address}, or change the PTR.`));
    }
  }
  return lines;
}

function same(a: string, b: string): boolean {
  if (a === b) return true;
  if (isIP(a) !== 6 || isIP(b) !== 6) return false;
  return new URL(`http://[${a}]`).hostname === new URL(`http://[${b}]`).hostname;
}
