import { useQuery } from '@tanstack/react-query';
import { adminApi } from '../admin';
import { ErrorNote } from '../components/ErrorNote';
import { RelativeTime } from '../components/RelativeTime';
import { meQuery } from '../queries';

const detailText = (details: Record<string, unknown>) =>
  Object.entries(details)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');

/** Who created, changed or removed what: the organisation's own record, or every organisation's for platform administrators. */
export function AdminLogPage() {
  const me = useQuery(meQuery).data;
  const actions = useQuery({ queryKey: ['admin-actions'], queryFn: () => adminApi.adminActions() });
  return (
    <section>
      <header className="page-head">
        <h1>Admin log</h1>
        <p className="muted">
          {me?.platform_admin ? 'Every organisation' : 'This organisation'}: organisations, members, roles, invitations and API keys created, changed or removed. Newest first.
        </p>
      </header>
      <ErrorNote message={actions.error?.message} />
      {actions.data && actions.data.length === 0 && <p className="muted">Nothing recorded yet.</p>}
      {actions.data && actions.data.length > 0 && (
        <table className="admin-log-table">
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>What</th>
              <th>On</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {actions.data.map((a) => (
              <tr key={a.id} data-action={a.action}>
                <td>
                  <RelativeTime iso={a.at} past />
                </td>
                <td>{a.actor}</td>
                <td className="mono">{a.action}</td>
                <td>{a.target}</td>
                <td className="muted">{detailText(a.details)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
