import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useState } from 'react';
import { loadErrorMessage } from '../alerts';
import { errorMessage } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { RelativeTime } from '../components/RelativeTime';
import { TableHead } from '../components/TableHead';
import { formatDateTime } from '../format';
import { alertState, filterOfSearch, fraudApi, INBOX_MAX, INBOX_PAGE, valueText, VERDICT_LABEL, type FraudAlertsSearch, type FraudAlertView, type FraudVerdict, type ShipmentView } from '../fraud';
import { criteriaQuery, fraudAlertQuery, fraudAlertsQuery } from '../fraud-queries';
import { useAction } from '../hooks';
import { FraudTabs } from './FraudTabs';

const STATUSES: { id: NonNullable<FraudAlertsSearch['status']>; label: string }[] = [
  { id: 'all', label: 'All' },
  { id: 'open', label: 'Open' },
  { id: 'acknowledged', label: 'Acknowledged' },
  { id: 'reviewed', label: 'Reviewed' },
];

function StateBadge({ alert }: { alert: FraudAlertView }) {
  const state = alertState(alert);
  return (
    <span className={`alert-state fraud-${state}${alert.verdict ? ` verdict-${alert.verdict}` : ''}`} data-state={state}>
      {alert.verdict ? VERDICT_LABEL[alert.verdict] : state}
    </span>
  );
}

