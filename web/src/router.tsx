import { createRootRoute, createRoute, createRouter, Link, useParams } from '@tanstack/react-router';
import { fraudAlertsSearch } from './fraud';
import { isLogsParam, type LogsSearch } from './logs';
import { AdminLogPage } from './pages/AdminLogPage';
import { AlertHistoryPage, AlertsPage, alertsSearch } from './pages/AlertsPage';
import { ApiKeysPage } from './pages/ApiKeysPage';
import { ArchivePage } from './pages/ArchivePage';
import { ChannelsPage } from './pages/ChannelsPage';
import { CheckFormPage } from './pages/CheckFormPage';
import { CheckPage } from './pages/CheckPage';
import { ChecksPage } from './pages/ChecksPage';
import { FraudAlertsPage } from './pages/FraudAlertsPage';
import { FraudCriteriaPage } from './pages/FraudCriteriaPage';
import { FraudCriterionPage } from './pages/FraudCriterionPage';
import { FraudListsPage } from './pages/FraudListsPage';
import { LogsPage } from './pages/LogsPage';
import { MaintenancePage } from './pages/MaintenancePage';
import { MembersPage } from './pages/MembersPage';
import { OrganisationsPage } from './pages/OrganisationsPage';
import { RuleEditorPage } from './pages/RuleEditorPage';
import { RulesPage } from './pages/RulesPage';
import { ShipmentsPage } from './pages/ShipmentsPage';
import { SilencesPage } from './pages/SilencesPage';
import { TrafficPage } from './pages/TrafficPage';
import { allValues, firstValue, parseSearch, stringifySearch } from './search-params';
import { Root } from './Shell';

/**
 * The dashboard's pages (TanStack Router, code-based: no generated route file). The server answers
 * every dashboard path with index.html; navigation never reloads the page, so the live connection
 * and the query cache survive moving between pages. These URLs are public: browser tests and the
 * links in alert e-mails use them.
 */

function NotFound() {
  return (
    <section className="card empty">
      <h2>Page not found</h2>
      <Link to="/checks">Go to the checks</Link>
    </section>
  );
}

const rootRoute = createRootRoute({ component: Root, notFoundComponent: NotFound });

/** `?tag=a&tag=b`: the checks that have all these tags. */
const checksSearch = (search: Record<string, unknown>): { tag?: string[] } => {
  const tag = allValues(search.tag);
  return tag.length > 0 ? { tag } : {};
};

const indexRoute = createRoute({ getParentRoute: () => rootRoute, path: '/', component: ChecksPage, validateSearch: checksSearch });
const checksRoute = createRoute({ getParentRoute: () => rootRoute, path: '/checks', component: ChecksPage, validateSearch: checksSearch });
const newCheckRoute = createRoute({ getParentRoute: () => rootRoute, path: '/checks/new', component: () => <CheckFormPage /> });
const checkRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/checks/$id',
  component: function CheckRoute() {
    const { id } = useParams({ from: '/checks/$id' });
    // Keyed: another check's page starts from scratch (its toggles, its "deleted" state).
    return <CheckPage key={id} id={id} />;
  },
});
const editCheckRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/checks/$id/edit',
  component: function EditCheckRoute() {
    const { id } = useParams({ from: '/checks/$id/edit' });
    return <CheckFormPage id={id} />;
  },
});
const channelsRoute = createRoute({ getParentRoute: () => rootRoute, path: '/channels', component: ChannelsPage });
const maintenanceRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/maintenance',
  component: MaintenancePage,
  /** `?check=<id>`: the add form starts with that check selected. */
  validateSearch: (search: Record<string, unknown>): { check?: string } => {
    const check = firstValue(search.check);
    return check ? { check } : {};
  },
});
const logsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/logs',
  component: LogsPage,
  // The URL's own parameters, as given (the router writes its validated search back into the
  // address on load: filters here would add every empty one); the page reads them as filters.
  validateSearch: (search: Record<string, unknown>): LogsSearch => {
    const known: LogsSearch = {};
    for (const [key, value] of Object.entries(search)) {
      const text = firstValue(value);
      if (isLogsParam(key) && text !== undefined) known[key] = text;
    }
    return known;
  },
});
const archiveRoute = createRoute({ getParentRoute: () => rootRoute, path: '/archive', component: ArchivePage });
const trafficRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/traffic',
  component: TrafficPage,
  /** `?range=24h`: one of the traffic ranges (an unknown one shows the default). */
  validateSearch: (search: Record<string, unknown>): { range?: string } => {
    const range = firstValue(search.range);
    return range ? { range } : {};
  },
});

