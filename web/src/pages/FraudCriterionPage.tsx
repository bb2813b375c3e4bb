import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { useState, type FormEvent } from 'react';
import { ApiError, errorMessage, type FieldError } from '../api';
import { CelBuilder, type BuilderState } from '../components/CelBuilder';
import { CelEditor } from '../components/CelEditor';
import { ChannelChoice } from '../components/ChannelChoice';
import { ErrorNote } from '../components/ErrorNote';
import { Field } from '../components/Field';
import { RelativeTime } from '../components/RelativeTime';
import { TableHead } from '../components/TableHead';
import { formatDateTime } from '../format';
import {
  builderFields,
  celToConditions,
  changeText,
  conditionsToCel,
  criterionToForm,
  dayBars,
  formToCriterion,
  fraudApi,
  GROUP_BY,
  messageFor,
  NEW_CRITERION_FORM,
  newCondition,
  SEVERITIES,
  statusText,
  valueText,
  type BacktestResult,
  type CriterionForm,
} from '../fraud';
import { auditQuery, criterionQuery, fraudListsQuery, fraudSchemaQuery, versionsQuery } from '../fraud-queries';
import { useAction } from '../hooks';
import { FraudTabs } from './FraudTabs';

/** Days → matches per day and sample matches with the values the expression read, before enabling. */
function BacktestPanel({ expression }: { expression: string }) {
  const [days, setDays] = useState('30');
  const [result, setResult] = useState<BacktestResult>();
  const run = useAction();
  const start = () =>
    void run.run(async () => {
      setResult(undefined);
      const n = Number(days);
      if (!Number.isInteger(n) || n < 1 || n > 90) throw new Error('Days: give a whole number from 1 to 90.');
      if (!expression.trim()) throw new Error('Write the condition first.');
      setResult(await fraudApi.backtest({ expression, days: n, samples: 20 }));
    });
  const bars = result ? dayBars(result.per_day) : [];
  return (
    <fieldset className="backtest" aria-label="Backtest">
      <legend>Backtest</legend>
      <p className="hint">Runs the condition as written over your shipments of the last days, as the detector would have (aggregates as of each shipment's creation), without saving or notifying anything.</p>
      <div className="filters-row">
        <Field id="backtest-days" label="Days">
          <input id="backtest-days" className="short" inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />
        </Field>
        <button type="button" className="button" onClick={start} disabled={run.busy}>
          {run.busy ? 'Running…' : 'Run backtest'}
        </button>
      </div>
      <ErrorNote message={run.error ? (run.error instanceof ApiError && run.error.fields.length > 0 ? run.error.fields.map((f) => `${f.field}: ${f.message}`).join('; ') : run.error.message) : undefined} />
      {result && (
        <div className="backtest-result" data-matched={result.matched}>
          <p className="backtest-summary">
            <strong>{result.matched}</strong> of {result.evaluated} shipments matched from {formatDateTime(result.from)} to {formatDateTime(result.to)}
            {result.errors > 0 && (
              <span className="field-error">
                {' '}
                · failed on {result.errors}: {result.first_error}
              </span>
            )}
            {result.truncated && <span className="muted"> · only the newest shipments were read</span>}
          </p>
          <table className="backtest-days" aria-label="Matches per day">
            <TableHead columns={['Day', 'Matched', 'Evaluated', '']} actions={false} />
            <tbody>
              {bars.map((d) => (
                <tr key={d.day} data-day={d.day}>
                  <td className="mono">{d.day}</td>
                  <td className="num">{d.matched}</td>
                  <td className="num muted">{d.evaluated}</td>
                  <td className="bar-cell">
                    <span className="bar" style={{ width: `${Math.round(d.share * 100)}%` }} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {result.samples.length > 0 && (
            <table className="backtest-samples" aria-label="Sample matches">
              <TableHead columns={['Shipment', 'Created', 'Values read']} actions={false} />
              <tbody>
                {result.samples.map((s) => (
                  <tr key={s.external_id}>
                    <td className="mono">{s.external_id}</td>
                    <td>{formatDateTime(s.created_at)}</td>
                    <td className="mono values">
                      {Object.entries(s.values)
                        .map(([k, v]) => `${k} = ${valueText(v)}`)
                        .join(' · ')}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </fieldset>
  );
}

/** A new criterion starts in the form builder; a saved one too when the builder could have written its expression, else in the code editor. */
function CriterionEditor({ id, initial }: { id?: string; initial: CriterionForm }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const schema = useQuery(fraudSchemaQuery);
  const lists = useQuery(fraudListsQuery);
  const [form, setForm] = useState<CriterionForm>(initial);
  const [read] = useState(() => (id ? celToConditions(initial.expression) : undefined));
  const [mode, setMode] = useState<'builder' | 'code'>(id && !read ? 'code' : 'builder');
  const [builder, setBuilder] = useState<BuilderState>(read ?? { join: 'all', conditions: [newCondition('compare')] });
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [formError, setFormError] = useState<string>();
  const save = useAction();

  const fields = builderFields(schema.data);
  const listNames = (lists.data ?? []).map((l) => l.name);
  const built = conditionsToCel(builder.conditions, builder.join, fields);
  // In builder mode the expression is what the builder writes; in code mode, what is typed.
  const expression = mode === 'builder' ? built.expression : form.expression;
  const set = <K extends keyof CriterionForm>(key: K, value: CriterionForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const err = (field: string) => messageFor(errors, field);

  const toCode = () => {
    if (mode === 'code') return;
    set('expression', built.expression);
    setMode('code');
  };
  const toBuilder = () => {
    if (mode === 'builder') return;
    // The expression as typed, when the builder can show it; else the builder's last conditions, after asking.
    const back = celToConditions(form.expression, fields);
    if (back) setBuilder(back);
    else if (form.expression.trim() && form.expression !== built.expression && !window.confirm('The form builder cannot show this expression: it starts over from its own conditions. Go on?')) return;
    setMode('builder');
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const input = formToCriterion({ ...form, expression });
    void save.run(async () => {
      try {
        const saved = id ? await fraudApi.updateCriterion(id, input) : await fraudApi.createCriterion(input);
        client.setQueryData(criterionQuery(saved.id).queryKey, saved);
        void client.invalidateQueries({ queryKey: ['fraud'] });
        await navigate({ to: '/fraud/criteria' });
      } catch (error) {
        if (error instanceof ApiError && error.fields.length > 0) {
          setErrors(error.fields);
          setFormError('The criterion was not saved: see the fields marked below.');
        } else {
          setErrors([]);
          setFormError(`The criterion was not saved: ${errorMessage(error)}`);
        }
      }
    });
  };

  return (
    <form className="card rule-form fraud-form" onSubmit={submit} noValidate aria-label="Criterion">
      <fieldset>
        <legend>Criterion</legend>
        <div className="field-row">
          <Field id="criterion-name" label="Name" error={err('name')}>
            <input id="criterion-name" value={form.name} maxLength={200} onChange={(e) => set('name', e.target.value)} placeholder="e.g. high value to watched country" />
          </Field>
          <Field id="criterion-severity" label="Severity" error={err('severity')}>
            <select id="criterion-severity" value={form.severity} onChange={(e) => set('severity', e.target.value as CriterionForm['severity'])}>
              {SEVERITIES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </Field>
          <label className="checkbox">
            <input type="checkbox" checked={form.enabled} onChange={(e) => set('enabled', e.target.checked)} /> Enabled
          </label>
          <label className="checkbox" title="Evaluated and its matches recorded, never notified">
            <input type="checkbox" checked={form.shadow} onChange={(e) => set('shadow', e.target.checked)} /> Shadow mode
          </label>
        </div>
        <Field id="criterion-description" label="Description" error={err('description')}>
          <input id="criterion-description" value={form.description} maxLength={2000} onChange={(e) => set('description', e.target.value)} placeholder="optional" />
        </Field>
      </fieldset>

      <fieldset>
        <legend>Condition</legend>
        <div className="chips" role="group" aria-label="Editor">
          <button type="button" className={`chip${mode === 'builder' ? ' chip-on' : ''}`} aria-pressed={mode === 'builder'} onClick={toBuilder}>
            Form builder
          </button>
          <button type="button" className={`chip${mode === 'code' ? ' chip-on' : ''}`} aria-pressed={mode === 'code'} onClick={toCode}>
            Code editor
          </button>
        </div>
        {mode === 'builder' ? (
          <>
            <CelBuilder state={builder} onChange={setBuilder} fields={fields} lists={listNames} problems={built.problems} />
            <div className="field">
              <span className="label">Resulting CEL</span>
              <pre className="mono cel-result" aria-label="Resulting CEL">
                {built.expression || '—'}
              </pre>
              {err('expression') && <p className="field-error">{err('expression')}</p>}
            </div>
          </>
        ) : (
          <div className="field">
            <label htmlFor="criterion-expression">Expression (CEL)</label>
            <CelEditor id="criterion-expression" value={form.expression} onChange={(v) => set('expression', v)} schema={schema.data} error={err('expression')} />
            <p className="hint">
              <code>shipment.&lt;field&gt;</code>, <code>lists.&lt;name&gt;</code> and <code>velocity.count|sum|avg|distinct|first(…)</code>; type a few letters for suggestions.
            </p>
          </div>
        )}
      </fieldset>

      <BacktestPanel expression={expression} />

      <fieldset>
        <legend>Notification</legend>
        <fieldset className="kind">
          <legend>Group by</legend>
          {GROUP_BY.map((g) => (
            <label key={g} className="checkbox">
              <input type="checkbox" checked={form.group_by.includes(g)} onChange={(e) => set('group_by', e.target.checked ? [...form.group_by, g] : form.group_by.filter((x) => x !== g))} /> {g}
            </label>
          ))}
          <p className="hint">Matches with the same values within the timers are one notification ("37 shipments from sender X"); at most three.</p>
          {err('group_by') && <p className="field-error">{err('group_by')}</p>}
        </fieldset>
        <div className="field-row">
          <Field id="criterion-group-wait" label="Group wait" error={err('group_wait')} hint="Wait this long for more matches of a group before the first notification">
            <input id="criterion-group-wait" className="mono short" value={form.group_wait} onChange={(e) => set('group_wait', e.target.value)} />
          </Field>
          <Field id="criterion-group-interval" label="Group interval" error={err('group_interval')} hint="Then at most one notification per group this often">
            <input id="criterion-group-interval" className="mono short" value={form.group_interval} onChange={(e) => set('group_interval', e.target.value)} />
          </Field>
        </div>
        <ChannelChoice name="criterion-channels" value={form.channels} onChange={(next) => set('channels', next)} error={err('channels')} />
      </fieldset>

      <ErrorNote message={formError} />
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={save.busy}>
          {save.busy ? 'Saving…' : id ? 'Save (new version)' : 'Create criterion'}
        </button>
        <Link to="/fraud/criteria" className="button">
          Cancel
        </Link>
      </div>
    </form>
  );
}

/** Every version of the criterion, immutable: who made it, when, and what it said. */
function Versions({ id }: { id: string }) {
  const versions = useQuery(versionsQuery(id));
  return (
    <section aria-label="Versions">
      <ErrorNote message={versions.error ? errorMessage(versions.error) : undefined} />
      {versions.data && (
        <table className="versions-table">
          <TableHead columns={['Version', 'When', 'Who', 'Expression', 'State']} actions={false} />
          <tbody>
            {[...versions.data]
              .sort((a, b) => b.version - a.version)
              .map((v) => (
                <tr key={v.version} data-version={v.version}>
                  <td className="num">v{v.version}</td>
                  <td>
                    <RelativeTime iso={v.created_at} past />
                  </td>
                  <td>{v.created_by ?? <span className="muted">—</span>}</td>
                  <td className="mono">{v.expression}</td>
                  <td>
                    {v.enabled ? 'enabled' : 'disabled'}
                    {v.shadow ? ', shadow' : ''} · {v.severity}
                  </td>
                </tr>
              ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The audit log of the criterion: who changed what, from what to what. */
function Audit({ id }: { id: string }) {
  const audit = useQuery(auditQuery(id));
  return (
    <section aria-label="Audit log">
      <ErrorNote message={audit.error ? errorMessage(audit.error) : undefined} />
      {audit.data?.length === 0 && <p className="muted">Nothing recorded yet.</p>}
      {audit.data && audit.data.length > 0 && (
        <table className="audit-table">
          <TableHead columns={['When', 'Who', 'What', 'Changes']} actions={false} />
          <tbody>
            {audit.data.map((e) => (
              <tr key={e.id} data-action={e.action}>
                <td title={formatDateTime(e.at)}>
                  <RelativeTime iso={e.at} past />
                </td>
                <td>{e.actor ?? <span className="muted">Vigil</span>}</td>
                <td>
                  {e.action}
                  {e.version !== null ? ` (v${e.version})` : ''}
                </td>
                <td className="mono">
                  {Object.entries(e.changes)
                    .map(([field, change]) => changeText(field, change))
                    .join('; ') || '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** `/fraud/criteria/new` or `/fraud/criteria/$id`: the editor, with the versions and audit tabs of a saved one. */
export function FraudCriterionPage({ id }: { id?: string }) {
  const criterion = useQuery({ ...criterionQuery(id ?? ''), enabled: Boolean(id) });
  const [tab, setTab] = useState<'editor' | 'versions' | 'audit'>('editor');
  const notFound = criterion.error instanceof ApiError && criterion.error.status === 404;
  const c = criterion.data;
  return (
    <section>
      <FraudTabs />
      <Link to="/fraud/criteria" className="back">
        ← Fraud criteria
      </Link>
      <header className="page-head">
        <h1>{id ? (c ? `Criterion: ${c.name}` : 'Criterion') : 'New fraud criterion'}</h1>
        {c && (
          <span className={`tag criterion-status status-${c.status}`} data-status={c.status}>
            {statusText(c)} · v{c.version}
          </span>
        )}
      </header>
      {c?.status === 'paused' && <p className="error-note">Paused after failing at evaluation: {c.paused_reason}. Save a fixed version, or re-enable it from the list, to resume.</p>}
      <ErrorNote message={notFound ? 'No such criterion: it may have been deleted.' : criterion.error ? errorMessage(criterion.error) : undefined} />
      {id && c && (
        <div className="chips tabs" role="tablist" aria-label="Criterion">
          {(['editor', 'versions', 'audit'] as const).map((t) => (
            <button key={t} type="button" role="tab" aria-selected={tab === t} className={`chip${tab === t ? ' chip-on' : ''}`} onClick={() => setTab(t)}>
              {t === 'editor' ? 'Editor' : t === 'versions' ? 'Versions' : 'Audit log'}
            </button>
          ))}
        </div>
      )}
      {!id && <CriterionEditor initial={NEW_CRITERION_FORM} />}
      {id && c && tab === 'editor' && <CriterionEditor key={`${c.id}-${c.version}`} id={id} initial={criterionToForm(c)} />}
      {id && c && tab === 'versions' && <Versions id={id} />}
      {id && c && tab === 'audit' && <Audit id={id} />}
    </section>
  );
}
