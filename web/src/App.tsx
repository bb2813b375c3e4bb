import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, errorMessage, onUnauthorized, type Me } from './api';
import { useLiveConnection, useLiveState } from './live';
import { ArchivePage } from './pages/ArchivePage';
import { ChannelsPage } from './pages/ChannelsPage';
import { CheckFormPage } from './pages/CheckFormPage';
import { CheckPage } from './pages/CheckPage';
import { ChecksPage } from './pages/ChecksPage';
import { LoginPage } from './pages/LoginPage';
import { LogsPage } from './pages/LogsPage';
import { MaintenancePage } from './pages/MaintenancePage';
import { TrafficPage } from './pages/TrafficPage';
import { Link, match, navigate, useLocation } from './router';

function Page({ path }: { path: string }) {
  if (path === '/' || path === '/checks') return <ChecksPage />;
  if (path === '/checks/new') return <CheckFormPage />;
  const edit = match('/checks/:id/edit', path);
  if (edit?.id) return <CheckFormPage id={edit.id} />;
  const check = match('/checks/:id', path);
  if (check?.id) return <CheckPage key={check.id} id={check.id} />;
  if (path === '/channels') return <ChannelsPage />;
  if (path === '/maintenance') return <MaintenancePage />;
  if (path === '/logs') return <LogsPage />;
  if (path === '/archive') return <ArchivePage />;
  if (path === '/traffic') return <TrafficPage />;
  return (
    <section className="card empty">
      <h2>Page not found</h2>
      <Link href="/checks">Go to the checks</Link>
    </section>
  );
}

function LiveIndicator() {
  const { status } = useLiveState();
  const label = status === 'live' ? 'live' : status === 'connecting' ? 'connecting…' : 'offline, retrying';
  return (
    <span className={`live live-${status}`} title="Updates arrive without reloading while this is live">
      <span className="live-dot" aria-hidden="true" /> {label}
    </span>
  );
}

/** The main menu; a page belongs to the first entry its path starts with (`/` is the checks). */
const NAV = [
  { href: '/checks', label: 'Checks' },
  { href: '/channels', label: 'Channels' },
  { href: '/maintenance', label: 'Maintenance' },
  { href: '/logs', label: 'Logs' },
  { href: '/archive', label: 'Archive' },
  { href: '/traffic', label: 'Traffic' },
] as const;

function Shell({ me, onLogout }: { me: Me; onLogout: () => void }) {
  const { path } = useLocation();
  const current = NAV.find((item) => path.startsWith(item.href))?.href ?? '/checks';
  const logout = async () => {
    try {
      await api.logout();
    } finally {
      onLogout();
    }
  };
  return (
    <div className="shell">
      <header className="topbar">
        <Link href="/checks" className="brand">
          <span className="logo-dot" aria-hidden="true" /> Vigil
        </Link>
        <span className="org" title="Organisation">
          {me.org.name}
        </span>
        <nav aria-label="Main">
          {NAV.map(({ href, label }) => (
            <Link key={href} href={href} className={href === current ? 'active' : undefined} aria-current={href === current ? 'page' : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <span className="spacer" />
        <LiveIndicator />
        {me.user && <span className="muted user">{me.user.email}</span>}
        <button type="button" className="button small" onClick={() => void logout()}>
          Log out
        </button>
      </header>
      <main className="content">
        <Page path={path} />
      </main>
    </div>
  );
}

export function App() {
  // undefined: still asking the server; null: not logged in.
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<string>();

  const loadMe = useCallback(() => {
    setError(undefined);
    api.me().then(setMe, (e: unknown) => {
      if (e instanceof ApiError && e.status === 401) setMe(null);
      else setError(errorMessage(e));
    });
  }, []);

  useEffect(() => {
    loadMe();
    return onUnauthorized(() => setMe(null));
  }, [loadMe]);

  useLiveConnection(Boolean(me));

  if (error && me === undefined) {
    return (
      <main className="login">
        <div className="card login-card">
          <p className="error-note">{error}</p>
          <button type="button" className="button" onClick={loadMe}>
            Try again
          </button>
        </div>
      </main>
    );
  }
  if (me === undefined) return null;
  if (me === null)
    return (
      <LoginPage
        onLoggedIn={() => {
          if (window.location.pathname === '/') navigate('/checks', { replace: true });
          loadMe();
        }}
      />
    );
  return <Shell me={me} onLogout={() => setMe(null)} />;
}
