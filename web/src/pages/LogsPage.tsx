import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { startTransition, useEffect, useEffectEvent, useMemo, useOptimistic, useRef, useState, type FormEvent } from 'react';
import { errorMessage } from '../api';
import { CopyButton } from '../components/CopyButton';
import { ErrorNote } from '../components/ErrorNote';
import { EventFilterFields } from '../components/EventFilterFields';
import { Field } from '../components/Field';
import { LoadOlder, LogTable } from '../components/LogTable';
import { RejectedEvents } from '../components/RejectedEvents';
import { VolumeBar } from '../components/VolumeBar';
import { formatCount, formatDateTime } from '../format';
import { onLiveEvent, useLiveState } from '../live';
import {
  DEFAULT_RANGE,
  describeRange,
  isHttpStatus,
  logVolume,
  filtersFromQuery,
  logsHref,
  logsSearch,
  maxId,
  mergeNewest,
  narrowed,
  NO_FIELD_FILTERS,
  RANGE_PRESETS,
  rangeEndsNow,
  searchLogs,
  searchParamsOf,
  volumeStepOf,
  type FieldFilters,
  type LogVolume,
  type LogFilters,
  type RangePreset,
  type StoredEvent,
} from '../logs';
import { localInputToIso, toLocalInput } from '../zones';

/** Rows per search page and per "Load older". */
const PAGE_SIZE = 100;
/** Rows the live tail keeps: enough to read back a burst, few enough to keep the page fast. */
const TAIL_CAP = 500;
/** Fallback poll while live: the `logs` event comes only from a running stream processor. */
const POLL_MS = 5000;
/** At most one tail request per second, however fast `logs` events come. */
const MIN_TAIL_GAP_MS = 1000;
/**
 * How far before the newest row (or now, if a sender's clock runs ahead) the tail looks for late
 * arrivals: agents flush in batches (Fluent Bit every 5 s by default), so an event can arrive after
 * newer ones from another host. It bounds the scan; `after_id` keeps rows from being fetched twice.
 */
const LATE_LOOKBACK_MS = 2 * 60_000;
/**
 * While the tail brings new rows, the count and bars are asked again at most this often: a count
 * walks up to 100,000 rows, a tail request a handful.
 */
const VOLUME_REFRESH_MS = 10_000;
/** A quiet live view counts again this often, as its sliding range drops old events. */
const VOLUME_QUIET_REFRESH_MS = 60_000;

interface View {
  rows: StoredEvent[];
  /** Cursor of the next older page; null when the bottom row is the oldest match. */
  cursor: string | null;
  /** The tail cut rows from the bottom, so `cursor` no longer follows the last row shown. */
  stale: boolean;
}

const EMPTY_VIEW: View = { rows: [], cursor: null, stale: false };

/**
 * The search, its live tail and its count. Kept hand-written on purpose (not TanStack Query): the
 * tail merges throttled increments into a capped list by id, which is no cache entry to refetch.
 */
