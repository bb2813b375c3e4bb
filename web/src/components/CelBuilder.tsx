import {
  COMPARE_OPS,
  CONDITION_KINDS,
  conditionWords,
  COUNTRY_FIELDS,
  newCondition,
  VELOCITY_KEYS,
  type BuilderField,
  type CompareOp,
  type Condition,
  type ConditionKind,
} from '../fraud';

export interface BuilderState {
  join: 'all' | 'any';
  conditions: Condition[];
}

/** A select of plain values, labelled for screen readers and tests. */
function Choice({ label, value, options, onChange }: { label: string; value: string; options: readonly string[]; onChange: (v: string) => void }) {
  return (
    <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value)}>
      {!options.includes(value) && <option value={value}>{value || '—'}</option>}
      {options.map((o) => (
        <option key={o} value={o}>
          {o}
        </option>
      ))}
    </select>
  );
}

function Text({ label, value, onChange, short = true, placeholder }: { label: string; value: string; onChange: (v: string) => void; short?: boolean; placeholder?: string }) {
  return <input aria-label={label} className={short ? 'short mono' : 'mono'} value={value} placeholder={placeholder} onChange={(e) => onChange(e.target.value)} />;
}

/** The inputs of one condition (each labelled: "Field", "Value", "Window"…). */
function ConditionInputs({ c, fields, lists, set }: { c: Condition; fields: readonly BuilderField[]; lists: readonly string[]; set: (c: Condition) => void }) {
  const fieldNames = fields.map((f) => f.name);
  const numeric = fields.filter((f) => f.type === 'double' || f.type === 'int').map((f) => f.name);
  const strings = fields.filter((f) => f.type === 'string').map((f) => f.name);
  switch (c.kind) {
    case 'compare':
      return (
        <>
          <Choice label="Field" value={c.field} options={fieldNames} onChange={(field) => set({ ...c, field })} />
          <Choice label="Operator" value={c.op} options={COMPARE_OPS} onChange={(op) => set({ ...c, op: op as CompareOp })} />
          <Text label="Value" value={c.value} onChange={(value) => set({ ...c, value })} />
        </>
      );
    case 'in_list':
      return (
        <>
          <Choice label="Field" value={c.field} options={strings} onChange={(field) => set({ ...c, field })} />
          <Choice label="Not" value={c.negate ? 'not in' : 'in'} options={['in', 'not in']} onChange={(v) => set({ ...c, negate: v === 'not in' })} />
          <Choice label="List" value={c.list} options={lists} onChange={(list) => set({ ...c, list })} />
        </>
      );
    case 'in_countries':
      return (
        <>
          <Choice label="Field" value={c.field} options={COUNTRY_FIELDS} onChange={(field) => set({ ...c, field })} />
          <Choice label="Not" value={c.negate ? 'not in' : 'in'} options={['in', 'not in']} onChange={(v) => set({ ...c, negate: v === 'not in' })} />
          <Text label="Countries" value={c.countries} short={false} placeholder="NG, KP" onChange={(countries) => set({ ...c, countries })} />
        </>
      );
    case 'count':
      return (
        <>
          more than <Text label="Threshold" value={c.threshold} onChange={(threshold) => set({ ...c, threshold })} /> shipments per{' '}
          <Choice label="Per" value={c.key} options={VELOCITY_KEYS} onChange={(key) => set({ ...c, key })} /> within{' '}
          <Text label="Window" value={c.window} placeholder="1h" onChange={(window) => set({ ...c, window })} />
        </>
      );
    case 'distinct':
      return (
        <>
          at least <Text label="Threshold" value={c.threshold} onChange={(threshold) => set({ ...c, threshold })} /> different{' '}
          <Choice label="Distinct field" value={c.field} options={strings} onChange={(field) => set({ ...c, field })} /> per{' '}
          <Choice label="Per" value={c.key} options={VELOCITY_KEYS} onChange={(key) => set({ ...c, key })} /> within{' '}
          <Text label="Window" value={c.window} placeholder="7d" onChange={(window) => set({ ...c, window })} />
        </>
      );
    case 'first':
      return (
        <>
          first shipment of the <Choice label="Per" value={c.key} options={VELOCITY_KEYS} onChange={(key) => set({ ...c, key })} /> with this{' '}
          <Choice label="New field" value={c.field} options={strings} onChange={(field) => set({ ...c, field })} />
        </>
      );
    case 'above_avg':
      return (
        <>
          <Choice label="Field" value={c.field} options={numeric} onChange={(field) => set({ ...c, field })} /> above{' '}
          <Text label="Factor" value={c.factor} onChange={(factor) => set({ ...c, factor })} />× the average of the{' '}
          <Choice label="Per" value={c.key} options={VELOCITY_KEYS} onChange={(key) => set({ ...c, key })} /> over{' '}
          <Text label="Window" value={c.window} placeholder="90d" onChange={(window) => set({ ...c, window })} />
        </>
      );
  }
}

/**
 * The form builder of a criterion: conditions of the common kinds, all or any of them; the page
 * writes the CEL from it (`conditionsToCel`) and shows it.
 */
export function CelBuilder({
  state,
  onChange,
  fields,
  lists,
  problems,
}: {
  state: BuilderState;
  onChange: (s: BuilderState) => void;
  fields: readonly BuilderField[];
  lists: readonly string[];
  problems: readonly { index: number; message: string }[];
}) {
  const setAt = (i: number, c: Condition) => onChange({ ...state, conditions: state.conditions.map((x, j) => (j === i ? c : x)) });
  const removeAt = (i: number) => onChange({ ...state, conditions: state.conditions.filter((_, j) => j !== i) });
  const add = (kind: ConditionKind) => onChange({ ...state, conditions: [...state.conditions, newCondition(kind, lists)] });
  return (
    <div className="cel-builder" role="group" aria-label="Conditions">
      <div className="field-row">
        <label>
          Match when{' '}
          <select aria-label="Combine" value={state.join} onChange={(e) => onChange({ ...state, join: e.target.value as BuilderState['join'] })}>
            <option value="all">all conditions hold (and)</option>
            <option value="any">any condition holds (or)</option>
          </select>
        </label>
      </div>
      <ol className="conditions">
        {state.conditions.map((c, i) => (
          <li key={i} className="condition" data-kind={c.kind} aria-label={`Condition ${i + 1}`}>
            <span className="condition-inputs">
              <ConditionInputs c={c} fields={fields} lists={lists} set={(next) => setAt(i, next)} />
            </span>
            <button type="button" className="button small" onClick={() => removeAt(i)} aria-label={`Remove condition ${i + 1}`}>
              Remove
            </button>
            <span className="hint">{conditionWords(c)}</span>
            {problems
              .filter((p) => p.index === i)
              .map((p) => (
                <p key={p.message} className="field-error">
                  {p.message}
                </p>
              ))}
          </li>
        ))}
      </ol>
      <label>
        Add a condition{' '}
        <select
          aria-label="Add a condition"
          value=""
          onChange={(e) => {
            if (e.target.value) add(e.target.value as ConditionKind);
          }}
        >
          <option value="">choose a kind…</option>
          {CONDITION_KINDS.map((k) => (
            <option key={k.kind} value={k.kind}>
              {k.label}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}