const alertsRoute = createRoute({ getParentRoute: () => rootRoute, path: '/alerts', component: AlertsPage, validateSearch: alertsSearch });
const alertHistoryRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/alerts/$fingerprint',
  component: function AlertHistoryRoute() {
    const { fingerprint } = useParams({ from: '/alerts/$fingerprint' });
    return <AlertHistoryPage key={fingerprint} fingerprint={fingerprint} />;
  },
});
const rulesRoute = createRoute({ getParentRoute: () => rootRoute, path: '/rules', component: RulesPage });
const newRuleRoute = createRoute({ getParentRoute: () => rootRoute, path: '/rules/new', component: () => <RuleEditorPage /> });
const ruleRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/rules/$id',
  component: function RuleRoute() {
    const { id } = useParams({ from: '/rules/$id' });
    return <RuleEditorPage key={id} id={id} />;
  },
});
// Fraud (issue 10): the inbox, the criteria and their editor, the lists, and the shipments upload.
const fraudAlertsRoute = createRoute({ getParentRoute: () => rootRoute, path: '/fraud/alerts', component: FraudAlertsPage, validateSearch: fraudAlertsSearch });
const fraudCriteriaRoute = createRoute({ getParentRoute: () => rootRoute, path: '/fraud/criteria', component: FraudCriteriaPage });
const newFraudCriterionRoute = createRoute({ getParentRoute: () => rootRoute, path: '/fraud/criteria/new', component: () => <FraudCriterionPage /> });
const fraudCriterionRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/fraud/criteria/$id',
  component: function FraudCriterionRoute() {
    const { id } = useParams({ from: '/fraud/criteria/$id' });
    return <FraudCriterionPage key={id} id={id} />;
  },
});
const fraudListsRoute = createRoute({ getParentRoute: () => rootRoute, path: '/fraud/lists', component: FraudListsPage });
const shipmentsRoute = createRoute({ getParentRoute: () => rootRoute, path: '/shipments', component: ShipmentsPage });
const silencesRoute = createRoute({ getParentRoute: () => rootRoute, path: '/silences', component: SilencesPage });
const orgsRoute = createRoute({ getParentRoute: () => rootRoute, path: '/orgs', component: OrganisationsPage });
const orgMembersRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/orgs/$id/members',
  component: function OrgMembersRoute() {
    const { id } = useParams({ from: '/orgs/$id/members' });
    return <MembersPage key={id} orgId={id} />;
  },
});
const membersRoute = createRoute({ getParentRoute: () => rootRoute, path: '/members', component: () => <MembersPage /> });
const apiKeysRoute = createRoute({ getParentRoute: () => rootRoute, path: '/api-keys', component: ApiKeysPage });
const adminLogRoute = createRoute({ getParentRoute: () => rootRoute, path: '/admin-log', component: AdminLogPage });
/** Rendered by Root itself (signed in or not); the route only makes the path known to the router. */
const acceptInvitationRoute = createRoute({ getParentRoute: () => rootRoute, path: '/accept-invitation', component: () => null });

const routeTree = rootRoute.addChildren([
  indexRoute,
  checksRoute,
  newCheckRoute,
  checkRoute,
  editCheckRoute,
  channelsRoute,
  maintenanceRoute,
  logsRoute,
  archiveRoute,
  trafficRoute,
  alertsRoute,
  alertHistoryRoute,
  rulesRoute,
  newRuleRoute,
  ruleRoute,
  silencesRoute,
  fraudAlertsRoute,
  fraudCriteriaRoute,
  newFraudCriterionRoute,
  fraudCriterionRoute,
  fraudListsRoute,
  shipmentsRoute,
  orgsRoute,
  orgMembersRoute,
  membersRoute,
  apiKeysRoute,
  adminLogRoute,
  acceptInvitationRoute,
]);

export const router = createRouter({ routeTree, parseSearch, stringifySearch, scrollRestoration: false });

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}
