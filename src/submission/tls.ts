/**
 * The submission listener's certificate: the operator's (submission.tls.cert and .key, PEM
 * files), or a self-signed one generated once with Debian's `openssl req -x509` into
 * submission.tls.dir and reused at the next start (no X.509 library is a dependency). A
 * self-signed certificate is for tests and trials: applications must then be told not to
 * verify it, which is why the operator's own is the production setting.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EstafetaError } from '../lib/errors.ts';

export interface SubmissionTls {
  cert: Buffer;
  key: Buffer;
  /** Whether it was generated here (self-signed). */
  generated: boolean;
}

export function loadSubmissionTls(o: { cert?: string; key?: string; dir: string; hostname: string }): SubmissionTls {
  if (o.cert || o.key) {
    if (!o.cert || !o.key) throw new EstafetaError('CONFIG', 'submission.tls: give both cert and key (PEM files), or neither for a generated self-signed certificate');
    const read = (what: string, path: string) => {
      try {
        return readFileSync(path);
      } catch (err) {
        throw new EstafetaError('CONFIG', `submission.tls.${what}: cannot read ${path} (${(err as Error).message})`);
      }
    };
    return { cert: read('cert', o.cert), key: read('key', o.key), generated: false };
  }
  const cert = join(o.dir, 'submission-cert.pem');
  const key = join(o.dir, 'submission-key.pem');
  if (!existsSync(cert) || !existsSync(key)) {
    mkdirSync(o.dir, { recursive: true });
    // CN and subjectAltName: hostname characters only, so nothing reaches openssl's parser but a name.
    const name = /^[a-z0-9.-]{1,253}$/i.test(o.hostname) ? o.hostname : 'localhost';
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '825', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name},DNS:localhost,IP:127.0.0.1`, '-keyout', key, '-out', cert], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    } catch (err) {
      const missing = (err as { code?: string }).code === 'ENOENT';
      throw new EstafetaError('CONFIG', missing
        ? 'SMTP submission needs a TLS certificate: give submission.tls.cert and submission.tls.key, or install openssl (apt-get install openssl) so Estafeta can generate a self-signed one'
        : `openssl could not generate the submission listener's self-signed certificate in ${o.dir}: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim().slice(0, 300)}`);
    }
  }
  return { cert: readFileSync(cert), key: readFileSync(key), generated: true };
}
