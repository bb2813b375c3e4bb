import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, Outlet, useNavigate, useRouterState } from '@tanstack/react-router';
import { useEffect } from 'react';
import { api, errorMessage, onUnauthorized, type Me } from './api';
import { useLiveConnection, useLiveState } from './live';
import { AcceptInvitationPage } from './pages/AcceptInvitationPage';
import { LoginPage } from './pages/LoginPage';
import { forgetSession, meQuery, useLiveCache } from './queries';

function LiveIndicator() {
  const { status } = useLiveState();
  const label = status === 'live' ? 'live' : status === 'connecting' ? 'connecting…' : 'offline, retrying';
  return (
    <span className={`live live-${status}`} title="Updates arrive without reloading while this is live">
      <span className="live-dot" aria-hidden="true" /> {label}
    </span>
  );
}

/**
 * The main menu; a page belongs to the first entry its path starts with (`match`, else `to`; `/` is
 * the checks). "Fraud" covers the fraud pages and the shipments upload (they have their own tabs).
 */
const NAV: readonly { to: string; label: string; match?: readonly string[] }[] = [
  { to: '/checks', label: 'Checks' },
  { to: '/alerts', label: 'Alerts' },
  { to: '/rules', label: 'Rules' },
  { to: '/silences', label: 'Silences' },
  { to: '/channels', label: 'Channels' },
  { to: '/maintenance', label: 'Maintenance' },
  { to: '/logs', label: 'Logs' },
  { to: '/archive', label: 'Archive' },
  { to: '/traffic', label: 'Traffic' },
  { to: '/fraud/alerts', label: 'Fraud', match: ['/fraud', '/shipments'] },
] as const;

/** Administration, for whom it concerns: an organisation's admins, and platform administrators. */
const ADMIN_NAV = [
  { to: '/members', label: 'Members', show: (me: Me) => me.role === 'admin' },
  { to: '/api-keys', label: 'API keys', show: (me: Me) => me.role === 'admin' },
  { to: '/admin-log', label: 'Admin log', show: (me: Me) => me.role === 'admin' || me.platform_admin },
  { to: '/orgs', label: 'Organisations', show: (me: Me) => me.platform_admin },
] as const;

function Shell({ me }: { me: Me }) {
  const client = useQueryClient();
  const path = useRouterState({ select: (state) => state.location.pathname });
  const nav = [...NAV, ...ADMIN_NAV.filter((item) => item.show(me))];
  const current = nav.find((item) => ('match' in item && item.match ? item.match : [item.to]).some((prefix) => path.startsWith(prefix)))?.to ?? '/checks';
  useLiveCache();
  const logout = async () => {
    try {
      await api.logout();
    } finally {
      forgetSession(client);
    }
  };
  return (
    <div className="shell">
      <header className="topbar">
        <Link to="/checks" className="brand">
          <span className="logo-dot" aria-hidden="true" /> Vigil
        </Link>
        <span className="org" title="Organisation">
          {me.org.name}
        </span>
        <nav aria-label="Main">
          {nav.map(({ to, label }) => (
            // The active entry is ours (`/` counts as the checks), not the router's exact-match one.
            <Link key={to} to={to} className={to === current ? 'active' : undefined} aria-current={to === current ? 'page' : undefined} activeProps={{}}>
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
        <Outlet />
      </main>
    </div>
  );
}

/** The root of every page: the login form while nobody is logged in (on any URL), else the shell. */
export function Root() {
  const client = useQueryClient();
  const navigate = useNavigate();
  const me = useQuery(meQuery);

  // Any 401 (the session expired or was revoked) brings the login form back, on the same URL.
  useEffect(() => onUnauthorized(() => forgetSession(client)), [client]);
  useLiveConnection(Boolean(me.data));
  const path = useRouterState({ select: (state) => state.location.pathname });

  // An invitation link opens its own page, signed in or not: accepting signs the new member in.
  if (path === '/accept-invitation')
    return (
      <AcceptInvitationPage
        onAccepted={() => {
          void navigate({ to: '/checks', replace: true });
          void client.resetQueries();
        }}
      />
    );

  if (me.error && me.data === undefined) {
    return (
      <main className="login">
        <div className="card login-card">
          <p className="error-note">{errorMessage(me.error)}</p>
          <button type="button" className="button" onClick={() => void me.refetch()}>
            Try again
          </button>
        </div>
      </main>
    );
  }
  if (me.data === undefined) return null;
  if (me.data === null)
    return (
      <LoginPage
        onLoggedIn={() => {
          if (window.location.pathname === '/') void navigate({ to: '/checks', replace: true });
          void me.refetch();
        }}
      />
    );
  return <Shell me={me.data} />;
}
