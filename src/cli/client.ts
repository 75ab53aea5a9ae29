/**
 * A small client for Estafeta's HTTP API, used by the CLI (the CLI never opens the
 * database for delivery work: what it does, the API and the dashboard can do too).
 * Errors come back as CliError with the server's message. Callers name the answer's type
 * from the API's contract (src/api/contract.ts: `api.get<DeliveryDetail>(...)`), so a changed
 * answer breaks the CLI's type check rather than its output.
 */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export interface ApiClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  patch<T>(path: string, body: unknown): Promise<T>;
  put<T>(path: string, body: unknown, contentType?: string): Promise<T>;
  delete<T>(path: string): Promise<T>;
}

/** Signing in as a user instead of an API key: the password is asked for only when needed. */
export interface UserLogin {
  user: string;
  password: () => Promise<string>;
}

export function apiClient(baseUrl: string, apiKey?: string, login?: UserLogin): ApiClient {
  const base = baseUrl.replace(/\/$/, '');
  let cookie: Promise<string> | undefined;
  const signIn = async (l: UserLogin): Promise<string> => {
    const res = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: l.user, password: await l.password() }) }).catch((err) => {
      throw new CliError(`cannot reach the Estafeta API at ${base} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message})`);
    });
    if (!res.ok) throw new CliError(`cannot sign in as ${l.user}: ${((await res.json().catch(() => null)) as { error?: { message?: string } } | null)?.error?.message ?? res.status}`);
    return (res.headers.getSetCookie()[0] ?? '').split(';')[0];
  };
  const call = async <T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> => {
    const headers: Record<string, string> = {};
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    else if (login) headers.cookie = await (cookie ??= signIn(login));
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = contentType;
      payload = contentType === "application/json" ? JSON.stringify(body) : String(body);
    }
    let res: Response;
    try {
      res = await fetch(`${base}/api/v1${path}`, { method, headers, body: payload });
    } catch (err) {
      throw new CliError(`cannot reach the Estafeta API at ${base} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}); is "estafeta start" running? Use --api or ESTAFETA_API_URL to point elsewhere.`);
    }
    const text = await res.text();
    const json = text ? safeJson(text) : null;
    if (!res.ok) {
      let message = (json as { error?: { message?: string } } | null)?.error?.message ?? `${res.status} ${res.statusText}`;
      if (res.status === 401 && !apiKey && !login) message += ' (give an API key with --api-key or ESTAFETA_API_KEY, or sign in with --user)';
      throw new CliError(message, res.status === 404 ? 4 : 1);
    }
    return json as T;
  };
  return {
    get: (p) => call('GET', p),
    post: (p, b) => call('POST', p, b ?? {}),
    patch: (p, b) => call('PATCH', p, b),
    put: (p, b, ct) => call('PUT', p, b, ct),
    delete: (p) => call('DELETE', p),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: { message: text.slice(0, 500) } };
  }
}