/** The shipment's fields, those the criterion read first. */
function ShipmentFields({ shipment, read }: { shipment: ShipmentView; read: ReadonlySet<string> }) {
  const entries = Object.entries(shipment).filter(([, v]) => v !== undefined && v !== null && !(typeof v === 'object' && Object.keys(v as object).length === 0));
  entries.sort(([a], [b]) => Number(read.has(b)) - Number(read.has(a)));
  return (
    <dl className="shipment-fields">
      {entries.map(([k, v]) => (
        <div key={k} className={read.has(k) ? 'read' : undefined}>
          <dt className="mono">{k}</dt>
          <dd className="mono">{valueText(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

/** One alert opened: the values that matched, the shipment, acknowledge, and the verdict with a note. */
function AlertDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const client = useQueryClient();
  const detail = useQuery(fraudAlertQuery(id));
  const [note, setNote] = useState('');
  const action = useAction();
  const after = async () => {
    await client.invalidateQueries({ queryKey: ['alerts', 'fraud'] });
    void client.invalidateQueries({ queryKey: criteriaQuery.queryKey });
  };
  const ack = () => void action.run(async () => (await fraudApi.acknowledge(id), await after()));
  const judge = (verdict: FraudVerdict) => void action.run(async () => (await fraudApi.verdict(id, verdict, note.trim()), await after()));

  if (detail.error) return <ErrorNote message={errorMessage(detail.error)} />;
  const data = detail.data;
  if (!data) return <p className="muted">Loading…</p>;
  const a = data.alert;
  // Values are keyed as the expression read them (shipment.x, velocity.count(...)); the shipment's own fields by name.
  const read = new Set(Object.keys(a.values).flatMap((k) => (k.startsWith('shipment.') ? [k.slice('shipment.'.length)] : [])));
  return (
    <aside className="card fraud-alert-detail" aria-label="Alert" data-alert-id={a.id}>
      <header className="page-head">
        <h2>
          <span className="mono">{a.external_id}</span> matched {a.criterion_name} <span className="muted">v{a.criterion_version}</span>
        </h2>
        <button type="button" className="button small" onClick={onClose}>
          Close
        </button>
      </header>
      <p>
        <StateBadge alert={a} /> <span className={`severity severity-${a.severity}`}>{a.severity}</span>
        {a.shadow && <span className="tag">shadow</span>} · matched {formatDateTime(a.matched_at)} · shipment created {formatDateTime(a.shipment_created_at)}
      </p>
      {a.acknowledged_at && (
        <p className="muted acked">
          Acknowledged {formatDateTime(a.acknowledged_at)}
          {a.acknowledged_by ? ` by ${a.acknowledged_by}` : ''}
        </p>
      )}
      {a.verdict && (
        <p className="verdict" data-verdict={a.verdict}>
          Verdict: <strong>{VERDICT_LABEL[a.verdict]}</strong>
          {a.verdict_by ? ` by ${a.verdict_by}` : ''}
          {a.verdict_at ? `, ${formatDateTime(a.verdict_at)}` : ''}
          {a.verdict_note ? ` — ${a.verdict_note}` : ''}
        </p>
      )}
      <h3>Values that matched</h3>
      <table className="matched-values" aria-label="Values that matched">
        <tbody>
          {Object.entries(a.values).map(([k, v]) => (
            <tr key={k}>
              <th className="mono">{k}</th>
              <td className="mono">{valueText(v)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Shipment</h3>
      {data.shipment ? <ShipmentFields shipment={data.shipment} read={read} /> : <p className="muted">The shipment is no longer stored.</p>}
      <div className="verdict-form">
        <label htmlFor="verdict-note">Note</label>
        <textarea id="verdict-note" rows={2} value={note} maxLength={2000} onChange={(e) => setNote(e.target.value)} placeholder="optional: why" />
        <div className="form-actions">
          {!a.acknowledged_at && !a.verdict && (
            <button type="button" className="button" disabled={action.busy} onClick={ack}>
              Acknowledge
            </button>
          )}
          <button type="button" className="button danger" disabled={action.busy} onClick={() => judge('fraud')}>
            Mark as fraud
          </button>
          <button type="button" className="button" disabled={action.busy} onClick={() => judge('false_positive')}>
            False positive
          </button>
          <button type="button" className="button" disabled={action.busy} onClick={() => judge('benign')}>
            Benign
          </button>
        </div>
      </div>
      <ErrorNote message={action.error?.message} />
    </aside>
  );
}

/** The organisation's fraud alerts: filter, open one, acknowledge, judge. Refreshed live and by polling. */
export function FraudAlertsPage() {
  const search = useSearch({ from: '/fraud/alerts' });
  const navigate = useNavigate({ from: '/fraud/alerts' });
  const [limit, setLimit] = useState(INBOX_PAGE);
  const alerts = useQuery(fraudAlertsQuery(filterOfSearch(search), limit));
  const criteria = useQuery(criteriaQuery);
  const setSearch = (patch: Partial<FraudAlertsSearch>) => void navigate({ search: (s) => ({ ...s, ...patch }) });
  const status = search.status ?? 'all';

  return (
    <section>
      <FraudTabs />
      <header className="page-head">
        <h1>Fraud alerts</h1>
      </header>
      <div className="filters-row" role="group" aria-label="Filters">
        <div className="chips" role="group" aria-label="Status">
          {STATUSES.map((s) => (
            <button type="button" key={s.id} className={`chip${s.id === status ? ' chip-on' : ''}`} aria-pressed={s.id === status} onClick={() => setSearch({ status: s.id === 'all' ? undefined : s.id })}>
              {s.label}
            </button>
          ))}
        </div>
        <label>
          Criterion{' '}
          <select aria-label="Criterion" value={search.criterion ?? ''} onChange={(e) => setSearch({ criterion: e.target.value || undefined })}>
            <option value="">all</option>
            {criteria.data?.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Verdict{' '}
          <select aria-label="Verdict" value={search.verdict ?? ''} onChange={(e) => setSearch({ verdict: (e.target.value || undefined) as FraudVerdict | undefined })}>
            <option value="">any</option>
            {(Object.keys(VERDICT_LABEL) as FraudVerdict[]).map((v) => (
              <option key={v} value={v}>
                {VERDICT_LABEL[v]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Shadow{' '}
          <select aria-label="Shadow" value={search.shadow ?? 'false'} onChange={(e) => setSearch({ shadow: e.target.value === 'false' ? undefined : (e.target.value as 'true' | 'all') })}>
            <option value="false">live matches</option>
            <option value="true">shadow matches only</option>
            <option value="all">both</option>
          </select>
        </label>
      </div>
      <ErrorNote message={loadErrorMessage(alerts.error, 'Fraud alerts')} />
      {search.open && <AlertDetail key={search.open} id={search.open} onClose={() => setSearch({ open: undefined })} />}
      {alerts.data?.alerts.length === 0 && (
        <div className="card empty">
          <h2>No fraud alerts</h2>
          <p className="muted">
            Matches of your <Link to="/fraud/criteria">criteria</Link> show here as shipments arrive.
          </p>
        </div>
      )}
      {alerts.data && alerts.data.alerts.length > 0 && (
        <table className="fraud-alerts-table">
          <TableHead columns={['Matched', 'Shipment', 'Criterion', 'Severity', 'Values', 'State']} />
          <tbody>
            {alerts.data.alerts.map((a) => (
              <tr key={a.id} data-alert-id={a.id} data-state={alertState(a)} className={a.id === search.open ? 'selected' : undefined}>
                <td>
                  <RelativeTime iso={a.matched_at} past />
                </td>
                <td className="mono">{a.external_id}</td>
                <td>
                  {a.criterion_name} <span className="muted">v{a.criterion_version}</span>
                  {a.shadow && <span className="tag">shadow</span>}
                </td>
                <td>
                  <span className={`severity severity-${a.severity}`}>{a.severity}</span>
                </td>
                <td className="mono values">
                  {Object.entries(a.values)
                    .slice(0, 3)
                    .map(([k, v]) => `${k.replace(/^shipment\./, '')}=${valueText(v)}`)
                    .join(' · ')}
                </td>
                <td>
                  <StateBadge alert={a} />
                </td>
                <td className="alert-actions">
                  <button type="button" className="button small" onClick={() => setSearch({ open: a.id })}>
                    Open
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {alerts.data?.next_before && (
        <p className="muted">
          {limit < INBOX_MAX ? (
            <button type="button" className="button small" onClick={() => setLimit((l) => Math.min(INBOX_MAX, l + INBOX_PAGE))}>
              Show more
            </button>
          ) : (
            `The ${INBOX_MAX} latest are shown: filter by criterion, status or verdict to see older ones.`
          )}
        </p>
      )}
    </section>
  );
}
