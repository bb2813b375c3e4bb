import { useQuery } from '@tanstack/react-query';
import { watchersApi, watcherOrgs } from '../watchers';
import { ErrorNote } from './ErrorNote';
import { RelativeTime } from './RelativeTime';

/**
 * The shipment table watchers and their state (read-only: they are configured by API or
 * `vigil watcher add`, which check the table in the watched database). Refreshed every 5 s.
 */
export function ShipmentWatchers({ orgNames }: { orgNames: Map<string, string> }) {
  const watchers = useQuery({ queryKey: ['shipment-watchers'], queryFn: watchersApi.list, refetchInterval: 5000 });
  return (
    <section className="card" aria-labelledby="watchers-title">
      <h2 id="watchers-title">Shipment table watchers</h2>
      <p className="muted">
        Tables of the platform&apos;s PostgreSQL read into organisations&apos; shipments. Add one with <code>vigil watcher add</code> or{' '}
        <code>POST /api/v1/shipment-watchers</code>.
      </p>
      <ErrorNote message={watchers.error?.message} />
      {watchers.data?.length === 0 && <p className="muted">No watcher.</p>}
      {watchers.data && watchers.data.length > 0 && (
        <table className="orgs-table watchers-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Table</th>
              <th>Organisations</th>
              <th>Stored</th>
              <th>Refused</th>
              <th>Lag</th>
              <th>Last read</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {watchers.data.map((w) => (
              <tr key={w.id} data-watcher-id={w.id}>
                <td>
                  {w.name} {!w.enabled && <span className="muted">(disabled)</span>}
                </td>
                <td>
                  <code>{w.table}</code>
                </td>
                <td>{watcherOrgs(w, orgNames)}</td>
                <td>{w.state.rows_stored}</td>
                <td title={w.recent_rejections[0] ? `latest: key ${w.recent_rejections[0].key}, ${w.recent_rejections[0].field}: ${w.recent_rejections[0].message}` : undefined}>{w.state.rows_rejected}</td>
                <td>{w.state.lag_seconds > 0 ? `${w.state.lag_seconds} s, ~${w.state.lag_rows} rows` : 'caught up'}</td>
                <td>{w.state.last_read_at ? <RelativeTime iso={w.state.last_read_at} past /> : <span className="muted">never</span>}</td>
                <td className={w.state.last_error ? 'error' : undefined}>{w.state.last_error ? `${w.state.last_error} (${w.state.failures}×)` : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
