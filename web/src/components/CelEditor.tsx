import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { errorMessage } from '../api';
import { applyCompletion, completionCandidates, completionsAt, fraudApi, problemText, type ExpressionCheck, type FraudSchema } from '../fraud';

/** How long typing must pause before the expression is checked (one request per pause, not per key). */
const CHECK_DEBOUNCE_MS = 300;

/**
 * The CEL code editor: a plain textarea (light, accessible, no editor library) that type-checks as
 * the user types (debounced `POST /api/v1/fraud/criteria/check`, the answer's problems listed under
 * the text with their line and column) and offers the schema's fields, functions and lists for the
 * word before the cursor (↑/↓ to choose, Enter or Tab to insert, Esc to close).
 */
export function CelEditor({ id, value, onChange, schema, error }: { id: string; value: string; onChange: (value: string) => void; schema: FraudSchema | undefined; error?: string }) {
  const area = useRef<HTMLTextAreaElement>(null);
  const listId = useId();
  const [cursor, setCursor] = useState(0);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const [check, setCheck] = useState<ExpressionCheck>();
  const [checkError, setCheckError] = useState<string>();
  const [checking, setChecking] = useState(false);

  const candidates = useMemo(() => completionCandidates(schema), [schema]);
  const completions = open ? completionsAt(value, cursor, candidates) : { items: [] };

  useEffect(() => {
    if (value.trim() === '') {
      setCheck(undefined);
      setCheckError(undefined);
      return;
    }
    const abort = new AbortController();
    setChecking(true);
    const timer = setTimeout(() => {
      fraudApi
        .check(value, abort.signal)
        .then((answer) => {
          setCheck(answer);
          setCheckError(undefined);
        })
        .catch((e: unknown) => {
          if (!abort.signal.aborted) setCheckError(`The expression could not be checked: ${errorMessage(e)}`);
        })
        .finally(() => {
          if (!abort.signal.aborted) setChecking(false);
        });
    }, CHECK_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [value]);

  const insert = (item: { text: string; from: number }) => {
    const next = applyCompletion(value, item.from, cursor, item.text);
    onChange(next.text);
    setOpen(false);
    setCursor(next.cursor);
    // After React wrote the new value: put the cursor after the inserted name.
    requestAnimationFrame(() => {
      area.current?.focus();
      area.current?.setSelectionRange(next.cursor, next.cursor);
    });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (completions.items.length === 0) return;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const n = completions.items.length;
      setActive((a) => (a + (event.key === 'ArrowDown' ? 1 : n - 1)) % n);
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      event.preventDefault();
      const item = completions.items[Math.min(active, completions.items.length - 1)];
      if (item) insert(item);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      setOpen(false);
    }
  };

  const problems = check && !check.ok ? check.errors : [];
  const notBool = check?.ok && check.type !== null && check.type !== 'bool';
  const showList = completions.items.length > 0;

  return (
    <div className={`cel-editor${error || problems.length > 0 ? ' field-invalid' : ''}`}>
      <textarea
        id={id}
        ref={area}
        className="mono cel-text"
        rows={Math.min(12, Math.max(4, value.split('\n').length + 1))}
        value={value}
        spellCheck={false}
        autoComplete="off"
        role="combobox"
        aria-expanded={showList}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-invalid={problems.length > 0 || Boolean(error) || undefined}
        placeholder="e.g. shipment.declared_value_usd > 5000.0 && shipment.destination_country in ['NG', 'KP']"
        onChange={(e) => {
          onChange(e.target.value);
          setCursor(e.target.selectionStart);
          setOpen(true);
          setActive(0);
        }}
        onKeyDown={onKeyDown}
        onClick={(e) => {
          setCursor(e.currentTarget.selectionStart);
          setOpen(false);
        }}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
      />
      <ul id={listId} role="listbox" aria-label="Suggestions" className="cel-suggestions" hidden={!showList}>
        {completions.items.map((item, i) => (
          <li
            key={item.text}
            role="option"
            aria-selected={i === active}
            className={i === active ? 'active' : undefined}
            onMouseDown={(e) => {
              // Before the textarea's blur closes the list.
              e.preventDefault();
              insert(item);
            }}
          >
            <code>{item.text}</code> <span className="muted">{item.detail}</span>
          </li>
        ))}
      </ul>
      <div className="cel-status" aria-live="polite">
        {checking && <span className="muted">Checking…</span>}
        {!checking && check?.ok && !notBool && (
          <span className="cel-ok" data-check="ok">
            ✓ Type-checks ({check.type ?? 'bool'})
            {check.aggregates.length > 0 && <> · aggregates: {check.aggregates.map((a) => `${a.kind}(${[a.key, a.field, a.window].filter(Boolean).join(', ')})`).join('; ')}</>}
          </span>
        )}
        {!checking && notBool && (
          <p className="field-error" data-check="type">
            The expression is of type {check?.type}; a criterion must be true or false (bool).
          </p>
        )}
      </div>
      {problems.length > 0 && (
        <ul className="cel-problems" aria-label="Problems">
          {problems.map((p, i) => (
            <li key={i} className="field-error">
              {problemText(p)}
            </li>
          ))}
        </ul>
      )}
      {checkError && <p className="field-error">{checkError}</p>}
      {error && <p className="field-error">{error}</p>}
    </div>
  );
}
