import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useState } from 'react';
import type { AlertInstanceState, AlertSource } from '@contracts/alerting.js';
import { alertsApi, groupAlerts, loadErrorMessage, ownLabels, silenceMatchersFor, SOURCE_LABEL, valueVsThreshold, type AlertFilter, type AlertView, type RuleAlerts } from '../alerts';
import { errorMessage } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { RelativeTime } from '../components/RelativeTime';
import { SilenceForm } from '../components/SilenceForm';
import { formatDateTime, humanizeInstants } from '../format';
import { useAction } from '../hooks';
import { alertHistoryQuery, alertsQuery, silencesQuery } from '../queries';
import { TableHead } from '../components/TableHead';

export interface AlertsSearch {
  state?: AlertInstanceState | 'all';
  source?: AlertSource;
}

const STATES: { id: NonNullable<AlertsSearch['state']>; label: string }[] = [
  { id: 'firing', label: 'Firing' },
  { id: 'pending', label: 'Pending' },
  { id: 'resolved', label: 'Resolved' },
  { id: 'all', label: 'All' },
];
const SOURCES: (AlertSource | undefined)[] = [undefined, 'log', 'job'];

/** The `state` and `source` search parameters, as given or left out (firing is the default view). */
export function alertsSearch(search: Record<string, unknown>): AlertsSearch {
  const out: AlertsSearch = {};
  if (typeof search.state === 'string' && STATES.some((s) => s.id === search.state)) out.state = search.state as AlertsSearch['state'];
  if (search.source === 'job' || search.source === 'log') out.source = search.source;
  return out;
}

export function AlertStateBadge({ state }: { state: AlertView['state'] }) {
  return (
    <span className={`alert-state alert-${state}`} data-state={state}>
      {state}
    </span>
  );
}

const SeverityBadge = ({ severity }: { severity: AlertView['severity'] }) => <span className={`severity severity-${severity}`}>{severity}</span>;

export function Labels({ labels }: { labels: Record<string, string> }) {
  const entries = Object.entries(labels);
  if (entries.length === 0) return <span className="muted">—</span>;
  return (
    <span className="labels">
      {entries.map(([k, v]) => (
        <span key={k} className="label-chip mono">
          {k}={v}
        </span>
      ))}
    </span>
  );
}

/** Where the rule or check behind an instance is edited. */
function RuleLink({ rule }: { rule: Pick<RuleAlerts, 'source' | 'ruleId' | 'ruleName'> }) {
  if (rule.source === 'log') return <Link to="/rules/$id" params={{ id: rule.ruleId }}>{rule.ruleName}</Link>;
  if (rule.source === 'job') return <Link to="/checks/$id" params={{ id: rule.ruleId }}>{rule.ruleName}</Link>;
  return <>{rule.ruleName}</>;
}

