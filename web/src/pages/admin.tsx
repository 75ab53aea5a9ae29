// Users and API keys (admins only). A new API key is shown once, right after its creation;
// afterwards only its first characters are listed.
import { useState, type FormEvent } from 'react';
import { api, get, post } from '../api.ts';
import { Card, ErrorBanner, Notice } from '../components/ui.tsx';
import { when } from '../format.ts';
import { useLoad } from '../live.ts';
import { useSession } from '../session.tsx';
import type { ApiKeyCreated, ApiKeyList, UserList } from '../types.ts';

export function AdminPage() {
  const { can, user } = useSession();
  const users = useLoad(() => get<UserList>('/users'), []);
  const keys = useLoad(() => get<ApiKeyList>('/api-keys'), []);
  const [u, setU] = useState({ name: '', password: '', role: 'viewer' });
  const [k, setK] = useState({ name: '', role: 'operator' });
  const [newKey, setNewKey] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const attempt = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  if (!can('admin')) return <div className="page"><Notice>Only admins manage users and API keys.</Notice></div>;
  const addUser = (e: FormEvent) => {
    e.preventDefault();
    void attempt(async () => {
      await post('/users', u);
      setU({ name: '', password: '', role: 'viewer' });
      users.reload();
    });
  };
  const addKey = (e: FormEvent) => {
    e.preventDefault();
    void attempt(async () => {
      setNewKey((await post<ApiKeyCreated>('/api-keys', k)).key);
      setK({ name: '', role: 'operator' });
      keys.reload();
    });
  };
  const roleSelect = (value: string, onChange: (v: string) => void) => (
    <select value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="viewer">viewer</option>
      <option value="operator">operator</option>
      <option value="admin">admin</option>
    </select>
  );
  return (
    <div className="page">
      <header className="page-head"><div><h1>Users & API keys</h1><p className="muted">Viewers read; operators also act on deliveries and quarantine; admins also manage access.</p></div></header>
      <ErrorBanner error={error} />
      <Card title="Users">
        <table className="grid">
          <thead><tr><th>Name</th><th>Role</th><th>Last sign-in</th><th>Action</th></tr></thead>
          <tbody>
            {users.data?.users.map((x) => (
              <tr key={x.id}>
                <td className="strong">{x.name}</td>
                <td>{roleSelect(x.role, (role) => void attempt(() => api('PATCH', `/users/${x.id}`, { role }).then(users.reload)))}</td>
                <td className="small">{when(x.lastLoginAt)}</td>
                <td>{x.name !== user.name && <button type="button" className="danger" onClick={() => void attempt(() => api('DELETE', `/users/${x.id}`).then(users.reload))}>Delete</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <form className="filters" onSubmit={addUser}>
          <label>Name<input required value={u.name} onChange={(e) => setU({ ...u, name: e.target.value })} /></label>
          <label>Password<input required type="password" minLength={10} autoComplete="new-password" value={u.password} onChange={(e) => setU({ ...u, password: e.target.value })} /></label>
          <label>Role{roleSelect(u.role, (role) => setU({ ...u, role }))}</label>
          <button type="submit">Add user</button>
        </form>
      </Card>
      <Card title="API keys">
        {newKey && <div className="banner success" role="status">New key, shown only now: <code className="mono">{newKey}</code></div>}
        <table className="grid">
          <thead><tr><th>Name</th><th>Role</th><th>Starts with</th><th>Created by</th><th>Last used</th><th>Action</th></tr></thead>
          <tbody>
            {keys.data?.apiKeys.map((x) => (
              <tr key={x.id}>
                <td className="strong">{x.name}</td><td>{x.role}</td><td className="mono">{x.prefix}…</td><td>{x.createdBy}</td><td className="small">{when(x.lastUsedAt)}</td>
                <td><button type="button" className="danger" onClick={() => void attempt(() => api('DELETE', `/api-keys/${x.id}`).then(keys.reload))}>Revoke</button></td>
              </tr>
            ))}
          </tbody>
        </table>
        <form className="filters" onSubmit={addKey}>
          <label>Name<input required value={k.name} onChange={(e) => setK({ ...k, name: e.target.value })} placeholder="deploy-script" /></label>
          <label>Role{roleSelect(k.role, (role) => setK({ ...k, role }))}</label>
          <button type="submit">Create key</button>
        </form>
      </Card>
    </div>
  );
}
