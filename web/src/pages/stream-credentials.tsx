// A stream's SMTP credentials (admins): applications that speak SMTP submit through them.
// Create one (its password is shown once, in a dialog with a Copy button), list them (never
// a password), revoke one (a session signed in with it is refused at its next message).
import { useState } from 'react';
import { api, get, post } from '../api.ts';
import { SecretDialog } from '../components/secret-dialog.tsx';
import { Card, Dialog, Empty, ErrorBanner } from '../components/ui.tsx';
import { when } from '../format.ts';
import { useLoad } from '../live.ts';
import type { Stream } from '../types.ts';

// The answer of routes/smtp-credentials.ts (its schema is not in a schema file the dashboard can read).
interface Credential {
  id: number;
  streamId: number;
  username: string;
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export function StreamCredentials({ s }: { s: Stream }) {
  const list = useLoad(() => get<{ credentials: Credential[] }>(`/streams/${s.id}/smtp-credentials`), [s.id]);
  const [made, setMade] = useState<(Credential & { password: string }) | null>(null);
  const [revoking, setRevoking] = useState<Credential | null>(null);
  const [error, setError] = useState<string | null>(null);
  const create = async () => {
    setError(null);
    try {
      setMade(await post<Credential & { password: string }>(`/streams/${s.id}/smtp-credentials`));
      list.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const revoke = async (c: Credential) => {
    setError(null);
    try {
      await api('DELETE', `/streams/${s.id}/smtp-credentials/${c.id}`);
      list.reload();
    } catch (e) {
      setError((e as Error).message);
    }
    setRevoking(null);
  };
  return (
    <Card
      title="SMTP credentials"
      actions={
        <button type="button" className="primary" data-action="create-credential" onClick={() => void create()}>
          Create credentials
        </button>
      }
    >
      <p className="small muted">Applications that speak SMTP submit this stream's messages with these (STARTTLS, then AUTH PLAIN or LOGIN). Each message gets its delivery log, as one sent through the API.</p>
      <ErrorBanner error={error ?? list.error} />
      {list.data && !list.data.credentials.length ? (
        <Empty>No SMTP credentials yet: create one for each application that sends through SMTP.</Empty>
      ) : (
        <table className="grid" data-table="credentials">
          <thead>
            <tr>
              <th>User name</th>
              <th>Created</th>
              <th>Created by</th>
              <th>Last used</th>
              <th className="actions-col">Action</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.credentials.map((c) => (
              <tr key={c.id} data-credential={c.id}>
                <td className="mono">{c.username}</td>
                <td className="small">{when(c.createdAt)}</td>
                <td>{c.createdBy}</td>
                <td className="small">{c.lastUsedAt ? when(c.lastUsedAt) : 'never'}</td>
                <td className="actions-col">
                  <button type="button" className="danger" onClick={() => setRevoking(c)}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <SecretDialog open={made !== null} title="SMTP credentials created" label="Password" secret={made?.password ?? ''} onClose={() => setMade(null)}>
        <dl className="pairs">
          <dt>User name</dt>
          <dd className="mono" data-testid="smtp-username">{made?.username}</dd>
          <dt>Stream</dt>
          <dd>{s.name}</dd>
        </dl>
      </SecretDialog>
      <Dialog
        open={revoking !== null}
        title="Revoke SMTP credentials"
        onClose={() => setRevoking(null)}
        footer={
          <>
            <button type="button" onClick={() => setRevoking(null)}>
              Cancel
            </button>
            <button type="button" className="danger" data-action="confirm-revoke" onClick={() => revoking && void revoke(revoking)}>
              Revoke
            </button>
          </>
        }
      >
        <p>
          Applications signing in as <code className="mono">{revoking?.username}</code> are refused from now on, a session already signed in at its next message.
        </p>
      </Dialog>
    </Card>
  );
}
