import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { alertsApi, loadErrorMessage, matcherText, splitMatchers, type MuteWindowInput, type MuteWindowView } from '../alerts';
import { ApiError, fieldMessage } from '../api';
import { formatDateTime, formatPeriod } from '../format';
import { useAction } from '../hooks';
import { muteWindowsQuery } from '../queries';
import { browserZone, localInputToIso } from '../zones';
import { ErrorNote } from './ErrorNote';
import { Field } from './Field';
import { RelativeTime } from './RelativeTime';
import { TableHead } from './TableHead';

const FIELDS = ['name', 'matchers', 'starts_at', 'ends_at', 'cron', 'tz', 'duration', 'reason'];

/** When a window is open, in words: its range, or its recurrence. */
function when(w: MuteWindowView): string {
  if (w.cron) return `${w.cron} (${w.tz}), open ${formatPeriod(w.duration_seconds ?? 0)} each time`;
  return `${w.starts_at ? formatDateTime(w.starts_at) : '?'} → ${w.ends_at ? formatDateTime(w.ends_at) : '?'}`;
}

/** Creates a mute window: matchers (one a line), one-off (start, end) or recurring (cron, time zone, duration). */
function MuteWindowForm({ onCreated }: { onCreated: (w: MuteWindowView) => void }) {
  const [name, setName] = useState('');
  const [matchers, setMatchers] = useState('');
  const [mode, setMode] = useState<'once' | 'recurring'>('recurring');
  const [startsAt, setStartsAt] = useState('');
  const [endsAt, setEndsAt] = useState('');
  const [cron, setCron] = useState('0 2 * * 0');
  const [tz, setTz] = useState(browserZone);
  const [duration, setDuration] = useState('2h');
  const [reason, setReason] = useState('');
  const create = useAction();
  const error = create.error;
  const known = error instanceof ApiError && error.fields.some((f) => FIELDS.includes(f.field) || f.field.startsWith('matchers'));
  const fieldError = (...fields: string[]) => fieldMessage(error, ...fields);
  const matcherErrors = error instanceof ApiError ? error.fields.map((f) => f.field).filter((f) => f.startsWith('matchers')) : [];

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const timing: Partial<MuteWindowInput> =
      mode === 'recurring' ? { cron: cron.trim(), tz: tz.trim(), duration: duration.trim() } : { starts_at: localInputToIso(startsAt) ?? startsAt, ends_at: localInputToIso(endsAt) ?? endsAt };
    const input: MuteWindowInput = { name: name.trim(), matchers: splitMatchers(matchers), reason: reason.trim(), ...timing };
    void create.run(async () => onCreated(await alertsApi.createMuteWindow(input)));
  };

  return (
    <form className="silence-form mute-window-form" onSubmit={submit} noValidate aria-label="New mute window">
      <Field id="mute-name" label="Name" error={fieldError('name')}>
        <input id="mute-name" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} placeholder="e.g. weekly backups" />
      </Field>
      <Field id="mute-matchers" label="Matchers" hint={<>One a line, as for silences: <code>source="job"</code>, <code>rule="high traffic"</code>.</>} error={fieldError('matchers', ...matcherErrors)}>
        <textarea id="mute-matchers" className="mono" rows={3} value={matchers} onChange={(e) => setMatchers(e.target.value)} />
      </Field>
      <fieldset className="kind">
        <legend>Window</legend>
        <label className="radio">
          <input type="radio" name="mute-mode" checked={mode === 'recurring'} onChange={() => setMode('recurring')} />
          Recurring
        </label>
        <label className="radio">
          <input type="radio" name="mute-mode" checked={mode === 'once'} onChange={() => setMode('once')} />
          Once
        </label>
      </fieldset>
      {mode === 'recurring' ? (
        <>
          <Field id="mute-cron" label="Opens at (cron)" hint="Five fields: minute hour day-of-month month day-of-week." error={fieldError('cron')}>
            <input id="mute-cron" className="mono" value={cron} onChange={(e) => setCron(e.target.value)} />
          </Field>
          <Field id="mute-tz" label="Time zone" error={fieldError('tz')}>
            <input id="mute-tz" value={tz} onChange={(e) => setTz(e.target.value)} />
          </Field>
          <Field id="mute-duration" label="Open for" hint="Written as 30m, 2h, 1d." error={fieldError('duration')}>
            <input id="mute-duration" className="mono short" value={duration} onChange={(e) => setDuration(e.target.value)} />
          </Field>
        </>
      ) : (
        <>
          <Field id="mute-starts" label="Starts" hint={`In your time zone (${browserZone}).`} error={fieldError('starts_at')}>
            <input id="mute-starts" type="datetime-local" value={startsAt} onChange={(e) => setStartsAt(e.target.value)} />
          </Field>
          <Field id="mute-ends" label="Ends" error={fieldError('ends_at')}>
            <input id="mute-ends" type="datetime-local" value={endsAt} onChange={(e) => setEndsAt(e.target.value)} />
          </Field>
        </>
      )}
      <Field id="mute-reason" label="Reason" error={fieldError('reason')}>
        <input id="mute-reason" value={reason} maxLength={1000} onChange={(e) => setReason(e.target.value)} />
      </Field>
      <ErrorNote message={known ? undefined : error?.message} />
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={create.busy}>
          {create.busy ? 'Creating…' : 'Create mute window'}
        </button>
      </div>
    </form>
  );
}

