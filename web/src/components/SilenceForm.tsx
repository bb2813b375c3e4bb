import { useState, type FormEvent } from 'react';
import { alertsApi, SILENCE_DURATIONS, splitMatchers, type SilenceInput, type SilenceView } from '../alerts';
import { ApiError, fieldMessage } from '../api';
import { useAction } from '../hooks';
import { durationWords } from '../rules';
import { browserZone, localInputToIso } from '../zones';
import { ErrorNote } from './ErrorNote';
import { Field } from './Field';

/** The request fields this form has an input for; a refusal naming one shows under it. */
const FIELDS = ['matchers', 'duration', 'ends_at', 'starts_at', 'comment'];

/** Server names for one matcher are `matchers.2` (or `matchers.2.value`): all shown under the matchers. */
const matcherFieldNames = (error: unknown): string[] => (error instanceof ApiError ? error.fields.map((f) => f.field).filter((f) => f === 'matchers' || f.startsWith('matchers.')) : []);

/**
 * Creates a silence: matchers as amtool writes them (one a line), for a duration or until an end,
 * starting now unless told, with a comment. Opened prefilled from an alert (its labels), or empty
 * on the silences page.
 */
export function SilenceForm({
  idPrefix,
  initialMatchers = [],
  initialComment = '',
  onCreated,
  onCancel,
}: {
  idPrefix: string;
  initialMatchers?: readonly string[];
  initialComment?: string;
  onCreated: (silence: SilenceView) => void;
  onCancel?: () => void;
}) {
  const [matchers, setMatchers] = useState(initialMatchers.join('\n'));
  const [mode, setMode] = useState<'duration' | 'until'>('duration');
  const [duration, setDuration] = useState('2h');
  const [until, setUntil] = useState('');
  const [comment, setComment] = useState(initialComment);
  const create = useAction();
  const error = create.error;
  const known = error instanceof ApiError && error.fields.some((f) => FIELDS.includes(f.field) || f.field.startsWith('matchers.'));
  const fieldError = (...fields: string[]) => fieldMessage(error, ...fields);
  const id = (name: string) => `${idPrefix}-${name}`;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const list = splitMatchers(matchers);
    if (list.length === 0) {
      create.setError(new ApiError(400, 'invalid_field', 'A silence needs at least one matcher.', [{ field: 'matchers', message: 'write at least one matcher, e.g. rule="high traffic"' }]));
      return;
    }
    const endsAt = mode === 'until' ? localInputToIso(until) : undefined;
    if (mode === 'until' && !endsAt) {
      create.setError(new ApiError(400, 'invalid_field', 'The silence needs an end.', [{ field: 'ends_at', message: 'give the end date and time' }]));
      return;
    }
    const input: SilenceInput = { matchers: list, comment: comment.trim(), ...(mode === 'until' ? { ends_at: endsAt } : { duration: duration.trim() }) };
    void create.run(async () => onCreated(await alertsApi.createSilence(input)));
  };

  return (
    <form className="silence-form" onSubmit={submit} noValidate aria-label="New silence">
      <Field
        id={id('matchers')}
        label="Matchers"
        hint={
          <>
            One a line: <code>name="value"</code>, <code>name!="value"</code>, <code>name=~"glob*"</code>. An alert is silenced when all of them match its labels.
          </>
        }
        error={fieldError('matchers', ...matcherFieldNames(error))}
      >
        <textarea id={id('matchers')} className="mono" rows={Math.max(2, Math.min(8, matchers.split('\n').length + 1))} value={matchers} onChange={(e) => setMatchers(e.target.value)} />
      </Field>
      <fieldset className="kind">
        <legend>Silence</legend>
        <label className="radio">
          <input type="radio" name={id('mode')} checked={mode === 'duration'} onChange={() => setMode('duration')} />
          For
        </label>
        <label className="radio">
          <input type="radio" name={id('mode')} checked={mode === 'until'} onChange={() => setMode('until')} />
          Until
        </label>
      </fieldset>
      {mode === 'duration' ? (
        <Field id={id('duration')} label="Duration" hint={`From now, ${durationWords(duration)}. Written as 30m, 2h, 1d.`} error={fieldError('duration')}>
          <span className="inline-choices">
            <input id={id('duration')} className="mono short" value={duration} onChange={(e) => setDuration(e.target.value)} aria-invalid={Boolean(fieldError('duration')) || undefined} />
            <span className="chips" role="group" aria-label="Common durations">
              {SILENCE_DURATIONS.map((d) => (
                <button type="button" key={d} className={`chip${d === duration ? ' chip-on' : ''}`} aria-pressed={d === duration} onClick={() => setDuration(d)}>
                  {d}
                </button>
              ))}
            </span>
          </span>
        </Field>
      ) : (
        <Field id={id('until')} label="Ends" hint={`In your time zone (${browserZone}).`} error={fieldError('ends_at')}>
          <input id={id('until')} type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} aria-invalid={Boolean(fieldError('ends_at')) || undefined} />
        </Field>
      )}
      <Field id={id('comment')} label="Comment" error={fieldError('comment')}>
        <input id={id('comment')} value={comment} maxLength={1000} onChange={(e) => setComment(e.target.value)} placeholder="why, e.g. deploying the fix" />
      </Field>
      <ErrorNote message={known ? undefined : error?.message} />
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={create.busy}>
          {create.busy ? 'Creating…' : 'Create silence'}
        </button>
        {onCancel && (
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
