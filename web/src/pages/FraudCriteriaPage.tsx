import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { loadErrorMessage } from '../alerts';
import { ErrorNote } from '../components/ErrorNote';
import { TableHead } from '../components/TableHead';
import { fraudApi, precisionText, statusText, type CriterionView } from '../fraud';
import { criteriaQuery, criterionQuery } from '../fraud-queries';
import { useAction } from '../hooks';
import { FraudTabs } from './FraudTabs';

/** The organisation's fraud criteria: status, version, matches and precision; enable/disable and shadow in one click. */
export function FraudCriteriaPage() {
  const client = useQueryClient();
  const criteria = useQuery(criteriaQuery);
  const action = useAction();

  const store = (c: CriterionView) => {
    client.setQueryData(criteriaQuery.queryKey, (list) => list?.map((x) => (x.id === c.id ? c : x)));
    client.setQueryData(criterionQuery(c.id).queryKey, c);
  };
  const patch = (c: CriterionView, body: { enabled?: boolean; shadow?: boolean }) => void action.run(async () => store(await fraudApi.updateCriterion(c.id, body)));
  const remove = (c: CriterionView) => {
    if (!window.confirm(`Delete the criterion "${c.name}"? It stops being evaluated; its versions and alerts stay.`)) return;
    void action.run(async () => {
      await fraudApi.deleteCriterion(c.id);
      client.setQueryData(criteriaQuery.queryKey, (list) => list?.filter((x) => x.id !== c.id));
    });
  };

  return (
    <section>
      <FraudTabs />
      <header className="page-head">
        <h1>Fraud criteria</h1>
        <Link to="/fraud/criteria/new" className="button primary">
          New criterion
        </Link>
      </header>
      <p className="muted page-help">Every new shipment is evaluated against each active criterion; shadow criteria record their matches without notifying.</p>
      <ErrorNote message={loadErrorMessage(criteria.error, 'Fraud criteria') ?? action.error?.message} />
      {criteria.data?.length === 0 && (
        <div className="card empty">
          <h2>No criteria yet</h2>
          <Link to="/fraud/criteria/new">Create one</Link>
        </div>
      )}
      {criteria.data && criteria.data.length > 0 && (
        <table className="criteria-table">
          <TableHead columns={['Criterion', 'Status', 'Version', 'Matches 7d', 'Precision']} />
          <tbody>
            {criteria.data.map((c) => (
              <tr key={c.id} data-criterion-id={c.id} data-status={c.status}>
                <td>
                  <Link to="/fraud/criteria/$id" params={{ id: c.id }}>
                    {c.name}
                  </Link>
                  <div className="mono muted expression-preview" title={c.expression}>
                    {c.expression}
                  </div>
                </td>
                <td>
                  <span className={`criterion-status status-${c.status}`} title={c.paused_reason ?? undefined}>
                    {statusText(c)}
                  </span>
                </td>
                <td className="num">v{c.version}</td>
                <td className="num">
                  <Link to="/fraud/alerts" search={{ criterion: c.id, shadow: c.shadow ? 'all' : undefined }}>
                    {c.stats.matches_7d}
                  </Link>
                </td>
                <td>{precisionText(c.stats)}</td>
                <td className="alert-actions">
                  {c.status === 'paused' ? (
                    <button type="button" className="button small" disabled={action.busy} onClick={() => patch(c, { enabled: true })} title="Re-enable: evaluate it again">
                      Resume
                    </button>
                  ) : (
                    <button type="button" className="button small" disabled={action.busy} onClick={() => patch(c, { enabled: !c.enabled })}>
                      {c.enabled ? 'Disable' : 'Enable'}
                    </button>
                  )}
                  <button type="button" className="button small" disabled={action.busy} aria-pressed={c.shadow} onClick={() => patch(c, { shadow: !c.shadow })}>
                    {c.shadow ? 'Leave shadow' : 'Shadow'}
                  </button>
                  <Link to="/fraud/criteria/$id" params={{ id: c.id }} className="button small">
                    Edit
                  </Link>
                  <button type="button" className="button small danger" disabled={action.busy} onClick={() => remove(c)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