export function LogsPage() {
  const search = useSearch({ from: '/logs' });
  const filters = useMemo(() => filtersFromQuery(new URLSearchParams(search)), [search]);
  const navigate = useNavigate();
  // What is searched; the live toggle only changes how the view keeps up, not what it shows.
  const searchKey = logsHref({ ...filters, live: true });
  const { epoch } = useLiveState();

  const [view, setView] = useState<View>(EMPTY_VIEW);
  const [load, setLoad] = useState<{ loading: boolean; error?: string }>({ loading: true });
  const [tailError, setTailError] = useState<string>();
  const [older, setOlder] = useState<{ busy: boolean; error?: string }>({ busy: false });
  const [scrolledDown, setScrolledDown] = useState(false);
  const resultsRef = useRef<HTMLDivElement>(null);
  /** How many events match the search (not how many rows are loaded), and when. */
  const [volume, setVolume] = useState<{ data?: LogVolume; error?: string }>({});
  const volumeRefresh = useRef({ generation: 0, last: 0, timer: undefined as number | undefined });

  /**
   * The tail's bookkeeping, outside React state: it is read and written by timers and answers.
   * `generation` changes with the search, so answers to an earlier one are dropped. The tail asks
   * for ids after `previousSeenId` (the newest id known one request earlier), not `seenId`: a
   * concurrent ingest can commit a lower id after a higher one was read, and the one-request
   * overlap (deduplicated by id) still catches it. `searching`: the request out is the search
   * itself, whose answer is the newest rows.
   */
  const tail = useRef({ generation: 0, searching: false, inFlight: false, pending: false, lastStart: 0, timer: undefined as number | undefined, seenId: undefined as string | undefined, previousSeenId: undefined as string | undefined });

  const liveAllowed = rangeEndsNow(filters);
  const liveOn = liveAllowed && filters.live;
  const liveActive = liveOn && !scrolledDown;

  useEffect(() => {
    document.title = 'Logs · Vigil';
  }, []);

  // A new search starts from scratch; a reconnected live stream (epoch) reloads what is shown.
  const shownKey = useRef(searchKey);
  useEffect(() => {
    const t = tail.current;
    const volume = volumeRefresh.current;
    const generation = ++t.generation;
    clearTimeout(t.timer);
    Object.assign(t, { searching: true, inFlight: true, pending: false, lastStart: Date.now(), timer: undefined });
    if (shownKey.current !== searchKey) {
      shownKey.current = searchKey;
      setView(EMPTY_VIEW);
    }
    setLoad({ loading: true });
    setTailError(undefined);
    loadVolume(true);
    searchLogs({ ...searchParamsNow(), limit: PAGE_SIZE })
      .then(
        (page) => {
          if (generation !== t.generation) return;
          setView({ rows: page.events, cursor: page.next_cursor, stale: false });
          t.seenId = t.previousSeenId = maxId(page.events);
          setLoad({ loading: false });
        },
        (error: unknown) => generation === t.generation && setLoad({ loading: false, error: errorMessage(error) }),
      )
      .finally(() => {
        if (generation !== t.generation) return;
        t.searching = t.inFlight = false;
        if (t.pending) requestTail();
      });
    return () => {
      // Unmounting or searching again: answers still on their way belong to nothing shown.
      t.generation++;
      clearTimeout(t.timer);
      volume.generation++;
      clearTimeout(volume.timer);
    };
  }, [searchKey, epoch]);

  // The search's parameters as of now. An effect event: `filters` also changes with the live flag,
  // which must not start the search again (`searchKey` is what is searched).
  const searchParamsNow = useEffectEvent(() => searchParamsOf(filters, Date.now()));

  /**
   * Counts the search's matches per bucket. `fresh`: a new search, whose old count no longer applies;
   * otherwise (new rows from the tail) at most once per VOLUME_REFRESH_MS, keeping the count shown meanwhile.
   */
  const loadVolume = useEffectEvent((fresh: boolean) => {
    const v = volumeRefresh.current;
    if (fresh) {
      v.generation++;
      clearTimeout(v.timer);
      v.timer = undefined;
      setVolume({});
    } else {
      if (v.timer !== undefined) return;
      const wait = v.last + VOLUME_REFRESH_MS - Date.now();
      if (wait > 0) {
        v.timer = window.setTimeout(() => {
          v.timer = undefined;
          loadVolume(false);
        }, wait);
        return;
      }
    }
    const generation = v.generation;
    v.last = Date.now();
    logVolume(searchParamsOf(filters, Date.now()), volumeStepOf(filters)).then(
      (data) => generation === v.generation && setVolume({ data }),
      (error: unknown) => generation === v.generation && setVolume((old) => ({ ...old, error: errorMessage(error) })),
    );
  });

  /** Fetches what arrived since the newest row (throttled; queued while a request is out). */
  const requestTail = useEffectEvent(() => {
    const t = tail.current;
    // A tab in the background asks nothing; it catches up when shown again (visibilitychange below).
    if (!liveActive || document.hidden) return;
    if (t.inFlight) {
      t.pending = true;
      return;
    }
    const wait = t.lastStart + MIN_TAIL_GAP_MS - Date.now();
    if (wait > 0) {
      t.timer ??= window.setTimeout(() => {
        t.timer = undefined;
        requestTail();
      }, wait);
      return;
    }
    const generation = t.generation;
    t.inFlight = true;
    t.pending = false;
    t.lastStart = Date.now();
    const now = Date.now();
    const base = searchParamsOf(filters, now);
    const newest = view.rows[0];
    // A sliding range ("last hour") drops rows that fell out of it; a custom one has a fixed start.
    const notBefore = filters.range === 'custom' || !base.from ? undefined : Date.parse(base.from);
    const request =
      newest === undefined
        ? searchLogs({ ...base, limit: PAGE_SIZE })
        : searchLogs({ ...base, from: tailFrom(base.from, newest, now), afterId: t.previousSeenId, limit: TAIL_CAP });
    request
      .then(
        (page) => {
          if (generation !== t.generation) return;
          if (newest === undefined) {
            setView({ rows: page.events, cursor: page.next_cursor, stale: false });
            setLoad({ loading: false });
            t.seenId = t.previousSeenId = maxId(page.events, t.seenId);
            if (page.events.length > 0) loadVolume(false);
          } else {
            setView((v) => {
              const merged = mergeNewest(v.rows, page.events, TAIL_CAP, notBefore);
              return { rows: merged.rows, cursor: v.cursor, stale: v.stale || merged.trimmed };
            });
            // New matches: the count and bars follow, throttled. A quiet sliding range ("last hour")
            // still loses old events as it moves on: counted again now and then.
            if (page.events.length > 0 || (notBefore !== undefined && Date.now() - volumeRefresh.current.last > VOLUME_QUIET_REFRESH_MS)) loadVolume(false);
            t.previousSeenId = t.seenId;
            t.seenId = maxId(page.events, t.seenId);
          }
          setTailError(undefined);
        },
        (error: unknown) => generation === t.generation && setTailError(errorMessage(error)),
      )
      .finally(() => {
        if (generation !== t.generation) return;
        t.inFlight = false;
        if (t.pending) requestTail();
      });
  });

  // While live: catch up at once (turned on, or back at the top), then poll as a fallback. A
  // search being loaded (the page just opened, or the range now ends now) is already the catch-up:
  // asking for a tail too only queued a second request behind it.
  useEffect(() => {
    if (!liveActive) return;
    if (!tail.current.searching) requestTail();
    const timer = window.setInterval(() => requestTail(), POLL_MS);
    return () => window.clearInterval(timer);
  }, [liveActive]);

  // The stream processor says a batch was committed: fetch it (throttled by requestTail).
  useEffect(() => onLiveEvent('logs', () => requestTail()), []);

  useEffect(() => {
    const onVisible = () => !document.hidden && requestTail();
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, []);

  // Reading down the list pauses the tail: rows appearing above would move what is being read.
  useEffect(() => {
    const onScroll = () => setScrolledDown((resultsRef.current?.getBoundingClientRect().top ?? 0) < 0);
    onScroll();
    window.addEventListener('scroll', onScroll, { passive: true });
    return () => window.removeEventListener('scroll', onScroll);
  }, []);

  const loadOlder = async () => {
    const generation = tail.current.generation;
    setOlder({ busy: true });
    try {
      const base = searchParamsOf(filters, Date.now());
      if (view.stale) {
        // The tail cut the bottom rows, and with them the cursor's place: search again, one page deeper.
        const page = await searchLogs({ ...base, limit: Math.min(1000, view.rows.length + PAGE_SIZE) });
        if (generation === tail.current.generation) setView({ rows: page.events, cursor: page.next_cursor, stale: false });
      } else if (view.cursor) {
        const page = await searchLogs({ ...base, cursor: view.cursor, limit: PAGE_SIZE });
        if (generation === tail.current.generation)
          setView((v) => {
            const known = new Set(v.rows.map((r) => r.id));
            return { rows: [...v.rows, ...page.events.filter((e) => !known.has(e.id))], cursor: page.next_cursor, stale: v.stale };
          });
      }
      setOlder({ busy: false });
    } catch (error) {
      setOlder({ busy: false, error: errorMessage(error) });
    }
  };

  // The router applies a navigation in a transition: the checkbox shows its new state at once meanwhile.
  const [liveShown, showLive] = useOptimistic(liveOn);
  const setLive = (live: boolean) =>
    startTransition(async () => {
      showLive(live);
      await navigate({ to: '/logs', search: logsSearch({ ...filters, live }), replace: true });
    });
  const hasOlder = view.cursor !== null || view.stale;

  return (
    <section className="logs-page">
      <header className="page-head">
        <h1>Logs</h1>
        <TailState liveAllowed={liveAllowed} liveOn={liveOn} paused={liveOn && scrolledDown} />
        <label className="checkbox live-toggle" title={liveAllowed ? 'New events appear at the top as they arrive' : 'The live tail follows ranges that end now'}>
          <input type="checkbox" checked={liveShown} disabled={!liveAllowed} onChange={(e) => setLive(e.target.checked)} /> Live tail
        </label>
      </header>

      <FilterBar key={searchKey} filters={filters} />

      <ErrorNote message={load.error} />
      {tailError && <p className="hint">Live tail: {tailError} Retrying.</p>}
      {load.loading && view.rows.length === 0 && <p className="muted">Loading…</p>}
      {!load.loading && !load.error && view.rows.length === 0 && <EmptyState filters={filters} />}

      <div ref={resultsRef}>
        {view.rows.length > 0 && (
          <>
            <MatchCount filters={filters} shown={view.rows.length} hasOlder={hasOlder} volume={volume} />
            {volume.data && <VolumeBar volume={volume.data} />}
            {/* Keyed by the search: rows opened in another search start closed. */}
            <LogTable key={searchKey} events={view.rows} />
          </>
        )}
      </div>

      {liveOn && scrolledDown && (
        <button type="button" className="button primary tail-resume" onClick={() => window.scrollTo({ top: 0 })}>
          Live tail paused · back to newest
        </button>
      )}
      <ErrorNote message={older.error} />
      {view.rows.length > 0 && hasOlder && <LoadOlder busy={older.busy} onClick={() => void loadOlder()} />}
      <RejectedEvents />
    </section>
  );
}

/**
 * "2,345 events in the last hour, newest first; the newest 100 are listed": the number that match,
 * from the volume count, not the number of rows loaded. Past the server's counting limit it says
 * "more than"; while the count is on its way (or failed) it says what is loaded, as such.
 */
function MatchCount({ filters, shown, hasOlder, volume }: { filters: LogFilters; shown: number; hasOlder: boolean; volume: { data?: LogVolume; error?: string } }) {
  const plural = (n: number) => `event${n === 1 ? '' : 's'}`;
  const listed = `the newest ${formatCount(shown)} ${shown === 1 ? 'is' : 'are'} listed`;
  let text: string;
  if (!volume.data) {
    text = `${formatCount(shown)} ${plural(shown)} loaded ${describeRange(filters)}, newest first${hasOlder ? '' : ' (all of them)'}${volume.error ? ` (could not count them all: ${volume.error})` : '; counting all matches…'}`;
  } else if (!volume.data.exact) {
    const from = volume.data.counted_from;
    text = `More than ${formatCount(volume.data.total)} events ${describeRange(filters)} (counting stops there${from ? `; the bars before ${formatDateTime(from)} are not counted` : ''}); ${listed}`;
  } else {
    // Rows the tail brought since the count are matches too: the count is never below what is shown.
    const total = Math.max(volume.data.total, shown);
    text = `${formatCount(total)} ${plural(total)} ${describeRange(filters)}, newest first; ${total > shown ? listed : 'all are listed'}`;
  }
  return (
    <p className="muted logs-count" data-total={volume.data?.total} data-exact={volume.data ? String(volume.data.exact) : undefined}>
      {text}. Click a row for all its fields.
    </p>
  );
}

/** The tail's lower bound: a little before the newest row, never before the range's start. */
function tailFrom(rangeFrom: string | undefined, newest: StoredEvent, now: number): string {
  const anchor = Math.min(Date.parse(newest.timestamp), now) - LATE_LOOKBACK_MS;
  return new Date(rangeFrom === undefined ? anchor : Math.max(Date.parse(rangeFrom), anchor)).toISOString();
}

function TailState({ liveAllowed, liveOn, paused }: { liveAllowed: boolean; liveOn: boolean; paused: boolean }) {
  if (!liveAllowed) return <span className="tail-state tail-off">Fixed range</span>;
  if (!liveOn) return <span className="tail-state tail-off">Live tail off</span>;
  if (paused)
    return (
      <span className="tail-state tail-paused" data-tail="paused" title="Scroll back to the top to resume">
        Paused while you scroll
      </span>
    );
  return (
    <span className="tail-state tail-live" data-tail="live" title="New events appear at the top as they arrive">
      <span className="live-dot" aria-hidden="true" /> Live
    </span>
  );
}

type FieldName = 'from' | 'to' | 'status';

function FilterBar({ filters }: { filters: LogFilters }) {
  const [range, setRange] = useState<LogFilters['range']>(filters.range);
  const [from, setFrom] = useState(() => (filters.from ? toLocalInput(Date.parse(filters.from)) : ''));
  const [to, setTo] = useState(() => (filters.to ? toLocalInput(Date.parse(filters.to)) : ''));
  const [fields, setFields] = useState<FieldFilters>({ q: filters.q, service: filters.service, status: filters.status, section: filters.section });
  const [errors, setErrors] = useState<Partial<Record<FieldName, string>>>({});
  const navigate = useNavigate();

  const apply = (nextRange: LogFilters['range']) => {
    const found: Partial<Record<FieldName, string>> = {};
    const status = fields.status.trim();
    if (status && !isHttpStatus(status)) {
      found.status = 'An HTTP status code from 100 to 599, such as 404 or 503.';
    }
    let custom: { from?: string; to?: string } = {};
    if (nextRange === 'custom') {
      const fromIso = localInputToIso(from);
      const toIso = to ? localInputToIso(to) : undefined;
      if (!fromIso) found.from = 'Give the start date and time.';
      if (to && !toIso) found.to = 'Give a full date and time, or leave it empty for "now".';
      if (fromIso && toIso && Date.parse(toIso) <= Date.parse(fromIso)) found.to = 'Must be after the start.';
      custom = { ...(fromIso ? { from: fromIso } : {}), ...(toIso ? { to: toIso } : {}) };
    }
    setErrors(found);
    if (Object.keys(found).length) return;
    void navigate({ to: '/logs', search: logsSearch({ range: nextRange, ...custom, ...fields, status, live: filters.live }) });
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    apply(range);
  };

  const pickRange = (value: string) => {
    if (value === 'custom') {
      // Start from what was shown: a custom range is usually a preset narrowed down.
      const shown = searchParamsOf(filters, Date.now());
      setRange('custom');
      if (!from && shown.from) setFrom(toLocalInput(Date.parse(shown.from)));
      return;
    }
    setRange(value as RangePreset);
    apply(value as RangePreset);
  };

  return (
    <form className="logs-filters card" onSubmit={submit} aria-label="Log filters">
      <div className="field">
        <label htmlFor="logs-range">Range</label>
        <select id="logs-range" value={range} onChange={(e) => pickRange(e.target.value)}>
          {RANGE_PRESETS.map((p) => (
            <option key={p.key} value={p.key}>
              {p.label}
            </option>
          ))}
          <option value="custom">Custom…</option>
        </select>
      </div>
      {range === 'custom' && (
        <>
          <Field id="logs-from" label="From" error={errors.from}>
            <input id="logs-from" type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} aria-invalid={Boolean(errors.from)} />
          </Field>
          <Field id="logs-to" label="To" error={errors.to} hint="Empty: until now (live).">
            <input id="logs-to" type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} aria-invalid={Boolean(errors.to)} />
          </Field>
        </>
      )}
      <EventFilterFields idPrefix="logs" values={fields} statusError={errors.status} onChange={(name, value) => setFields((f) => ({ ...f, [name]: value }))} />
      <div className="logs-filter-actions">
        <button type="submit" className="button primary">
          Apply
        </button>
        {(narrowed(filters) || filters.range === 'custom') && (
          <Link to="/logs" search={logsSearch({ range: DEFAULT_RANGE, ...NO_FIELD_FILTERS, live: filters.live })} className="button">
            Clear
          </Link>
        )}
      </div>
    </form>
  );
}

