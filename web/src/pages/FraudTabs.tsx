import { Link, useRouterState } from '@tanstack/react-router';

const TABS = [
  { to: '/fraud/alerts', label: 'Inbox' },
  { to: '/fraud/criteria', label: 'Criteria' },
  { to: '/fraud/lists', label: 'Lists' },
  { to: '/shipments', label: 'Shipments' },
] as const;

/** The fraud section's own menu (the main menu has one "Fraud" entry). */
export function FraudTabs() {
  const path = useRouterState({ select: (s) => s.location.pathname });
  return (
    <nav className="chips tabs fraud-tabs" aria-label="Fraud">
      {TABS.map((t) => (
        <Link key={t.to} to={t.to} className={`chip${path.startsWith(t.to) ? ' chip-on' : ''}`} aria-current={path.startsWith(t.to) ? 'page' : undefined} activeProps={{}}>
          {t.label}
        </Link>
      ))}
    </nav>
  );
}
