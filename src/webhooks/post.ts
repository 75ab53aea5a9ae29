/**
 * One signed POST to a receiver: JSON body, `Estafeta-Signature`, a timeout, and at most a
 * few kilobytes of the answer read (for the attempt's error text), so a receiver that
 * answers slowly or endlessly costs a bounded time and memory. Never throws.
 */
import { SIGNATURE_HEADER, signatureHeader } from './signature.ts';

export interface PostResult {
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  /** Why it failed, in words: the status and the start of the answer, or the network error. */
  error: string | null;
}

const ANSWER_BYTES = 2048;

export async function postSigned(url: string, secret: string, body: string, timeoutMs: number): Promise<PostResult> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Estafeta-Webhooks/1', [SIGNATURE_HEADER]: signatureHeader(secret, body, Math.floor(Date.now() / 1000)) },
      body,
      redirect: 'manual',
      signal,
    });
    const answer = await readSome(res, ANSWER_BYTES);
    const latencyMs = performance.now() - started;
    const ok = res.status >= 200 && res.status < 300;
    return { ok, statusCode: res.status, latencyMs, error: ok ? null : `HTTP ${res.status}${answer ? `: ${answer.replace(/\s+/g, ' ').slice(0, 300)}` : ''}` };
  } catch (err) {
    const latencyMs = performance.now() - started;
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = signal.aborted ? `no answer within ${Math.round(timeoutMs / 1000)} s` : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { ok: false, statusCode: null, latencyMs, error: why };
  }
}

/** The first bytes of the answer as text; the rest is not read. */
async function readSome(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // A connection cut while answering: the status is what counts.
  } finally {
    void reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}
