import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useSearch } from '@tanstack/react-router';
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, ApiError, fieldMessage, type CheckView, type MaintenanceInput, type MaintenanceWindow } from '../api';
import { DurationInput } from '../components/DurationInput';
import { ErrorNote } from '../components/ErrorNote';
import { Field } from '../components/Field';
import { MaintenanceTable } from '../components/MaintenanceTable';
import { TimeZoneSelect } from '../components/TimeZoneSelect';
import { formatDateTime, formatRange } from '../format';
import { useAction, useNow } from '../hooks';
import { cronInWords, describeRecurring, MAINTENANCE_HELP, nextOccurrence } from '../maintenance';
import { checksQuery, maintenanceQuery } from '../queries';
import { browserZone, localInputToIso, toLocalInput } from '../zones';

type Kind = 'once' | 'recurring';

const HOUR_MS = 3600_000;

/** The request fields this form has an input for (`schedule` is the server's name for a bad cron). */
const FIELDS = ['check_id', 'reason', 'starts_at', 'ends_at', 'cron', 'schedule', 'duration', 'tz'];

function AddWindow({ checks, initialCheck, onAdded }: { checks: CheckView[]; initialCheck: string; onAdded: (w: MaintenanceWindow) => void }) {
  const now = useNow();
  const [scope, setScope] = useState(initialCheck);
  const [kind, setKind] = useState<Kind>('once');
  // Starting at the current minute: the usual case is "we are starting maintenance now".
  const [starts, setStarts] = useState(() => toLocalInput(Math.floor(Date.now() / 60_000) * 60_000));
  const [ends, setEnds] = useState(() => toLocalInput(Math.floor(Date.now() / 60_000) * 60_000 + HOUR_MS));
  const [cron, setCron] = useState('0 2 * * 0');
  const [duration, setDuration] = useState<number | null>(2 * 3600);
  const [tz, setTz] = useState(browserZone);
  const [reason, setReason] = useState('');
  const add = useAction();
  const error = add.error;

  // Reached from a check page ("add one for this check"): the form is what the reader came for.
  useEffect(() => {
    if (initialCheck) document.getElementById('add')?.scrollIntoView({ block: 'start' });
  }, [initialCheck]);

  // A refusal naming a field shows under that field; anything else (network, session) above the button.
  const formError = error instanceof ApiError && error.fields.some((f) => FIELDS.includes(f.field)) ? undefined : error?.message;
  const fieldError = (...fields: string[]) => fieldMessage(error, ...fields);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const common = { ...(scope ? { check_id: scope } : {}), ...(reason.trim() ? { reason: reason.trim() } : {}) };
    let input: MaintenanceInput;
    if (kind === 'once') {
      const startsAt = localInputToIso(starts);
      const endsAt = localInputToIso(ends);
      // Said here in the server's words: the browser cannot send a half-typed date.
      const missing = [...(startsAt ? [] : [{ field: 'starts_at', message: 'give the start date and time' }]), ...(endsAt ? [] : [{ field: 'ends_at', message: 'give the end date and time' }])];
      if (!startsAt || !endsAt) {
        add.setError(new ApiError(400, 'invalid_field', 'The window needs a start and an end.', missing));
        return;
      }
      input = { ...common, starts_at: startsAt, ends_at: endsAt };
    } else {
      input = { ...common, cron: cron.trim(), duration: duration ?? 0, tz };
    }
    void add.run(async () => {
      onAdded(await api.createMaintenance(input));
      setReason('');
    });
  };

  const startsIso = localInputToIso(starts);
  const endsIso = localInputToIso(ends);
  const words = cronInWords(cron);
  const next = words ? nextOccurrence(cron.trim(), tz, now) : undefined;

  return (
    <form id="add" className="card maintenance-form" onSubmit={submit} noValidate>
      <h2>Add a maintenance window</h2>
      <div className="field-row">
        <Field id="mw-scope" label="Applies to" error={fieldError('check_id')}>
          <select id="mw-scope" value={scope} onChange={(e) => setScope(e.target.value)}>
            <option value="">All checks of the organisation</option>
            {checks.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </Field>
        <Field id="mw-reason" label="Reason" error={fieldError('reason')}>
          <input id="mw-reason" value={reason} maxLength={1000} onChange={(e) => setReason(e.target.value)} placeholder="optional, e.g. database upgrade" />
        </Field>
      </div>

      <fieldset className="kind">
        <legend>Window</legend>
        <label className="radio">
          <input type="radio" name="mw-kind" value="once" checked={kind === 'once'} onChange={() => setKind('once')} />
          Once
        </label>
        <label className="radio">
          <input type="radio" name="mw-kind" value="recurring" checked={kind === 'recurring'} onChange={() => setKind('recurring')} />
          Recurring
        </label>
      </fieldset>

      {kind === 'once' ? (
        <>
          <div className="field-row">
            <Field id="mw-starts" label="Starts" error={fieldError('starts_at')}>
              <input id="mw-starts" type="datetime-local" value={starts} onChange={(e) => setStarts(e.target.value)} aria-invalid={Boolean(fieldError('starts_at')) || undefined} />
            </Field>
            <Field id="mw-ends" label="Ends" error={fieldError('ends_at')}>
              <input id="mw-ends" type="datetime-local" value={ends} min={starts} onChange={(e) => setEnds(e.target.value)} aria-invalid={Boolean(fieldError('ends_at')) || undefined} />
            </Field>
          </div>
          <p className="hint">
            In your time zone ({browserZone})
            {startsIso && endsIso && Date.parse(endsIso) > Date.parse(startsIso) ? <>: {formatRange(startsIso, endsIso)}</> : null}.
          </p>
        </>
      ) : (
        <div className="field-row">
          <Field
            id="mw-cron"
            label="Opens on (cron)"
            hint={
              words ? (
                <>
                  {words}
                  {next && <>; next {formatDateTime(next.toISOString())} your time</>}
                </>
              ) : (
                <>
                  Five fields: minute hour day-of-month month day-of-week, e.g. <code>0 2 * * 0</code> (Sundays at 02:00).
                </>
              )
            }
            error={fieldError('cron', 'schedule')}
          >
            <input id="mw-cron" className="mono" value={cron} onChange={(e) => setCron(e.target.value)} aria-invalid={Boolean(fieldError('cron', 'schedule')) || undefined} />
          </Field>
          <Field id="mw-duration" label="Lasting" error={fieldError('duration')}>
            <DurationInput id="mw-duration" label="Lasting" value={duration} onChange={setDuration} invalid={Boolean(fieldError('duration'))} />
          </Field>
          <Field id="mw-tz" label="Time zone" hint="The cron is read in this zone; daylight saving time is followed." error={fieldError('tz')}>
            <TimeZoneSelect id="mw-tz" value={tz} onChange={setTz} />
          </Field>
        </div>
      )}

      <ErrorNote message={formError} />
      <div>
        <button type="submit" className="button primary" disabled={add.busy}>
          {add.busy ? 'Adding…' : 'Add window'}
        </button>
      </div>
    </form>
  );
}