function EmptyState({ filters }: { filters: LogFilters }) {
  if (narrowed(filters)) {
    return (
      <div className="card empty">
        <h2>No event matches</h2>
        <p>
          Nothing {describeRange(filters)} matches these filters. The search looks for the text in the message (any case); service, status and section must match exactly.
        </p>
      </div>
    );
  }
  const curl = `curl -fsS -X POST ${window.location.origin}/api/v1/logs -H "X-Api-Key: $VIGIL_API_KEY" -H 'Content-Type: application/json' -d '{"message":"hello from curl","service":"demo","level":"info"}'`;
  return (
    <div className="card empty logs-empty">
      <h2>No log events {describeRange(filters)}</h2>
      <p>Send one to see it appear here{rangeEndsNow(filters) && filters.live ? ' without reloading' : ''}:</p>
      <div className="snippet">
        <div className="snippet-head">
          <strong>Send an event with curl</strong>
          <span className="muted">Needs an API key with the member or admin role.</span>
          <CopyButton text={curl} />
        </div>
        <pre>
          <code>{curl}</code>
        </pre>
      </div>
      <p className="hint">
        The same endpoint takes a JSON array, NDJSON, or access-log lines (<code>?format=clf|combined|csv</code>). Agents can send to their own protocol: Datadog
        (<code>/api/v2/logs</code>), Loki (<code>/loki/api/v1/push</code>) and OpenTelemetry (<code>/v1/logs</code>).
      </p>
    </div>
  );
}
