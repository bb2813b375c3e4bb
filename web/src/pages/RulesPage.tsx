import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { loadErrorMessage } from '../alerts';
import { ErrorNote } from '../components/ErrorNote';
import { useAction } from '../hooks';
import { rulesQuery } from '../queries';
import { conditionText, durationWords, ruleInputOf, rulesApi, type RuleView } from '../rules';
import { TableHead } from '../components/TableHead';

function RuleState({ rule }: { rule: RuleView }) {
  if (rule.error) {
    return (
      <span className="alert-state alert-error" data-state="error" title={rule.error}>
        error: {rule.error}
      </span>
    );
  }
  if (!rule.enabled) return <span className="muted">disabled</span>;
  if (rule.firing === 0 && rule.pending === 0) {
    return (
      <span className="alert-state alert-ok" data-state="ok">
        ok
      </span>
    );
  }
  return (
    <span className="rule-counts">
      {rule.firing > 0 && (
        <Link to="/alerts" search={{ state: 'firing' }} className="alert-count alert-firing" data-state="firing">
          {rule.firing} firing
        </Link>
      )}
      {rule.pending > 0 && (
        <Link to="/alerts" search={{ state: 'pending' }} className="alert-count alert-pending" data-state="pending">
          {rule.pending} pending
        </Link>
      )}
    </span>
  );
}

/** Log-traffic alert rules with their current state; enable, disable, edit, delete. */
export function RulesPage() {
  const client = useQueryClient();
  const rules = useQuery(rulesQuery);
  const action = useAction();

  const store = (rule: RuleView) => {
    client.setQueryData(rulesQuery.queryKey, (list) => list?.map((r) => (r.id === rule.id ? rule : r)));
  };
  const toggle = (rule: RuleView) => void action.run(async () => store(await rulesApi.update(rule.id, { ...ruleInputOf(rule), enabled: !rule.enabled })));
  const remove = (rule: RuleView) => {
    if (!window.confirm(`Delete the rule "${rule.name}"? Its alerts resolve and it stops being evaluated.`)) return;
    void action.run(async () => {
      await rulesApi.remove(rule.id);
      client.setQueryData(rulesQuery.queryKey, (list) => list?.filter((r) => r.id !== rule.id));
      void client.invalidateQueries({ queryKey: ['alerts'] });
    });
  };

  return (
    <section>
      <header className="page-head">
        <h1>Rules</h1>
        <Link to="/rules/new" className="button primary">
          New rule
        </Link>
      </header>
      <p className="muted page-help">Rules over log traffic, evaluated every second of event time (the timestamps in the logs) as events arrive.</p>
      <ErrorNote message={loadErrorMessage(rules.error, 'Rules') ?? action.error?.message} />
      {rules.data && rules.data.length === 0 && (
        <div className="card empty">
          <h2>No rules yet</h2>
          <Link to="/rules/new">Create one</Link>
        </div>
      )}
      {rules.data && rules.data.length > 0 && (
        <table className="rules-table">
          <TableHead columns={['Rule', 'Condition', 'For', 'Severity', 'State']} />
          <tbody>
            {rules.data.map((rule) => (
              <tr key={rule.id} data-rule-id={rule.id} className={rule.enabled ? undefined : 'rule-disabled'}>
                <td>
                  <Link to="/rules/$id" params={{ id: rule.id }}>
                    {rule.name}
                  </Link>
                  {rule.is_default && (
                    <span className="tag" title="Created with the organisation; edit or disable it as any other">
                      default
                    </span>
                  )}
                </td>
                <td className="mono">{conditionText(rule)}</td>
                <td>{rule.for === '0s' ? <span className="muted">at once</span> : durationWords(rule.for)}</td>
                <td>
                  <span className={`severity severity-${rule.severity}`}>{rule.severity}</span>
                </td>
                <td>
                  <RuleState rule={rule} />
                </td>
                <td className="alert-actions">
                  <button type="button" className="button small" disabled={action.busy} onClick={() => toggle(rule)}>
                    {rule.enabled ? 'Disable' : 'Enable'}
                  </button>
                  <Link to="/rules/$id" params={{ id: rule.id }} className="button small">
                    Edit
                  </Link>
                  <button type="button" className="button small danger" disabled={action.busy} onClick={() => remove(rule)}>
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
