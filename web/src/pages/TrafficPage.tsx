import { useNavigate, useSearch } from '@tanstack/react-router';
import { useEffect, useEffectEvent, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { errorMessage } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { formatBytes, formatCount, formatDateTime, formatDuration, formatPeriod } from '../format';
import { useLiveEvent, useLiveState } from '../live';
import {
  RANGES,
  fetchStats,
  firstOpenBucket,
  formatNumber,
  formatPercent,
  formatRate,
  perSecond,
  rangeFromQuery,
  sectionColour,
  seriesLabel,
  sortStatusSeries,
  statusColour,
  type Range,
  type Stats,
} from '../traffic';
import '../traffic.css';

/** Refetch anyway this often, in case live events were missed (or the processor only moved the clock). */
const FALLBACK_REFRESH_MS = 10_000;
const CHART_HEIGHT = 220;

interface Line {
  label: string;
  colour: string;
  values: (number | null)[];
  /** Dots on the values: a series with gaps (null) may have values with no neighbour to draw a line to. */
  dots?: boolean;
}

/**
 * A uPlot time chart that follows its container's width. The chart is rebuilt only when its lines
 * change (labels, colours); new values of the same lines are set in place, so live updates do not
 * flicker. Buckets from `openFrom` on (not final yet) are shaded.
 */
function TimeChart({ timestamps, lines, openFrom, format, yMax }: { timestamps: number[]; lines: Line[]; openFrom: number | null; format: (value: number) => string; yMax?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  // Hooks of a built chart read these, so updates need no rebuild.
  const open = useRef(openFrom);
  open.current = openFrom;
  const formatRef = useRef(format);
  formatRef.current = format;
  const data: uPlot.AlignedData = [timestamps, ...lines.map((l) => l.values)];
  const shape = JSON.stringify(lines.map((l) => [l.label, l.colour, l.dots]));

  // Builds the chart with the lines and values of the render that asks for it (an effect event:
  // new values alone must not rebuild the chart, see the effect below).
  const build = useEffectEvent((target: HTMLDivElement): uPlot => {
    const shadeOpen = (u: uPlot) => {
      if (open.current === null) return;
      const { left, top, width, height } = u.bbox;
      const x = Math.max(left, u.valToPos(open.current, 'x', true));
      if (x >= left + width) return;
      u.ctx.save();
      u.ctx.fillStyle = 'rgba(160, 174, 192, 0.2)';
      u.ctx.fillRect(x, top, left + width - x, height);
      u.ctx.restore();
    };
    const options: uPlot.Options = {
      width: Math.max(200, target.clientWidth),
      height: CHART_HEIGHT,
      scales: {
        x: { time: true },
        y: { range: (_u, _min, max) => [0, yMax ?? (max > 0 ? max * 1.1 : 1)] },
      },
      axes: [
        { stroke: '#667085', grid: { stroke: '#eef1f5', width: 1 }, ticks: { stroke: '#e2e8f0', width: 1 } },
        { stroke: '#667085', grid: { stroke: '#eef1f5', width: 1 }, ticks: { show: false }, size: 56, values: (_u, values) => values.map((v) => formatRef.current(v)) },
      ],
      series: [
        { value: (_u, v) => (v === null ? '—' : formatDateTime(new Date(v * 1000).toISOString())) },
        ...lines.map((l) => ({
          label: l.label,
          stroke: l.colour,
          width: 1.6,
          points: l.dots ? { show: true, size: 5, fill: l.colour } : { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : formatRef.current(v)),
        })),
      ],
      cursor: { points: { size: 6 } },
      hooks: { drawClear: [shadeOpen] },
    };
    return new uPlot(options, data, target);
  });

  useEffect(() => {
    const target = box.current;
    if (!target) return;
    const built = build(target);
    chart.current = built;
    const observer = new ResizeObserver(() => {
      const width = Math.max(200, target.clientWidth);
      if (width !== built.width) built.setSize({ width, height: CHART_HEIGHT });
    });
    observer.observe(target);
    return () => {
      observer.disconnect();
      built.destroy();
      chart.current = null;
    };
    // Rebuilt when the set of lines or the fixed scale changes; `data` goes in through setData below.
  }, [shape, yMax]);

  useEffect(() => {
    chart.current?.setData(data);
  });

  return <div className="chart-canvas" ref={box} />;
}

interface TrafficData {
  bySection: Stats;
  byStatus: Stats;
}

/**
 * Loads the statistics of `range` and keeps them fresh while the page is open: on each live
 * `traffic` event (at most once a second, less often for long ranges, and never two fetches at
 * once, so a slow 30-day read is not cancelled by the next event) and every 10 s as a fallback.
 * Kept hand-written on purpose (not TanStack Query): this single-flight, range-scaled throttle is
 * the point, and a query refetch per event would cancel or duplicate the slow read.
 */
function useTraffic(range: Range): { data: TrafficData | undefined; error: string | undefined; updatedAt: number | undefined } {
  const { epoch } = useLiveState();
  const [state, setState] = useState<{ range: Range; data?: TrafficData; error?: string; updatedAt?: number }>({ range });
  const request = useRef<() => void>(() => undefined);
  // What was shown belongs to another range: clear it rather than draw it under the new one.
  if (state.range !== range) setState({ range });

  useEffect(() => {
    const controller = new AbortController();
    let inFlight = false;
    let pending = false;
    let lastStart = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const load = async () => {
      inFlight = true;
      lastStart = Date.now();
      try {
        const [bySection, byStatus] = await Promise.all([fetchStats(range.id, 'section', controller.signal), fetchStats(range.id, 'status_class', controller.signal)]);
        if (!controller.signal.aborted) setState({ range, data: { bySection, byStatus }, updatedAt: Date.now() });
      } catch (error) {
        if (!controller.signal.aborted) setState((s) => ({ ...s, error: errorMessage(error) }));
      } finally {
        inFlight = false;
        if (pending && !controller.signal.aborted) {
          pending = false;
          next();
        }
      }
    };
    const next = () => {
      if (controller.signal.aborted) return;
      if (inFlight) {
        pending = true;
        return;
      }
      const wait = lastStart + range.refreshMs - Date.now();
      if (wait > 0) {
        timer ??= setTimeout(() => {
          timer = undefined;
          next();
        }, wait);
        return;
      }
      void load();
    };
    request.current = next;
    next();
    const fallback = setInterval(() => {
      if (!document.hidden) next();
    }, FALLBACK_REFRESH_MS);
    return () => {
      controller.abort();
      clearTimeout(timer);
      clearInterval(fallback);
      request.current = () => undefined;
    };
    // `epoch` counts reconnections of the live stream: events may have been missed, so fetch again.
  }, [range, epoch]);

  useLiveEvent('traffic', () => request.current());
  return { data: state.range === range ? state.data : undefined, error: state.error, updatedAt: state.updatedAt };
}

function Totals({ stats }: { stats: Stats }) {
  const t = stats.totals;
  const latency = t.latency_ms;
  const latencyText = latency ? (latency.p50 !== null ? `${formatDuration(latency.p50)} / ${formatDuration(latency.p99)}` : formatDuration(latency.mean)) : '—';
  const facts: { term: string; value: string; hint?: string; bad?: boolean }[] = [
    { term: 'Requests/s', value: formatRate(t.requests_per_second), hint: `${formatNumber(t.hits)} requests` },
    { term: 'Error rate', value: formatPercent(t.error_rate), hint: `${formatNumber(t.errors)} × 5xx`, bad: (t.error_rate ?? 0) > 0.05 },
    { term: 'Bytes sent', value: formatBytes(t.bytes) },
    { term: 'Distinct hosts', value: formatNumber(t.distinct_hosts) },
    { term: latency?.p50 !== null ? 'Latency p50 / p99' : 'Latency (mean)', value: latencyText },
    { term: 'Too late', value: formatNumber(t.too_late), hint: 'stored, not counted' },
  ];
  return (
    <dl className="facts traffic-facts" aria-label="Totals over the range">
      {facts.map((f) => (
        <div key={f.term} className={f.bad ? 'fact-bad' : undefined}>
          <dt>{f.term}</dt>
          <dd>
            {f.value} {f.hint && <span className="muted">{f.hint}</span>}
          </dd>
        </div>
      ))}
    </dl>
  );
}

function SectionsTable({ stats }: { stats: Stats }) {
  if (stats.top_sections.length === 0) return <p className="muted">No requests in this range.</p>;
  // Seconds the totals' rate is measured over: a section's rate is its hits over the same time.
  const elapsed = stats.totals.requests_per_second > 0 ? stats.totals.hits / stats.totals.requests_per_second : 0;
  return (
    <table className="sections-table">
      <thead>
        <tr>
          <th>Section</th>
          <th className="num">Hits</th>
          <th>Share</th>
          <th className="num">Requests/s</th>
          <th className="num">5xx</th>
          <th className="num">Bytes</th>
        </tr>
      </thead>
      <tbody>
        {stats.top_sections.map((s) => (
          <tr key={s.section} data-section={s.section}>
            <td className="mono">{seriesLabel(s.section)}</td>
            <td className="num" data-hits={s.hits}>
              {formatCount(s.hits)}
            </td>
            <td>
              <span className="share-bar" aria-hidden="true">
                <span style={{ width: `${Math.round(s.share * 100)}%` }} />
              </span>
              {formatPercent(s.share)}
            </td>
            <td className="num">{formatRate(elapsed > 0 ? s.hits / elapsed : 0)}</td>
            <td className={`num${s.errors > 0 ? ' error-cell' : ''}`}>{s.errors > 0 ? `${formatCount(s.errors)} (${formatPercent(s.errors / s.hits)})` : '0'}</td>
            <td className="num">{formatBytes(s.bytes)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function TrafficPage() {
  const range = rangeFromQuery(useSearch({ from: '/traffic' }).range ?? null);
  const navigate = useNavigate();
  const { data, error, updatedAt } = useTraffic(range);

  useEffect(() => {
    document.title = 'Traffic · Vigil';
  }, []);

  const sections = data?.bySection;
  const statuses = data?.byStatus;
  const openFrom = sections ? firstOpenBucket(sections) : null;
  const step = sections?.step ?? 1;
  const statusSeries = statuses ? sortStatusSeries(statuses.series) : [];

  return (
    <section>
      <header className="page-head">
        <h1>Traffic</h1>
        <div className="chips" role="group" aria-label="Time range">
          {RANGES.map((r) => (
            <button
              type="button"
              key={r.id}
              className={`chip${r === range ? ' chip-on' : ''}`}
              aria-pressed={r === range}
              onClick={() => void navigate({ to: '/traffic', search: { range: r.id }, replace: true })}
            >
              {r.label}
            </button>
          ))}
        </div>
      </header>
      <p className="muted traffic-sub">
        Access-log statistics in event time (the time in the logs), last {range.label}
        {sections && (
          <>
            {' '}
            · one point per {formatPeriod(sections.step)} · updated live
            {updatedAt !== undefined && <span title={formatDateTime(new Date(updatedAt).toISOString())}> ·{sections.watermark ? ` final up to ${formatDateTime(sections.watermark)}` : ' nothing final yet'}</span>}
          </>
        )}
      </p>

      <ErrorNote message={error} />
      {!data && !error && <p className="muted">Loading…</p>}

      {sections && statuses && (
        <>
          {sections.totals.hits === 0 && (
            <div className="card empty" style={{ marginBottom: '1rem' }}>
              <h2>No requests in this range</h2>
              <p>
                Send access logs to <code>POST /api/v1/logs</code> (JSON, NDJSON, or <code>?format=clf|combined|csv</code>), or point Vector, Fluent Bit or the
                OpenTelemetry Collector at Vigil: hits per section, status classes and errors appear here within seconds.
              </p>
            </div>
          )}
          <Totals stats={sections} />
          <div className="charts">
            <figure className="chart chart-wide" aria-label="Requests per second by section">
              <figcaption>
                Requests/s by section
                {openFrom !== null && (
                  <span className="muted open-note">
                    <span className="open-swatch" aria-hidden="true" /> not final yet: late events may still be added
                  </span>
                )}
              </figcaption>
              <TimeChart
                timestamps={sections.timestamps}
                openFrom={openFrom}
                format={formatNumber}
                lines={sections.series.map((s, i) => ({ label: seriesLabel(s.key, s.other), colour: sectionColour(i, s.other), values: perSecond(s.hits, step) }))}
              />
            </figure>
            <figure className="chart" aria-label="Requests per second by status class">
              <figcaption>Requests/s by status class</figcaption>
              <TimeChart
                timestamps={statuses.timestamps}
                openFrom={openFrom}
                format={formatNumber}
                lines={statusSeries.map((s) => ({ label: seriesLabel(s.key, s.other), colour: statusColour(s.key), values: perSecond(s.hits, statuses.step) }))}
              />
            </figure>
            <figure className="chart" aria-label="Error rate">
              <figcaption>
                Error rate <span className="muted">5xx / requests with a status</span>
              </figcaption>
              <TimeChart
                timestamps={sections.timestamps}
                openFrom={openFrom}
                format={(v) => formatPercent(v)}
                lines={[{ label: 'error rate', colour: '#c53030', values: sections.error_rate, dots: true }]}
              />
            </figure>
          </div>
          <h2>Top sections</h2>
          <SectionsTable stats={sections} />
        </>
      )}
    </section>
  );
}
