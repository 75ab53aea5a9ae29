/**
 * Independent DKIM verifiers for tests, fed the TXT records directly so no DNS is needed:
 * python3-dkim from Debian (`dkim.verify` with a dnsfunc, the reference we trust most) and
 * mailauth's dkimVerify with a custom resolver. Each returns one verdict per
 * DKIM-Signature, in header order: true, or the verifier's reason for failing.
 */
import { spawnSync } from 'node:child_process';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';

/** TXT records by name, e.g. { "s1._domainkey.shop.example": "v=DKIM1; k=rsa; p=..." }. */
export type TxtRecords = Record<string, string>;

// Debian's python3-dkim lives in the system Python, whatever python3 is first on PATH.
const PYTHON = '/usr/bin/python3';

const SCRIPT = `
import sys, json, dkim
records = json.loads(sys.argv[1])
msg = sys.stdin.buffer.read()
def dnsfunc(name, timeout=5):
    n = name.decode() if isinstance(name, bytes) else name
    return records.get(n.rstrip('.').lower(), '').encode()
d = dkim.DKIM(msg)
count = sum(1 for h in d.headers if h[0].lower() == b'dkim-signature')
out = []
for i in range(count):
    try:
        out.append(True if d.verify(idx=i, dnsfunc=dnsfunc) else 'signature did not verify')
    except Exception as e:
        out.append(str(e) or type(e).__name__)
print(json.dumps(out))
`;

/** Why python3-dkim cannot run here, or null when it can. */
export function pythonDkimMissing(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import dkim, nacl'], { encoding: 'utf8' });
  return r.status === 0 ? null : `python3-dkim is not installed (${PYTHON}: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`;
}

export function verifyWithPythonDkim(message: Buffer, records: TxtRecords): (true | string)[] {
  const r = spawnSync(PYTHON, ['-c', SCRIPT, JSON.stringify(records)], { input: message, encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`python3-dkim failed: ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout);
}

export async function verifyWithMailauth(message: Buffer, records: TxtRecords): Promise<(true | string)[]> {
  const resolver = async (name: string, type: string) => {
    const value = type === 'TXT' ? records[name.replace(/\.$/, '').toLowerCase()] : undefined;
    if (!value) throw Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' });
    return [[value]];
  };
  const { results } = await dkimVerify(message, { resolver });
  return results.map((r) => (r.status.result === 'pass' ? true : `${r.status.result}: ${r.status.comment ?? ''}`));
}
