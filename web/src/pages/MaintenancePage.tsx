import { useState, type FormEvent } from 'react';
import { api, errorMessage, type MaintenanceInput, type MaintenanceWindow } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { formatDateTime } from '../format';
import { useNow, useResource } from '../hooks';
import { Link } from '../router';

const zones = (): string[] => {
  const list = (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  return list.includes('UTC') ? list : ['UTC', ...list];
};

/** A one-off window is active between its start and end; a recurring one is described, not computed here. */
const activeNow = (w: MaintenanceWindow, now: number) => !!w.starts_at && !!w.ends_at && Date.parse(w.starts_at) <= now && now < Date.parse(w.ends_at);

function AddWindow({ checks, onAdded }: { checks: { id: string; name: string }[]; onAdded: (w: MaintenanceWindow) => void }) {
  const [kind, setKind] = useState<'once' | 'recurring'>('once');
  const [checkId, setCheckId] = useState('');
  const [startsAt, setStartsAt] = useState('');
  const [endsAt, setEndsAt] = useState('');
  const [cron, setCron] = useState('0 2 * * 0');
  const [minutes, setMinutes] = useState('60');
  const [tz, setTz] = useState(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    const scope = { check_id: checkId || null, ...(reason.trim() ? { reason: reason.trim() } : {}) };
    // datetime-local values are in the browser's zone; the API takes instants.
    const input: MaintenanceInput =
      kind === 'once'
        ? { ...scope, starts_at: startsAt ? new Date(startsAt).toISOString() : '', ends_at: endsAt ? new Date(endsAt).toISOString() : '' }
        : { ...scope, cron, duration: Math.round(Number(minutes) * 60), tz };
    try {
      onAdded(await api.createMaintenance(input));
      setReason('');
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  return (
    <form className="card channel-form" onSubmit={(e) => void submit(e)}>
      <h2>Add a maintenance window</h2>
      <div className="field-row">
        <div className="field">
          <label htmlFor="mw-kind">Kind</label>
          <select id="mw-kind" value={kind} onChange={(e) => setKind(e.target.value as 'once' | 'recurring')}>
            <option value="once">One-off</option>
            <option value="recurring">Recurring (cron)</option>
          </select>
        </div>
        <div className="field grow">
          <label htmlFor="mw-check">Applies to</label>
          <select id="mw-check" value={checkId} onChange={(e) => setCheckId(e.target.value)}>
            <option value="">Every check</option>
            {checks.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name || c.id}
              </option>
            ))}
          </select>
        </div>
      </div>
      {kind === 'once' ? (
        <div className="field-row">
          <div className="field">
            <label htmlFor="mw-start">Starts</label>
            <input id="mw-start" type="datetime-local" required value={startsAt} onChange={(e) => setStartsAt(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="mw-end">Ends</label>
            <input id="mw-end" type="datetime-local" required value={endsAt} onChange={(e) => setEndsAt(e.target.value)} />
          </div>
        </div>
      ) : (
        <div className="field-row">
          <div className="field">
            <label htmlFor="mw-cron">Opens at (cron)</label>
            <input id="mw-cron" className="mono" required value={cron} onChange={(e) => setCron(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="mw-minutes">For (minutes)</label>
            <input id="mw-minutes" type="number" min={1} required value={minutes} onChange={(e) => setMinutes(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="mw-tz">Time zone</label>
            <select id="mw-tz" value={tz} onChange={(e) => setTz(e.target.value)}>
              {zones().map((z) => (
                <option key={z} value={z}>
                  {z}
                </option>
              ))}
            </select>
          </div>
        </div>
      )}
      <div className="field">
        <label htmlFor="mw-reason">Reason</label>
        <input id="mw-reason" value={reason} onChange={(e) => setReason(e.target.value)} placeholder="optional, e.g. database upgrade" maxLength={1000} />
      </div>
      <p className="hint">A run missed during a window marks the check down without alerting; alerts resume for runs due after it.</p>
      <ErrorNote message={error} />
      <div>
        <button type="submit" className="button primary">
          Add window
        </button>
      </div>
    </form>
  );
}

export function MaintenancePage() {
  const windows = useResource(() => api.listMaintenance(), 'maintenance');
  const checks = useResource(() => api.listChecks(), 'checks');
  const [error, setError] = useState<string>();
  const now = useNow();
  const nameOf = (id: string) => checks.data?.find((c) => c.id === id)?.name || id;

  const remove = async (w: MaintenanceWindow) => {
    if (!window.confirm('Delete this maintenance window?')) return;
    setError(undefined);
    try {
      await api.deleteMaintenance(w.id);
      windows.setData((list) => list?.filter((x) => x.id !== w.id));
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  return (
    <section>
      <header className="page-head">
        <h1>Maintenance</h1>
        <p className="muted">Windows during which missed runs do not alert.</p>
      </header>
      <ErrorNote message={windows.error ?? error} />
      {windows.data && windows.data.length === 0 && <p className="muted">No maintenance window.</p>}
      {windows.data && windows.data.length > 0 && (
        <table className="channels-table">
          <thead>
            <tr>
              <th>When</th>
              <th>Applies to</th>
              <th>Reason</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {windows.data.map((w) => (
              <tr key={w.id}>
                <td>
                  {w.cron ? (
                    <span>
                      <code>{w.cron}</code> ({w.tz}) for {Math.round((w.duration ?? 0) / 60)} min
                    </span>
                  ) : (
                    <span>
                      {formatDateTime(w.starts_at ?? '')} → {formatDateTime(w.ends_at ?? '')}
                    </span>
                  )}{' '}
                  {activeNow(w, now) && <span className="status status-late">active now</span>}
                </td>
                <td>{w.check_id ? <Link href={`/checks/${w.check_id}`}>{nameOf(w.check_id)}</Link> : 'every check'}</td>
                <td>{w.reason || <span className="muted">—</span>}</td>
                <td className="right">
                  <button type="button" className="button small danger" onClick={() => void remove(w)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <AddWindow checks={(checks.data ?? []).map((c) => ({ id: c.id, name: c.name }))} onAdded={(w) => windows.setData((list) => [...(list ?? []), w])} />
    </section>
  );
}