function AlertRow({ alert, onSilenced }: { alert: AlertView; onSilenced: () => void }) {
  const client = useQueryClient();
  const ack = useAction();
  const [silencing, setSilencing] = useState(false);
  const acknowledge = () =>
    void ack.run(async () => {
      await alertsApi.ack(alert.fingerprint);
      await client.invalidateQueries({ queryKey: ['alerts'] });
    });
  return (
    <>
      <tr className={`alert-row alert-row-${alert.state}`} data-fingerprint={alert.fingerprint} data-state={alert.state}>
        <td>
          <AlertStateBadge state={alert.state} />
          {alert.silenced_by.length > 0 && (
            <span className="tag silenced-tag" title={`Silenced by ${alert.silenced_by.length} silence(s) or mute window(s)`}>
              silenced
            </span>
          )}
        </td>
        <td>
          <SeverityBadge severity={alert.severity} />
        </td>
        <td>
          <Labels labels={ownLabels(alert)} />
          {alert.summary && <p className="alert-summary">{alert.summary}</p>}
        </td>
        <td className="mono alert-value">{valueVsThreshold(alert)}</td>
        <td>
          <RelativeTime iso={alert.since} past />
        </td>
        <td className="alert-actions">
          {alert.acknowledged_at ? (
            <span className="muted acked" title={`Acknowledged ${formatDateTime(alert.acknowledged_at)}${alert.acknowledged_by ? ` by ${alert.acknowledged_by}` : ''}`}>
              acked{alert.acknowledged_by ? ` by ${alert.acknowledged_by}` : ''}
            </span>
          ) : (
            // Acknowledging says "someone is on it": it applies to what is firing.
            alert.state === 'firing' && (
              <button type="button" className="button small" onClick={acknowledge} disabled={ack.busy}>
                Ack
              </button>
            )
          )}
          {alert.state !== 'resolved' && (
            <button type="button" className="button small" aria-expanded={silencing} onClick={() => setSilencing((s) => !s)}>
              Silence
            </button>
          )}
          <Link to="/alerts/$fingerprint" params={{ fingerprint: alert.fingerprint }} className="button small">
            History
          </Link>
          <ErrorNote message={ack.error ? errorMessage(ack.error) : undefined} />
        </td>
      </tr>
      {silencing && (
        <tr className="silence-row">
          <td colSpan={6}>
            <SilenceForm
              idPrefix={`silence-${alert.fingerprint}`}
              initialMatchers={silenceMatchersFor(alert)}
              initialComment={`Silenced from the alert "${alert.rule_name}"`}
              onCancel={() => setSilencing(false)}
              onCreated={() => {
                setSilencing(false);
                onSilenced();
              }}
            />
          </td>
        </tr>
      )}
    </>
  );
}

