/**
 * A second independent verifier: OpenDKIM's opendkim-testmsg (Debian's opendkim-tools).
 * It looks keys up through the system resolver, so the test runs it in a private network
 * and mount namespace (unshare, as root) whose /etc/resolv.conf points at a test DNS
 * server on 127.0.0.1:53 serving the TXT records; the machine's own DNS is never touched.
 * Skipped where that is impossible (not root, no unshare, no opendkim-tools).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMessage } from '../src/mail/mime-build.ts';
import { dnsRecordName, dnsRecordValue, generateDkimKey, signMessage } from '../src/dkim/index.ts';

function missing(): string | null {
  if (!existsSync('/usr/sbin/opendkim-testmsg')) return 'opendkim-tools is not installed';
  if (process.getuid?.() !== 0) return 'needs root for a private network namespace';
  const probe = spawnSync('unshare', ['--net', '--mount', 'true']);
  return probe.status === 0 ? null : `unshare --net --mount is not allowed here (${probe.stderr?.toString().trim() || probe.error?.message})`;
}

// Runs inside the namespace: loopback up, our resolv.conf, the DNS server, then one
// opendkim-testmsg per message file, printing "<file> <exit code>".
const SCRIPT = `
set -e
dir="$1"; shift
ip link set lo up
echo "nameserver 127.0.0.1" > "$dir/resolv.conf"
mount --bind "$dir/resolv.conf" /etc/resolv.conf
"$NODE" --import tsx --input-type=module -e "
import { readFileSync, writeFileSync } from 'node:fs';
import { startSimDns } from './src/sim/dns-server.ts';
const records = JSON.parse(readFileSync('$dir/records.json', 'utf8'));
await startSimDns({ port: 53, records: Object.entries(records).map(([name, data]) => ({ name, type: 'TXT', data: data.match(/.{1,255}/g) })) });
writeFileSync('$dir/ready', '');
setTimeout(() => process.exit(0), 20000);
" &
dns=$!
for i in $(seq 100); do [ -f "$dir/ready" ] && break; sleep 0.1; done
set +e
for f in "$@"; do opendkim-testmsg < "$dir/$f" > "$dir/$f.out" 2>&1; echo "$f $?"; done
kill $dns
`;

test('opendkim-testmsg verifies RSA, Ed25519 and two-selector signatures, and rejects a tampered body', { skip: missing() ?? false, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-opendkim-'));
  try {
    const rsa = await generateDkimKey('rsa-sha256');
    const ed = await generateDkimKey('ed25519-sha256');
    const key = (k: typeof rsa, selector: string) => ({ domain: 'shop.example', selector, algorithm: k.algorithm, privateKey: createPrivateKey(k.privateKey) });
    writeFileSync(join(dir, 'records.json'), JSON.stringify({ [dnsRecordName('r1', 'shop.example')]: dnsRecordValue(rsa.algorithm, rsa.publicKey), [dnsRecordName('e1', 'shop.example')]: dnsRecordValue(ed.algorithm, ed.publicKey) }));
    const message = buildMessage({
      headers: [['From', 'Shop <news@shop.example>'], ['To', 'ana@example.org'], ['Subject', 'Ofertas de otoño'], ['Date', 'Fri, 27 Nov 2026 08:00:00 +0000'], ['Message-ID', '<2.x@shop.example>']],
      text: 'Hola Ana,\n  con   espacios \n',
      html: '<p>Hola Ana</p>',
    });
    const files: Record<string, Buffer> = {
      'rsa.eml': signMessage(message, [key(rsa, 'r1')]),
      'ed25519.eml': signMessage(message, [key(ed, 'e1')]),
      'both.eml': signMessage(message, [key(rsa, 'r1'), key(ed, 'e1')]),
    };
    const tamper = (b: Buffer) => Buffer.from(b.toString('latin1').replace('Hola Ana', 'Hola Eve'), 'latin1');
    files['tampered.eml'] = tamper(files['rsa.eml']);
    files['ed25519-tampered.eml'] = tamper(files['ed25519.eml']);
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    writeFileSync(join(dir, 'run.sh'), SCRIPT);

    const r = spawnSync('unshare', ['--net', '--mount', 'sh', join(dir, 'run.sh'), dir, ...Object.keys(files)], { cwd: process.cwd(), env: { ...process.env, NODE: process.execPath }, encoding: 'utf8', timeout: 45_000 });
    const codes = Object.fromEntries(r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ')));
    const out = (f: string) => (existsSync(join(dir, `${f}.out`)) ? spawnSync('cat', [join(dir, `${f}.out`)], { encoding: 'utf8' }).stdout : '');
    assert.equal(codes['rsa.eml'], '0', `RSA: ${out('rsa.eml')} ${r.stderr}`);
    assert.equal(codes['ed25519.eml'], '0', `Ed25519: ${out('ed25519.eml')}`);
    assert.equal(codes['both.eml'], '0', `two selectors: ${out('both.eml')}`);
    for (const f of ['tampered.eml', 'ed25519-tampered.eml']) {
      assert.notEqual(codes[f], '0', `${f}: a tampered body fails`);
      assert.match(out(f), /bad signature|body hash/i, f);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
