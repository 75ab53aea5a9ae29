/**
 * A private Postfix instance (Debian's package) used as the peer to beat: it listens on a
 * loopback port and relays everything to the benchmark's sink, with its queue on disk as in
 * production. It never touches /etc/postfix or port 25. `delivered()` counts the
 * "status=sent" lines of its own log, reading only what was added since it last looked.
 */
import { chmodSync, chownSync, closeSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

export interface PostfixRelay {
  port: number;
  /** Its configuration directory (the master's MAIL_CONFIG). */
  configDir: string;
  delivered(): number;
  stop(): void;
}

const SERVICES = (port: number) => `
127.0.0.1:${port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
smtp      unix  - - n - - smtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
tlsmgr    unix  - - n 1000? 1 tlsmgr
`;

export function postfixAvailable(): string | null {
  if (!existsSync('/usr/sbin/postfix')) return 'postfix is not installed (apt-get install postfix)';
  if (process.getuid?.() !== 0) return 'a private Postfix instance needs root';
  return null;
}

/** `extra`: more main.cf lines (STARTTLS settings, say); `sinkHost`: the sink's address (127.0.0.1). */
export function startPostfixRelay(port: number, sinkPort: number, concurrency: number, o: { sinkHost?: string; extra?: string[] } = {}): PostfixRelay {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-bench-postfix-'));
  // Postfix's daemons run as the postfix user and must reach their directories.
  chmodSync(dir, 0o755);
  const etc = join(dir, 'etc');
  for (const d of ['etc', 'spool', 'data', 'log']) mkdirSync(join(dir, d));
  const uid = Number(execFileSync('id', ['-u', 'postfix']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postfix']).toString().trim());
  chownSync(join(dir, 'data'), uid, gid);
  chownSync(join(dir, 'log'), uid, gid);
  writeFileSync(
    join(etc, 'main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${dir}/spool`,
      `data_directory = ${dir}/data`,
      `maillog_file_prefixes = ${dir}`,
      `maillog_file = ${dir}/log/maillog`,
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      'myhostname = relay.bench.test',
      'mydestination =',
      'mynetworks = 127.0.0.0/8',
      'smtpd_relay_restrictions = permit_mynetworks, reject',
      'smtp_dns_support_level = disabled',
      `relayhost = [${o.sinkHost ?? '127.0.0.1'}]:${sinkPort}`,
      `default_destination_concurrency_limit = ${concurrency}`,
      `smtp_destination_concurrency_limit = ${concurrency}`,
      'smtputf8_enable = no',
      'alias_maps =',
      'alias_database =',
      'local_recipient_maps =',
      ...(o.extra ?? []),
      '',
    ].join('\n'),
  );
  writeFileSync(join(etc, 'master.cf'), SERVICES(port));
  execFileSync('/usr/sbin/postfix', ['-c', etc, 'start'], { stdio: ['ignore', 'ignore', 'ignore'] });
  const log = join(dir, 'log', 'maillog');
  // The log grows to tens of megabytes: read only what was added since the last look, so
  // that counting costs the machine next to nothing while Postfix is being timed.
  let offset = 0;
  let partial = '';
  let sent = 0;
  return {
    port,
    configDir: etc,
    delivered() {
      if (!existsSync(log)) return 0;
      const fd = openSync(log, 'r');
      try {
        const size = fstatSync(fd).size;
        if (size > offset) {
          const chunk = Buffer.alloc(size - offset);
          readSync(fd, chunk, 0, chunk.length, offset);
          offset = size;
          const text = partial + chunk.toString('utf8');
          const lastLf = text.lastIndexOf('\n');
          sent += (text.slice(0, lastLf + 1).match(/ status=sent /g) ?? []).length;
          partial = text.slice(lastLf + 1);
        }
      } finally {
        closeSync(fd);
      }
      return sent;
    },
    stop() {
      try {
        execFileSync('/usr/sbin/postfix', ['-c', etc, 'stop'], { stdio: ['ignore', 'ignore', 'ignore'] });
      } catch {
        /* already stopped */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
