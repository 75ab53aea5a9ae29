/**
 * A private Postfix instance (the Debian package) as a receiving MTA for tests: its own
 * config, queue, log and mailbox under a temporary directory, listening on 127.0.0.1 on a
 * port of its own (Postfix binds only addresses an interface has, so not 127.0.x.y),
 * STARTTLS offered with a self-signed certificate made by openssl, and every recipient of
 * its domain delivered by virtual(8) into one mbox file. It never touches /etc/postfix,
 * port 25 or another instance. `stop` must run (in a finally).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const POSTFIX = '/usr/sbin/postfix';

export interface PostfixInstance {
  dir: string;
  /** The instance's log (maillog_file). */
  log(): string;
  /** The mbox file every accepted message is delivered to. */
  mailbox(): string;
  stop(): void;
}

/** Why a private Postfix cannot run here, or null when it can. */
export function postfixMissing(): string | null {
  if (!existsSync(POSTFIX)) return `Postfix is not installed (${POSTFIX})`;
  if (spawnSync('openssl', ['version']).status !== 0) return 'openssl is not installed';
  if (process.getuid?.() !== 0) return 'a private Postfix instance needs root';
  return null;
}

// Only the services a receiving MTA with local virtual delivery needs; none chrooted, so the
// instance needs nothing outside its directory.
const services = (listen: string) => `
${listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
smtp      unix  -       -       n       -       -       smtp
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;

export const POSTFIX_HOST = '127.0.0.1';

export async function startPostfix(o: { port: number; domain: string; hostname: string }): Promise<PostfixInstance> {
  const host = POSTFIX_HOST;
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-postfix-'));
  // mkdtemp makes the directory private to root; the postfix and delivery users must enter it.
  chmodSync(dir, 0o755);
  for (const d of ['etc', 'spool', 'data', 'log', 'mail', 'tls']) mkdirSync(join(dir, d));
  const uid = (name: string) => Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = (name: string) => Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  // master.lock and the log belong to the postfix user; the mailbox to the delivery user.
  for (const d of ['data', 'log']) chownSync(join(dir, d), uid('postfix'), gid('postfix'));
  chownSync(join(dir, 'mail'), uid('nobody'), gid('nobody'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${o.hostname}`, '-keyout', join(dir, 'tls/key.pem'), '-out', join(dir, 'tls/cert.pem')], { stdio: 'ignore' });
  writeFileSync(
    join(dir, 'etc/main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${dir}/spool`,
      `data_directory = ${dir}/data`,
      // Without the prefix list Postfix refuses a log file outside /var and fails silently.
      `maillog_file_prefixes = ${dir}`,
      `maillog_file = ${dir}/log/maillog`,
      `inet_interfaces = ${host}`,
      'inet_protocols = ipv4',
      `myhostname = ${o.hostname}`,
      'mydestination =',
      'mynetworks = 127.0.0.0/8',
      'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
      // No DNS at all: no reverse lookup of the client, no MX lookups.
      'smtpd_peername_lookup = no',
      'smtp_dns_support_level = disabled',
      'alias_maps =',
      'alias_database =',
      `virtual_mailbox_domains = ${o.domain}`,
      `virtual_mailbox_base = ${dir}/mail`,
      'virtual_mailbox_maps = static:mailbox',
      `virtual_uid_maps = static:${uid('nobody')}`,
      `virtual_gid_maps = static:${gid('nobody')}`,
      'smtpd_tls_security_level = may',
      `smtpd_tls_cert_file = ${dir}/tls/cert.pem`,
      `smtpd_tls_key_file = ${dir}/tls/key.pem`,
      'smtpd_tls_loglevel = 1',
      'biff = no',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'etc/master.cf'), services(`${host}:${o.port}`));
  const out = openSync(join(dir, 'start.log'), 'w');
  // Output to a file: the master daemon keeps inherited descriptors open.
  const r = spawnSync(POSTFIX, ['-c', join(dir, 'etc'), 'start'], { stdio: ['ignore', out, out] });
  closeSync(out);
  const instance: PostfixInstance = {
    dir,
    log: () => (existsSync(join(dir, 'log/maillog')) ? readFileSync(join(dir, 'log/maillog'), 'utf8') : ''),
    mailbox: () => (existsSync(join(dir, 'mail/mailbox')) ? readFileSync(join(dir, 'mail/mailbox'), 'utf8') : ''),
    stop() {
      process.removeListener('exit', stopOnExit);
      spawnSync(POSTFIX, ['-c', join(dir, 'etc'), 'stop'], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // Should the test process end without reaching its finally, the instance still stops.
  const stopOnExit = () => instance.stop();
  process.once('exit', stopOnExit);
  if (r.status !== 0 || !(await listening(host, o.port, 10_000))) {
    const why = `postfix start failed (rc ${r.status}): ${readFileSync(join(dir, 'start.log'), 'utf8')}\n${instance.log()}`;
    instance.stop();
    throw new Error(why);
  }
  return instance;
}

async function listening(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port }, () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
