// The dashboard's shell: checks the session, shows the sign-in page or the navigation and
// the page for the current URL.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, setUnauthorizedHandler } from './api.ts';
import { Link, match, navigate, Redirect, useLocation } from './router.tsx';
import { SessionContext, sessionFor } from './session.tsx';
import type { Principal, SignedIn } from './types.ts';
import { SignIn } from './pages/sign-in.tsx';
import { DeliveriesPage } from './pages/deliveries.tsx';
import { NewDeliveryPage } from './pages/new-delivery.tsx';
import { DeliveryPage } from './pages/delivery.tsx';
import { QuarantinePage } from './pages/quarantine.tsx';
import { EnginePage } from './pages/engine.tsx';
import { AdminPage } from './pages/admin.tsx';
import { StreamsPage } from './pages/streams.tsx';
import { StreamPage } from './pages/stream.tsx';
import { WebhooksPage } from './pages/webhooks.tsx';

const NAV = [
  { to: '/deliveries', label: 'Deliveries' },
  { to: '/streams', label: 'Streams' },
  { to: '/quarantine', label: 'Quarantine' },
  { to: '/engine', label: 'Delivery engine' },
];

export function App() {
  const [user, setUser] = useState<Principal | null | undefined>(undefined);
  const { path } = useLocation();

  useEffect(() => {
    setUnauthorizedHandler(() => setUser(null));
    api<SignedIn>('GET', '/auth/me').then((r) => setUser(r.user), () => setUser(null));
  }, []);

  const signOut = useCallback(() => {
    api('POST', '/auth/logout').finally(() => {
      setUser(null);
      navigate('/signin');
    });
  }, []);
  const session = useMemo(() => (user ? sessionFor(user, signOut) : null), [user, signOut]);

  if (user === undefined) return <div className="boot">Loading…</div>;
  if (!session) {
    return (
      <SignIn
        onSignedIn={(u) => {
          setUser(u);
          if (path === '/signin' || path === '/') navigate('/deliveries', true);
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <div className="shell">
        <nav className="sidebar" aria-label="Main">
          <div className="brand">
            <span className="logo" aria-hidden="true">
              ✉
            </span>
            Estafeta
          </div>
          <ul>
            {[...NAV, ...(session.can('admin') ? [{ to: '/webhooks', label: 'Webhooks' }, { to: '/admin', label: 'Users & API keys' }] : [])].map((item) => (
              <li key={item.to}>
                <Link to={item.to} aria-current={path.startsWith(item.to) ? 'page' : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
          <div className="whoami">
            <div>
              <strong data-testid="user-name">{session.user.name}</strong>
              <span className="role">{session.user.role}</span>
            </div>
            <button type="button" className="link" onClick={signOut}>
              Sign out
            </button>
          </div>
        </nav>
        <main id="main" tabIndex={-1}>
          <Page path={path} />
        </main>
      </div>
    </SessionContext.Provider>
  );
}

function Page({ path }: { path: string }) {
  if (path === '/' || path === '/signin') return <Redirect to="/deliveries" />;
  if (path === '/deliveries') return <DeliveriesPage />;
  if (path === '/deliveries/new') return <NewDeliveryPage />;
  let m = match('/deliveries/:id', path) ?? match('/deliveries/:id/:tab', path);
  if (m) return <DeliveryPage id={Number(m.id)} tab={m.tab ?? 'overview'} />;
  m = match('/deliveries/:id/logs/:logId', path);
  if (m) return <DeliveryPage id={Number(m.id)} tab="logs" logId={Number(m.logId)} />;
  if (path === '/streams') return <StreamsPage />;
  m = match('/streams/:id', path) ?? match('/streams/:id/:tab', path);
  if (m) return <StreamPage id={Number(m.id)} tab={m.tab ?? 'overview'} />;
  m = match('/streams/:id/logs/:logId', path);
  if (m) return <StreamPage id={Number(m.id)} tab="logs" logId={Number(m.logId)} />;
  if (path === '/webhooks') return <WebhooksPage />;
  m = match('/webhooks/:id', path);
  if (m) return <WebhooksPage id={Number(m.id)} />;
  if (path === '/quarantine') return <QuarantinePage />;
  if (path === '/engine') return <EnginePage />;
  if (path === '/admin') return <AdminPage />;
  return (
    <div className="page">
      <h1>Not found</h1>
      <p>
        Nothing at {path}. <Link to="/deliveries">Back to the deliveries</Link>
      </p>
    </div>
  );
}
