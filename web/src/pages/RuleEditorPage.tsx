import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, errorMessage, type FieldError } from '../api';
import { ChannelChoice } from '../components/ChannelChoice';
import { ErrorNote } from '../components/ErrorNote';
import { Field } from '../components/Field';
import { PreviewChart } from '../components/PreviewChart';
import { useAction } from '../hooks';
import { ruleQuery, rulesQuery } from '../queries';
import {
  durationWords,
  explainTiming,
  formToRule,
  GROUP_BY,
  messagesFor,
  METRICS,
  NEW_RULE_FORM,
  NO_DATA,
  OPS,
  PREVIEW_RANGES,
  previewRange,
  ruleToForm,
  rulesApi,
  SEVERITIES,
  STATUS_CLASSES,
  type PreviewRangeId,
  type RuleForm,
  type RulePreview,
} from '../rules';
import { localInputToIso } from '../zones';

/** A duration text input with its value said in words below it. */
function DurationField({ id, label, value, onChange, error, hint }: { id: string; label: string; value: string; onChange: (v: string) => void; error?: string; hint?: ReactNode }) {
  return (
    <Field
      id={id}
      label={label}
      hint={
        <>
          {durationWords(value)}
          {hint ? <>. {hint}</> : null}
        </>
      }
      error={error}
    >
      <input id={id} className="mono short" value={value} onChange={(e) => onChange(e.target.value)} aria-invalid={Boolean(error) || undefined} placeholder="e.g. 30s, 2m, 1h" />
    </Field>
  );
}

