import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { errorMessage } from '../api';
import { archiveDays, dayBounds, isStatusFilter, searchArchive, type ArchivedEvent } from '../archive';
import { ErrorNote } from '../components/ErrorNote';
import { EventFilterFields } from '../components/EventFilterFields';
import { Field } from '../components/Field';
import { LoadOlder, LogTable } from '../components/LogTable';
import { formatBytes, formatCount, formatDateTime } from '../format';
import { archiveQuery } from '../queries';
import { NO_FIELD_FILTERS, type EventSearch, type FieldFilters } from '../logs';

const PAGE_SIZE = 100;

const timeOfDay = (iso: string | null) => (iso === null ? '' : iso.slice(11, 19));

interface Filters extends FieldFilters {
  /** YYYY-MM-DD, both included; empty is open. */
  fromDay: string;
  toDay: string;
}

const NO_FILTERS: Filters = { fromDay: '', toDay: '', ...NO_FIELD_FILTERS };

interface Results {
  /** The search shown, without paging: "Load older" repeats it from `cursor`. */
  params: EventSearch;
  events: ArchivedEvent[];
  cursor: string | null;
  scannedRows: number;
}

export function ArchivePage() {
  const files = useQuery(archiveQuery);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [errors, setErrors] = useState<Partial<Record<'range' | 'status', string>>>({});
  const [results, setResults] = useState<Results>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  /** Counts requests: "Search this day" stays clickable meanwhile, and only the latest answer is shown. */
  const latest = useRef(0);

  useEffect(() => {
    document.title = 'Archive · Vigil';
  }, []);

  const run = async (params: EventSearch, previous?: Results) => {
    const request = ++latest.current;
    setBusy(true);
    setError(undefined);
    try {
      const page = await searchArchive({ ...params, limit: PAGE_SIZE, ...(previous?.cursor ? { cursor: previous.cursor } : {}) });
      if (request !== latest.current) return;
      setResults({
        params,
        events: [...(previous?.events ?? []), ...page.events],
        cursor: page.next_cursor,
        scannedRows: (previous?.scannedRows ?? 0) + page.scanned.rows,
      });
    } catch (e) {
      if (request === latest.current) setError(errorMessage(e));
    } finally {
      if (request === latest.current) setBusy(false);
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

  const set = (name: keyof Filters, value: string) => setFilters((f) => ({ ...f, [name]: value }));
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

      <ErrorNote message={files.error?.message} />
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
                <td className="num right">{formatCount(d.rows)}</td>
                <td className="num right" title={`${formatCount(d.bytes)} bytes in ${d.files} file${d.files === 1 ? '' : 's'}`}>
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
          <input id="archive-from" type="date" value={filters.fromDay} onChange={(e) => set('fromDay', e.target.value)} aria-invalid={Boolean(errors.range)} />
        </Field>
        <Field id="archive-to" label="Last day (UTC)">
          <input id="archive-to" type="date" value={filters.toDay} onChange={(e) => set('toDay', e.target.value)} />
        </Field>
        <EventFilterFields idPrefix="archive" values={filters} statusError={errors.status} statusClasses onChange={set} />
        <div className="logs-filter-actions">
          <button type="submit" className="button primary" disabled={busy}>
            {busy && !results?.events.length ? 'Searching…' : 'Search'}
          </button>
        </div>
      </form>

      <ErrorNote message={error} />
      {results && results.events.length === 0 && !busy && (
        <p className="muted">No archived event matches{results.scannedRows > 0 ? ` (${formatCount(results.scannedRows)} events read)` : ''}.</p>
      )}
      {results && results.events.length > 0 && (
        <>
          <p className="muted logs-count">
            {results.events.length} event{results.events.length === 1 ? '' : 's'}, newest first{results.cursor ? '' : ' (all of them)'}; {formatCount(results.scannedRows)} archived events
            read. Click a row for all its fields.
          </p>
          {/* Keyed by the search: rows opened in another search start closed. */}
          <LogTable key={JSON.stringify(results.params)} events={results.events} utc />
          {results.cursor && <LoadOlder busy={busy} onClick={() => void run(results.params, results)} />}
        </>
      )}
    </section>
  );
}