/** Words for the delete confirmation: which window is about to go. */
function describeWindow(w: MaintenanceWindow, checkNames: ReadonlyMap<string, string>): string {
  const scope = w.check_id === null ? 'all checks' : `"${checkNames.get(w.check_id) ?? 'a check'}"`;
  const when = w.cron ? describeRecurring(w) : w.starts_at && w.ends_at ? formatRange(w.starts_at, w.ends_at) : '';
  return `the maintenance window for ${scope} (${when})`;
}

export function MaintenancePage() {
  const { check: wantedCheck } = useSearch({ from: '/maintenance' });
  const client = useQueryClient();
  const windows = useQuery(maintenanceQuery);
  const checks = useQuery(checksQuery);
  const removal = useAction();
  const [notice, setNotice] = useState<string>();
  const checkNames = useMemo(() => new Map((checks.data ?? []).map((c) => [c.id, c.name])), [checks.data]);
  const wanted = wantedCheck ?? '';
  const initialCheck = checkNames.has(wanted) ? wanted : '';

  const remove = (w: MaintenanceWindow) => {
    if (!window.confirm(`Delete ${describeWindow(w, checkNames)}?`)) return;
    setNotice(undefined);
    void removal.run(async () => {
      await api.deleteMaintenance(w.id);
      client.setQueryData(maintenanceQuery.queryKey, (list) => list?.filter((x) => x.id !== w.id));
    });
  };

  return (
    <section>
      <header className="page-head">
        <h1>Maintenance</h1>
      </header>
      <p className="muted page-help">{MAINTENANCE_HELP}</p>
      <ErrorNote message={windows.error?.message ?? checks.error?.message ?? removal.error?.message} />
      {notice && (
        <div className="notice" role="status">
          <p>{notice}</p>
        </div>
      )}
      {windows.data && windows.data.length === 0 && <p className="muted">No maintenance window: every missed run alerts.</p>}
      {windows.data && windows.data.length > 0 && <MaintenanceTable windows={windows.data} checkNames={checkNames} onDelete={remove} />}
      {/* Keyed by the wanted check: following "add one for this check" from another check starts a fresh form. */}
      {checks.data && (
        <AddWindow
          key={initialCheck}
          checks={checks.data}
          initialCheck={initialCheck}
          onAdded={(w) => {
            // The answer is the window as stored: no need to fetch the list again.
            client.setQueryData(maintenanceQuery.queryKey, (list) => (list ? [...list.filter((x) => x.id !== w.id), w] : [w]));
            removal.setError(undefined);
            setNotice(`Maintenance window added for ${describeWindow(w, checkNames).replace(/^the maintenance window for /, '')}.`);
          }}
        />
      )}
    </section>
  );
}