function RuleEditor({ id, initial }: { id?: string; initial: RuleForm }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const [form, setForm] = useState<RuleForm>(initial);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [formError, setFormError] = useState<string>();
  const [range, setRange] = useState<PreviewRangeId>('1h');
  const [customFrom, setCustomFrom] = useState('');
  const [customTo, setCustomTo] = useState('');
  const [preview, setPreview] = useState<RulePreview>();
  const save = useAction();
  const previewing = useAction();

  const set = <K extends keyof RuleForm>(key: K, value: RuleForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const setFilter = (key: keyof RuleForm['filters'], value: string) => setForm((f) => ({ ...f, filters: { ...f.filters, [key]: value } }));
  const err = (...fields: string[]) => messagesFor(errors, ...fields);

  /** A refusal: its fields show at their inputs; anything else (network, session) above the buttons. */
  const refused = (error: unknown, what: string) => {
    if (error instanceof ApiError && error.fields.length > 0) {
      setErrors(error.fields);
      setFormError(`${what}: see the fields marked below.`);
    } else {
      setErrors([]);
      setFormError(error instanceof ApiError && error.status === 404 && !id ? `${what}: this server does not offer rules yet (HTTP 404).` : `${what}: ${errorMessage(error)}`);
    }
  };

  /** The body, or undefined when the form has fields it cannot read (then marked). */
  const body = (what: string) => {
    const { input, errors: local } = formToRule(form);
    if (local.length > 0) {
      setErrors(local);
      setFormError(`${what}: see the fields marked below.`);
      return undefined;
    }
    setErrors([]);
    setFormError(undefined);
    return input;
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const input = body('The rule was not saved');
    if (!input) return;
    void save.run(async () => {
      try {
        const saved = id ? await rulesApi.update(id, input) : await rulesApi.create(input);
        client.setQueryData(ruleQuery(saved.id).queryKey, saved);
        void client.invalidateQueries({ queryKey: rulesQuery.queryKey });
        await navigate({ to: '/rules' });
      } catch (error) {
        refused(error, 'The rule was not saved');
      }
    });
  };

  const runPreview = () => {
    const input = body('No preview');
    if (!input) return;
    const custom = { from: localInputToIso(customFrom), to: localInputToIso(customTo) };
    void previewing.run(async () => {
      try {
        setPreview(await rulesApi.preview(input, previewRange(range, custom)));
      } catch (error) {
        setPreview(undefined);
        refused(error, 'No preview');
      }
    });
  };

  const timing = explainTiming(form);

  return (
    <form className="card rule-form" onSubmit={submit} noValidate>
      <fieldset>
        <legend>Rule</legend>
        <div className="field-row">
          <Field id="rule-name" label="Name" error={err('name')}>
            <input id="rule-name" value={form.name} maxLength={200} onChange={(e) => set('name', e.target.value)} aria-invalid={Boolean(err('name')) || undefined} placeholder="e.g. high traffic" />
          </Field>
          <Field id="rule-severity" label="Severity" error={err('severity')}>
            <select id="rule-severity" value={form.severity} onChange={(e) => set('severity', e.target.value as RuleForm['severity'])}>
              {SEVERITIES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </Field>
          <label className="checkbox">
            <input type="checkbox" checked={form.enabled} onChange={(e) => set('enabled', e.target.checked)} /> Enabled
          </label>
        </div>
        <Field id="rule-description" label="Description" error={err('description')}>
          <input id="rule-description" value={form.description} maxLength={2000} onChange={(e) => set('description', e.target.value)} placeholder="optional" />
        </Field>
      </fieldset>

      <fieldset>
        <legend>Condition</legend>
        <div className="field-row">
          <Field id="rule-metric" label="Metric" error={err('metric')}>
            <select id="rule-metric" value={form.metric} onChange={(e) => set('metric', e.target.value as RuleForm['metric'])}>
              {METRICS.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.label}
                </option>
              ))}
            </select>
          </Field>
          {form.metric === 'duration_percentile' && (
            <Field id="rule-percentile" label="Percentile" error={err('percentile')}>
              <input id="rule-percentile" className="short" inputMode="decimal" value={form.percentile} onChange={(e) => set('percentile', e.target.value)} aria-invalid={Boolean(err('percentile')) || undefined} />
            </Field>
          )}
          {form.metric === 'status_class_count' && (
            <Field id="rule-status-class" label="Status class" error={err('status_class')}>
              <select id="rule-status-class" value={form.status_class} onChange={(e) => set('status_class', e.target.value as RuleForm['status_class'])}>
                {STATUS_CLASSES.map((c) => (
                  <option key={c}>{c}</option>
                ))}
              </select>
            </Field>
          )}
        </div>
        <div className="field-row">
          <DurationField id="rule-window" label="Window" value={form.window} onChange={(v) => set('window', v)} error={err('window')} hint="The metric is computed over this sliding window" />
          <Field id="rule-op" label="Comparison" error={err('op')}>
            <select id="rule-op" value={form.op} onChange={(e) => set('op', e.target.value as RuleForm['op'])}>
              {OPS.map((op) => (
                <option key={op}>{op}</option>
              ))}
            </select>
          </Field>
          <Field id="rule-threshold" label="Threshold" hint={METRICS.find((m) => m.id === form.metric)?.unit} error={err('threshold')}>
            <input id="rule-threshold" className="short" inputMode="decimal" value={form.threshold} onChange={(e) => set('threshold', e.target.value)} aria-invalid={Boolean(err('threshold')) || undefined} />
          </Field>
          <Field id="rule-no-data" label="When there is no data" error={err('no_data')}>
            <select id="rule-no-data" value={form.no_data} onChange={(e) => set('no_data', e.target.value as RuleForm['no_data'])}>
              {NO_DATA.map((n) => (
                <option key={n.id} value={n.id}>
                  {n.label}
                </option>
              ))}
            </select>
          </Field>
        </div>
      </fieldset>

      <fieldset>
        <legend>Filters</legend>
        <p className="hint">Only events matching every filter count. Lists are comma-separated; leave empty for all.</p>
        <div className="field-row">
          <Field id="rule-f-service" label="Service" error={err('filters.service')}>
            <input id="rule-f-service" value={form.filters.service} onChange={(e) => setFilter('service', e.target.value)} placeholder="e.g. shop, api" />
          </Field>
          <Field id="rule-f-section" label="Section" error={err('filters.section')}>
            <input id="rule-f-section" value={form.filters.section} onChange={(e) => setFilter('section', e.target.value)} placeholder="e.g. /checkout" />
          </Field>
          <Field id="rule-f-status" label="Status" error={err('filters.status')}>
            <input id="rule-f-status" value={form.filters.status} onChange={(e) => setFilter('status', e.target.value)} placeholder="e.g. 5xx, 404" />
          </Field>
        </div>
        <div className="field-row">
          <Field id="rule-f-method" label="Method" error={err('filters.method')}>
            <input id="rule-f-method" value={form.filters.method} onChange={(e) => setFilter('method', e.target.value)} placeholder="e.g. POST" />
          </Field>
          <Field id="rule-f-host" label="Host" error={err('filters.host')}>
            <input id="rule-f-host" value={form.filters.host} onChange={(e) => setFilter('host', e.target.value)} placeholder="e.g. web-1" />
          </Field>
          <Field id="rule-f-message" label="Message contains" error={err('filters.message')}>
            <input id="rule-f-message" value={form.filters.message} onChange={(e) => setFilter('message', e.target.value)} />
          </Field>
        </div>
        <Field id="rule-f-attributes" label="Attributes" hint="One key=value a line: the event's attribute must equal the value." error={err('filters.attributes')}>
          <textarea id="rule-f-attributes" className="mono" rows={2} value={form.filters.attributes} onChange={(e) => setFilter('attributes', e.target.value)} />
        </Field>
        <fieldset className="kind" aria-describedby="rule-group-by-hint">
          <legend>Group by</legend>
          {GROUP_BY.map((g) => (
            <label key={g} className="checkbox">
              <input
                type="checkbox"
                checked={form.group_by.includes(g)}
                onChange={(e) => set('group_by', e.target.checked ? [...form.group_by, g] : form.group_by.filter((x) => x !== g))}
              />{' '}
              {g.replace('_', ' ')}
            </label>
          ))}
          <p id="rule-group-by-hint" className="hint">
            One alert per value (per section, per service…), at most three.
          </p>
          {err('group_by') && <p className="field-error">{err('group_by')}</p>}
        </fieldset>
      </fieldset>

      <fieldset>
        <legend>Timing</legend>
        <div className="field-row">
          <DurationField id="rule-for" label="For" value={form.for} onChange={(v) => set('for', v)} error={err('for')} hint="How long the condition must hold before firing" />
          <DurationField id="rule-keep" label="Keep firing for" value={form.keep_firing_for} onChange={(v) => set('keep_firing_for', v)} error={err('keep_firing_for')} />
        </div>
        <div className="field-row">
          <DurationField id="rule-group-wait" label="Group wait" value={form.group_wait} onChange={(v) => set('group_wait', v)} error={err('grouping.group_wait')} />
          <DurationField id="rule-group-interval" label="Group interval" value={form.group_interval} onChange={(v) => set('group_interval', v)} error={err('grouping.group_interval')} />
          <DurationField id="rule-repeat-interval" label="Repeat interval" value={form.repeat_interval} onChange={(v) => set('repeat_interval', v)} error={err('grouping.repeat_interval')} />
        </div>
        {err('grouping') && !err('grouping.group_wait', 'grouping.group_interval', 'grouping.repeat_interval') && <p className="field-error">{err('grouping')}</p>}
        <ul className="timing-explained" aria-label="What the timing means">
          {timing.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      </fieldset>

      <fieldset>
        <legend>Notification</legend>
        <Field id="rule-labels" label="Labels" hint="One name=value a line, added to every alert of the rule (for silences and routing)." error={err('labels')}>
          <textarea id="rule-labels" className="mono" rows={2} value={form.labels} onChange={(e) => set('labels', e.target.value)} aria-invalid={Boolean(err('labels')) || undefined} />
        </Field>
        <Field
          id="rule-message"
          label="Message template"
          hint={
            <>
              Optional. Placeholders: <code>{'{{value}}'}</code> <code>{'{{threshold}}'}</code> <code>{'{{op}}'}</code> <code>{'{{metric}}'}</code> <code>{'{{window}}'}</code> <code>{'{{rule}}'}</code>{' '}
              <code>{'{{labels.section}}'}</code>
            </>
          }
          error={err('message')}
        >
          <textarea id="rule-message" rows={2} value={form.message} onChange={(e) => set('message', e.target.value)} aria-invalid={Boolean(err('message')) || undefined} />
        </Field>
        <ChannelChoice name="rule-channels" value={form.channels} onChange={(next) => set('channels', next)} error={err('channels')} />
      </fieldset>

      <fieldset className="rule-preview">
        <legend>Preview</legend>
        <p className="hint">What this rule would have done over past traffic, computed by the same engine as live evaluation.</p>
        <div className="filters-row">
          <div className="chips" role="group" aria-label="Preview range">
            {PREVIEW_RANGES.map((r) => (
              <button type="button" key={r.id} className={`chip${r.id === range ? ' chip-on' : ''}`} aria-pressed={r.id === range} onClick={() => setRange(r.id)}>
                {r.label}
              </button>
            ))}
          </div>
          {range === 'custom' && (
            <>
              <Field id="rule-preview-from" label="From" error={err('from')}>
                <input id="rule-preview-from" type="datetime-local" value={customFrom} onChange={(e) => setCustomFrom(e.target.value)} />
              </Field>
              <Field id="rule-preview-to" label="To" error={err('to')}>
                <input id="rule-preview-to" type="datetime-local" value={customTo} onChange={(e) => setCustomTo(e.target.value)} />
              </Field>
            </>
          )}
          <button type="button" className="button" onClick={runPreview} disabled={previewing.busy}>
            {previewing.busy ? 'Previewing…' : 'Preview'}
          </button>
        </div>
        {preview && <PreviewChart preview={preview} />}
      </fieldset>

      <ErrorNote message={formError} />
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={save.busy}>
          {save.busy ? 'Saving…' : id ? 'Save rule' : 'Create rule'}
        </button>
        <Link to="/rules" className="button">
          Cancel
        </Link>
      </div>
    </form>
  );
}

/** `/rules/new` (no id) or `/rules/$id`: the editor, once the rule is loaded. */
export function RuleEditorPage({ id }: { id?: string }) {
  const rule = useQuery({ ...ruleQuery(id ?? ''), enabled: Boolean(id) });
  const notFound = rule.error instanceof ApiError && rule.error.status === 404;
  return (
    <section>
      <Link to="/rules" className="back">
        ← Rules
      </Link>
      <header className="page-head">
        <h1>{id ? (rule.data ? `Rule: ${rule.data.name}` : 'Rule') : 'New rule'}</h1>
        {rule.data?.is_default && <span className="tag">default</span>}
      </header>
      {rule.data?.error && <p className="error-note">This rule could not be evaluated last time: {rule.data.error}</p>}
      <ErrorNote message={notFound ? 'No such rule: it may have been deleted (or this server has no rules yet).' : rule.error ? errorMessage(rule.error) : undefined} />
      {!id && <RuleEditor initial={NEW_RULE_FORM} />}
      {id && rule.data && <RuleEditor key={rule.data.id} id={id} initial={ruleToForm(rule.data)} />}
    </section>
  );
}