function RuleSection({ rule, onSilenced }: { rule: RuleAlerts; onSilenced: () => void }) {
  return (
    <section className="card alert-rule" data-rule-id={rule.ruleId} data-source={rule.source}>
      <header className="alert-rule-head">
        <h2>
          <RuleLink rule={rule} />
        </h2>
        <span className="tag">{SOURCE_LABEL[rule.source]}</span>
        {rule.firing > 0 && <span className="alert-count alert-firing">{rule.firing} firing</span>}
        {rule.pending > 0 && <span className="alert-count alert-pending">{rule.pending} pending</span>}
      </header>
      {rule.groups.map((group) => (
        <div key={group.key} className="alert-group">
          {/* A group of one is its own row: only groups of several say that they are notified together. */}
          {rule.groups.length > 1 && group.alerts.length > 1 && (
            <p className="muted alert-group-head">
              {group.alerts.length} alerts{Object.keys(group.shared).length > 0 && <> with <Labels labels={group.shared} /></>}, notified together
            </p>
          )}
          <table className="alerts-table">
            <TableHead columns={['State', 'Severity', 'Labels', 'Value', 'Since']} />
            <tbody>
              {group.alerts.map((a) => (
                <AlertRow key={a.fingerprint} alert={a} onSilenced={onSilenced} />
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}

export function AlertsPage() {
  const search = useSearch({ from: '/alerts' });
  const navigate = useNavigate();
  const client = useQueryClient();
  const state = search.state ?? 'firing';
  const filter: AlertFilter = { ...(state !== 'all' ? { state } : {}), ...(search.source ? { source: search.source } : {}) };
  const alerts = useQuery(alertsQuery(filter));
  const [notice, setNotice] = useState<string>();
  const rules = alerts.data ? groupAlerts(alerts.data) : [];
  const go = (next: AlertsSearch) => void navigate({ to: '/alerts', search: { ...search, ...next }, replace: true });

  const silenced = () => {
    setNotice('Silence created: matching alerts are not notified while it lasts.');
    void client.invalidateQueries({ queryKey: ['alerts'] });
    void client.invalidateQueries({ queryKey: silencesQuery.queryKey });
  };

  return (
    <section>
      <header className="page-head">
        <h1>Alerts</h1>
        <Link to="/silences" className="button">
          Silences
        </Link>
      </header>
      <p className="muted page-help">Alert instances from every source: log rules and checks. A rule with group-by labels has one instance per value; instances of one group are notified together.</p>
      <div className="filters-row">
        <div className="chips" role="group" aria-label="State">
          {STATES.map((s) => (
            <button type="button" key={s.id} className={`chip${s.id === state ? ' chip-on' : ''}`} aria-pressed={s.id === state} onClick={() => go({ state: s.id === 'firing' ? undefined : s.id })}>
              {s.label}
            </button>
          ))}
        </div>
        <div className="chips" role="group" aria-label="Source">
          {SOURCES.map((source) => (
            <button type="button" key={source ?? 'any'} className={`chip${source === search.source ? ' chip-on' : ''}`} aria-pressed={source === search.source} onClick={() => go({ source })}>
              {source ? SOURCE_LABEL[source] : 'All sources'}
            </button>
          ))}
        </div>
      </div>
      {notice && (
        <div className="notice" role="status">
          <p>
            {notice} <Link to="/silences">See the silences</Link>
          </p>
        </div>
      )}
      <ErrorNote message={loadErrorMessage(alerts.error, 'Alerts')} />
      {alerts.data && rules.length === 0 && (
        <div className="card empty">
          <h2>{state === 'all' ? 'No alerts' : `No ${state} alerts`}</h2>
          <p className="muted">
            Alerts come from <Link to="/rules">rules over log traffic</Link> and from <Link to="/checks">checks</Link>.
          </p>
        </div>
      )}
      {rules.map((rule) => (
        <RuleSection key={rule.key} rule={rule} onSilenced={silenced} />
      ))}
    </section>
  );
}

/** One instance and every transition it went through, with the reason and the value at that moment. */
export function AlertHistoryPage({ fingerprint }: { fingerprint: string }) {
  const history = useQuery(alertHistoryQuery(fingerprint));
  const data = history.data;
  const alert = data?.alert;
  return (
    <section>
      <Link to="/alerts" className="back">
        ← Alerts
      </Link>
      <ErrorNote message={loadErrorMessage(history.error, 'Alert histories')} />
      {data && alert && (
        <>
          <header className="page-head">
            <h1>
              <RuleLink rule={{ source: alert.source, ruleId: alert.rule_id, ruleName: alert.rule_name }} />
            </h1>
            <AlertStateBadge state={alert.state} />
            <SeverityBadge severity={alert.severity} />
          </header>
          <dl className="facts">
            <div>
              <dt>Labels</dt>
              <dd>
                <Labels labels={alert.labels} />
              </dd>
            </div>
            <div>
              <dt>Value</dt>
              <dd className="mono">{valueVsThreshold(alert)}</dd>
            </div>
            <div>
              <dt>Since</dt>
              <dd>
                <RelativeTime iso={alert.since} past />
              </dd>
            </div>
            {alert.firing_since && (
              <div>
                <dt>Firing since</dt>
                <dd>{formatDateTime(alert.firing_since)}</dd>
              </div>
            )}
            {alert.resolved_at && (
              <div>
                <dt>Resolved</dt>
                <dd>{formatDateTime(alert.resolved_at)}</dd>
              </div>
            )}
            {alert.summary && (
              <div>
                <dt>Summary</dt>
                <dd>{alert.summary}</dd>
              </div>
            )}
          </dl>
          <h2>History</h2>
          {data.transitions.length === 0 ? (
            <p className="muted">No transition recorded yet.</p>
          ) : (
            <table className="transitions-table">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Change</th>
                  <th>Value</th>
                  <th>Reason</th>
                </tr>
              </thead>
              <tbody>
                {data.transitions.map((t, i) => (
                  <tr key={`${t.at}-${i}`} data-to={t.to}>
                    <td>{formatDateTime(t.at)}</td>
                    <td>
                      {t.from} → <strong>{t.to}</strong>
                    </td>
                    <td className="mono">{t.value === null ? '—' : valueVsThreshold({ value: t.value, threshold: null })}</td>
                    <td>{humanizeInstants(t.reason)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