/**
 * Mute windows (Silences page): recurring or planned silences, maintenance windows among them
 * (those are edited on the Maintenance page). While one is open, matching alerts are not notified;
 * what still fires when it closes is notified then.
 */
export function MuteWindows() {
  const client = useQueryClient();
  const windows = useQuery(muteWindowsQuery);
  const remove = useAction();
  const [created, setCreated] = useState(0);

  const onDelete = (w: MuteWindowView) => {
    if (!window.confirm(`Delete the mute window "${w.name}"?`)) return;
    void remove.run(async () => {
      await alertsApi.deleteMuteWindow(w.id);
      await client.invalidateQueries({ queryKey: muteWindowsQuery.queryKey });
      void client.invalidateQueries({ queryKey: ['alerts'] });
    });
  };

  return (
    <section className="mute-windows" aria-labelledby="mute-windows-title">
      <h2 id="mute-windows-title">Mute windows</h2>
      <p className="muted page-help">
        A mute window silences the matching alerts while it is open: once, or at every occurrence of a schedule (maintenance windows are mute windows too). What still fires when it closes is notified then.
      </p>
      <ErrorNote message={loadErrorMessage(windows.error, 'Mute windows') ?? remove.error?.message} />
      {windows.data && windows.data.length === 0 && <p className="muted">No mute window.</p>}
      {windows.data && windows.data.length > 0 && (
        <table className="silences-table mute-windows-table">
          <TableHead columns={['Name', 'Matchers', 'When', 'State']} />
          <tbody>
            {windows.data.map((w) => (
              <tr key={w.id} data-mute-window-id={w.id} data-state={w.state}>
                <td>
                  {w.name}
                  {w.kind === 'maintenance' && <span className="muted small"> (maintenance)</span>}
                  {w.reason && <p className="muted small">{w.reason}</p>}
                </td>
                <td>
                  <ul className="matchers">
                    {w.matchers.map((m, i) => (
                      <li key={i} className="mono label-chip">
                        {matcherText(m)}
                      </li>
                    ))}
                  </ul>
                </td>
                <td className="small">{when(w)}</td>
                <td>
                  {w.state}
                  {w.next_change && (
                    <p className="muted small">
                      {w.state === 'open' ? 'closes' : 'opens'} <RelativeTime iso={w.next_change} />
                    </p>
                  )}
                </td>
                <td>
                  <button type="button" className="button small" disabled={remove.busy} onClick={() => onDelete(w)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="card silence-new">
        <h3>New mute window</h3>
        <MuteWindowForm
          key={created}
          onCreated={(w) => {
            client.setQueryData(muteWindowsQuery.queryKey, (list) => (list ? [...list.filter((x) => x.id !== w.id), w] : [w]));
            void client.invalidateQueries({ queryKey: ['alerts'] });
            setCreated((n) => n + 1);
          }}
        />
      </div>
    </section>
  );
}
