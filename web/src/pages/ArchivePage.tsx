import { useEffect, useState, type FormEvent } from 'react';
import { errorMessage } from '../api';
import { archiveDays, dayBounds, formatBytes, isStatusFilter, listArchive, searchArchive, type ArchivedEvent, type ArchiveSearchParams } from '../archive';
import { ErrorNote } from '../components/ErrorNote';
import { Field } from '../components/Field';
import { formatDateTime, formatDuration } from '../format';
import { useResource } from '../hooks';
import { statusClass } from '../logs';

const PAGE_SIZE = 100;

const utcTime = (iso: string) => `${iso.replace('T', ' ').replace('Z', '')} UTC`;
const timeOfDay = (iso: string | null) => (iso === null ? '' : iso.slice(11, 19));

interface Filters {
  fromDay: string;
  toDay: string;
  q: string;
  service: string;
  status: string;
  section: string;
}

const NO_FILTERS: Filters = { fromDay: '', toDay: '', q: '', service: '', status: '', section: '' };

interface Results {
  params: ArchiveSearchParams;
  events: ArchivedEvent[];
  cursor: string | null;
  scannedRows: number;
}

export function ArchivePage() {
  const files = useResource(() => listArchive(), 'archive');
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [errors, setErrors] = useState<Partial<Record<'range' | 'status', string>>>({});
  const [results, setResults] = useState<Results>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  useEffect(() => {
    document.title = 'Archive · Vigil';
  }, []);

  const run = async (params: ArchiveSearchParams, previous?: Results) => {
    setBusy(true);
    setError(undefined);
    try {
      const page = await searchArchive({ ...params, limit: PAGE_SIZE, ...(previous?.cursor ? { cursor: previous.cursor } : {}) });
      setResults({
        params,
        events: [...(previous?.events ?? []), ...page.events],
        cursor: page.next_cursor,
        scannedRows: (previous?.scannedRows ?? 0) + page.scanned.rows,
      });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const search = (wanted: Filters) => {
    const found: typeof errors = {};
    const bounds = dayBounds(wanted.fromDay, wanted.toDay);
    if (bounds === undefined) found.range = 'The last day must be on or after the first.';
    const status = wanted.status.trim();
    if (status && !isStatusFilter(status)) found.status = 'An HTTP status such as 503, or a class such as 5xx.';
    setErrors(found);
    if (bounds === undefined || Object.keys(found).length) return;
    void run({ ...bounds, q: wanted.q.trim(), service: wanted.service.trim(), status: status.toLowerCase(), section: wanted.section.trim() });
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    search(filters);
  };

  const searchDay = (day: string) => {
    const next = { ...filters, fromDay: day, toDay: day };
    setFilters(next);
    search(next);
  };

  const set = (name: keyof Filters) => (value: string) => setFilters((f) => ({ ...f, [name]: value }));
  const days = files.data ? archiveDays(files.data) : [];

  return (
    <section className="archive-page">
      <header className="page-head">
        <h1>Archive</h1>
      </header>
      <p className="muted page-help">
        Log events older than the hot window leave the database and are kept here as Parquet files, one per UTC day. They stay searchable below (more slowly than on the Logs page), and
        any Parquet reader (DuckDB, pandas) can open the files in the archive directory.
      </p>

      <ErrorNote message={files.error} />
      {files.data && days.length === 0 && <p className="muted">Nothing is archived yet: every event is still in the hot store (see Logs).</p>}
      {days.length > 0 && (
        <table className="archive-days">
          <thead>
            <tr>
              <th>Day (UTC)</th>
              <th className="right">Events</th>
              <th className="right">Size</th>
              <th>Events from – to</th>
              <th>Archived</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {days.map((d) => (
              <tr key={d.day} data-day={d.day}>
                <td className="mono">{d.day}</td>
                <td className="num right">{d.rows.toLocaleString()}</td>
                <td className="num right" title={`${d.bytes.toLocaleString()} bytes in ${d.files} file${d.files === 1 ? '' : 's'}`}>
                  {formatBytes(d.bytes)}
                </td>
                <td className="num">{d.from ? `${timeOfDay(d.from)} – ${timeOfDay(d.to)}` : <span className="muted">empty</span>}</td>
                <td>{formatDateTime(d.created)}</td>
                <td className="right">
                  <button type="button" className="button small" onClick={() => searchDay(d.day)}>
                    Search this day
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Search the archive</h2>
      <form className="logs-filters card" onSubmit={submit} aria-label="Archive search">
        <Field id="archive-from" label="First day (UTC)" error={errors.range}>
          <input id="archive-from" type="date" value={filters.fromDay} onChange={(e) => set('fromDay')(e.target.value)} aria-invalid={Boolean(errors.range)} />
        </Field>
        <Field id="archive-to" label="Last day (UTC)">
          <input id="archive-to" type="date" value={filters.toDay} onChange={(e) => set('toDay')(e.target.value)} />
        </Field>
        <Field id="archive-q" label="Search">
          <input id="archive-q" type="search" value={filters.q} placeholder="text in the message" maxLength={500} onChange={(e) => set('q')(e.target.value)} />
        </Field>
        <Field id="archive-service" label="Service">
          <input id="archive-service" value={filters.service} placeholder="any" maxLength={256} onChange={(e) => set('service')(e.target.value)} />
        </Field>
        <Field id="archive-status" label="Status" error={errors.status}>
          <input id="archive-status" value={filters.status} placeholder="e.g. 503 or 5xx" onChange={(e) => set('status')(e.target.value)} aria-invalid={Boolean(errors.status)} />
        </Field>
        <Field id="archive-section" label="Section">
          <input id="archive-section" value={filters.section} placeholder="e.g. /api" maxLength={1000} onChange={(e) => set('section')(e.target.value)} />
        </Field>
        <div className="logs-filter-actions">
          <button type="submit" className="button primary" disabled={busy}>
            {busy && !results?.events.length ? 'Searching…' : 'Search'}
          </button>
        </div>
      </form>

      <ErrorNote message={error} />
      {results && results.events.length === 0 && !busy && (
        <p className="muted">No archived event matches{results.scannedRows > 0 ? ` (${results.scannedRows.toLocaleString()} events read)` : ''}.</p>
      )}
      {results && results.events.length > 0 && (
        <>
          <p className="muted logs-count">
            {results.events.length} event{results.events.length === 1 ? '' : 's'}, newest first{results.cursor ? '' : ' (all of them)'}; {results.scannedRows.toLocaleString()} archived events read.
          </p>
          <table className="logs-table archive-results">
            <thead>
              <tr>
                <th>Time (UTC)</th>
                <th>Level</th>
                <th>Service</th>
                <th>Method</th>
                <th>Path</th>
                <th>Status</th>
                <th>Duration</th>
                <th>Message</th>
              </tr>
            </thead>
            <tbody>
              {results.events.map((e, i) => (
                <ArchivedRow key={e.id ?? `row-${i}`} event={e} />
              ))}
            </tbody>
          </table>
          {results.cursor && (
            <p>
              <button type="button" className="button" disabled={busy} onClick={() => void run(results.params, results)}>
                {busy ? 'Loading…' : 'Load older'}
              </button>
            </p>
          )}
        </>
      )}
    </section>
  );
}

function ArchivedRow({ event }: { event: ArchivedEvent }) {
  const klass = statusClass(event.status);
  return (
    <tr data-event-id={event.id ?? undefined}>
      <td className="log-time num">
        <time dateTime={event.timestamp} title={new Date(event.timestamp).toLocaleString()}>
          {utcTime(event.timestamp)}
        </time>
      </td>
      <td>{event.level ? <span className={`log-level level-${event.level}`}>{event.level}</span> : <span className="muted">—</span>}</td>
      <td className="ellipsis log-short">{event.service ?? ''}</td>
      <td className="mono">{event.method ?? ''}</td>
      <td className="ellipsis mono" title={event.path ?? undefined}>
        {event.path ?? ''}
      </td>
      <td>{event.status !== null && <span className={`http-status${klass ? ` http-${klass}` : ''}`}>{event.status}</span>}</td>
      <td className="num right">{event.duration_ms === null ? '' : formatDuration(event.duration_ms)}</td>
      <td className="log-message-cell mono" title={event.too_late ? 'Arrived too late to be counted in the traffic statistics' : event.message}>
        <span className="log-message">{event.message}</span>
      </td>
    </tr>
  );
}
