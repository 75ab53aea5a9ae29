// Sign-in: user name and password; the server sets an HttpOnly session cookie.
import { useState, type FormEvent } from 'react';
import { api } from '../api.ts';
import type { Principal, SignedIn } from '../types.ts';
import { ErrorBanner } from '../components/ui.tsx';

export function SignIn({ onSignedIn }: { onSignedIn: (u: Principal) => void }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api<SignedIn>('POST', '/auth/login', { name, password });
      onSignedIn(r.user);
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };
  return (
    <div className="signin">
      <form onSubmit={submit} className="card signin-card" aria-labelledby="signin-title">
        <div className="brand big">
          <span className="logo" aria-hidden="true">
            ✉
          </span>
          Estafeta
        </div>
        <h1 id="signin-title">Sign in</h1>
        <ErrorBanner error={error} />
        <label>
          User name
          <input name="name" autoComplete="username" autoFocus required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="muted small">The first start prints the password of the “admin” user on the server’s console.</p>
      </form>
    </div>
  );
}
