import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { Fragment, useEffect, useState, type ReactNode } from 'react';
import { api, type CheckView, type Run } from '../api';
import { deletedId, isCheckView, shownStatus } from '../checks';
import { CopyButton } from '../components/CopyButton';
import { ErrorNote } from '../components/ErrorNote';
import { MaintenanceTable } from '../components/MaintenanceTable';
import { NextExpected, RelativeTime } from '../components/RelativeTime';
import { Snippets } from '../components/Snippets';
import { Sparkline } from '../components/Sparkline';
import { OutcomeBadge, StatusBadge } from '../components/StatusBadge';
import { formatDateTime, formatDuration, formatPeriod, humanizeInstants } from '../format';
import { EXACT } from '../router-links';
import { useAction, useNow, useToggleSet } from '../hooks';
import { useLiveEvent } from '../live';
import { MAINTENANCE_HELP } from '../maintenance';
import { summarizeChannels } from '../check-channels';
import { channelsQuery, checkQuery, checksQuery, flipsQuery, maintenanceQuery, pingsQuery, runsQuery, storeCheck } from '../queries';


const optionalPeriod = (seconds: number | null, none: string) => (seconds === null ? none : formatPeriod(seconds));

/**
 * Where the check's alerts go: every channel, none, or the chosen ones by name and kind. Warns
 * when the organisation has no channel at all (then nobody is told whatever the check says).
 */
function CheckChannels({ check }: { check: CheckView }) {
  const channels = useQuery(channelsQuery);
  if (channels.error) return <ErrorNote message={channels.error.message} />;
  if (!channels.data) return null;
  const summary = summarizeChannels(check.channels, channels.data);
  return (
    <div className="check-channels">
      <h2>Notifications</h2>
      {channels.data.length === 0 ? (
        <p className="warning" role="note">
          This organisation has no channel: alerts of this check are recorded but nobody is told. <Link to="/channels">Add a channel</Link>.
        </p>
      ) : summary.kind === 'all' ? (
        <p>
          Sent to <strong>all channels</strong> ({summary.count} today, and those added later).
        </p>
      ) : summary.kind === 'none' ? (
        <p className="warning" role="note">
          Sent to no channel: alerts of this check are recorded but nobody is told.
        </p>
      ) : (
        <ul className="check-channel-list">
          {summary.channels.map((c) => (
            <li key={c.id}>
              {c.label} <span className="muted">({c.kind})</span>
              {c.disabled && (
                <>
                  {' '}
                  <Link to="/channels" className="delivery channel-disabled" title="Its deliveries kept failing: nothing is sent to it until it is re-enabled">
                    disabled
                  </Link>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Facts({ check }: { check: CheckView }) {
  const facts: [string, ReactNode][] = [
    ['Schedule', check.schedule_text],
    [
      check.kind === 'cron' ? (check.schedule_syntax === 'oncalendar' ? 'OnCalendar expression' : 'Cron expression') : 'Period',
      check.kind === 'cron' ? <code>{`${check.schedule} (${check.tz})`}</code> : formatPeriod(check.timeout),
    ],
    ['Grace', formatPeriod(check.grace)],
    ['Last ping', <RelativeTime iso={check.last_ping_at} past />],
    ['Next expected', <NextExpected check={check} />],
    ['Last duration', formatDuration(check.last_duration_ms)],
    // No max_runtime of its own means the grace period is the limit (a run longer than it alerts), not "no limit".
    ['Max run time', check.max_runtime === null ? `${formatPeriod(check.grace)} (the grace period)` : formatPeriod(check.max_runtime)],
    ['Min run time', optionalPeriod(check.min_runtime, 'none')],
    ['Alert after', `${check.failure_threshold} consecutive failure${check.failure_threshold === 1 ? '' : 's'}`],
    ['Re-alert while down', optionalPeriod(check.realert, 'never')],
    ['Pings received', String(check.n_pings)],
    ['Created', formatDateTime(check.created_at)],
  ];
  return (
    <dl className="facts">
      {facts.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function RunsTable({ runs }: { runs: Run[] }) {
  const [open, toggle] = useToggleSet<number>();
  if (runs.length === 0) return <p className="muted">No runs yet. A run is recorded at each success or failure ping, and paired with its start ping when there is one.</p>;
  return (
    <table className="runs-table">
      <thead>
        <tr>
          <th>Started</th>
          <th>Finished</th>
          <th>Duration</th>
          <th>Outcome</th>
          <th>Exit code</th>
          <th>Output</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <Fragment key={run.id}>
            <tr className={`run-${run.outcome}`}>
              <td title={formatDateTime(run.started_at)}>{run.started_at ? formatDateTime(run.started_at) : <span className="muted">no start ping</span>}</td>
              <td>{run.finished_at ? formatDateTime(run.finished_at) : <span className="muted">—</span>}</td>
              <td className="num">{formatDuration(run.duration_ms)}</td>
              <td>
                <OutcomeBadge outcome={run.outcome} />
              </td>
              <td className="num">{run.exit_status ?? <span className="muted">—</span>}</td>
              <td>
                {run.output_tail ? (
                  <button type="button" className="button small" aria-expanded={open.has(run.id)} onClick={() => toggle(run.id)}>
                    {open.has(run.id) ? 'Hide output' : 'Show output'}
                  </button>
                ) : (
                  <span className="muted">none</span>
                )}
              </td>
            </tr>
            {open.has(run.id) && run.output_tail && (
              <tr className="output-row">
                <td colSpan={6}>
                  <pre className="output">{run.output_tail}</pre>
                </td>
              </tr>
            )}
          </Fragment>
        ))}
      </tbody>
    </table>
  );
}

export function CheckPage({ id }: { id: string }) {
  const now = useNow();
  const client = useQueryClient();
  const navigate = useNavigate();
  // Live check events update the check and refetch its runs, flips and pings (see useLiveCache).
  const check = useQuery(checkQuery(id));
  const runs = useQuery(runsQuery(id));
  const flips = useQuery(flipsQuery(id));
  const pings = useQuery(pingsQuery(id));
  const maintenance = useQuery(maintenanceQuery);
  // This check's own windows and the organisation-wide ones: those the sweeper consults for it.
  const ownWindows = maintenance.data?.filter((w) => w.check_id === null || w.check_id === id);
  const action = useAction();
  const [deleted, setDeleted] = useState(false);

  useLiveEvent('check.deleted', (data) => {
    if (deletedId(data) === id) setDeleted(true);
  });

  const c = check.data;
  const status = c ? shownStatus(c, now) : undefined;
  useEffect(() => {
    if (c) document.title = `${status === 'down' || status === 'late' ? `(${status}) ` : ''}${c.name} · Vigil`;
  }, [c, status]);

  /** A button's request; a check in the answer (pause, resume) is shown at once. */
  const act = (request: () => Promise<unknown>, after?: () => void) =>
    void action.run(async () => {
      const result = await request();
      if (isCheckView(result)) storeCheck(client, result);
      after?.();
    });

  if (deleted) {
    return (
      <section className="card empty">
        <h2>This check was deleted.</h2>
        <Link to="/checks" activeOptions={EXACT}>Back to checks</Link>
      </section>
    );
  }
  if (!c) {
    return (
      <section>
        <Link to="/checks" className="back" activeOptions={EXACT}>
          ← Checks
        </Link>
        <ErrorNote message={check.error?.message} />
        {!check.error && <p className="muted">Loading…</p>}
      </section>
    );
  }

  const remove = () => {
    if (!window.confirm(`Delete the check "${c.name}" with all its runs and pings?`)) return;
    act(
      () => api.deleteCheck(c.id),
      () => {
        client.setQueryData(checksQuery.queryKey, (list) => list?.filter((x) => x.id !== c.id));
        void navigate({ to: '/checks' });
      },
    );
  };

  return (
    <section className="check-page">
      <Link to="/checks" className="back" activeOptions={EXACT}>
        ← Checks
      </Link>
      <header className="check-head">
        <div>
          <h1>{c.name}</h1>
          <div className="check-sub">
            <code>{c.slug}</code>
            {c.tags.map((t) => (
              <span key={t} className="tag">
                {t}
              </span>
            ))}
          </div>
        </div>
        <div className="check-actions">
          <Link to="/checks/$id/edit" params={{ id: c.id }} className="button">
            Edit
          </Link>
          {c.status === 'paused' ? (
            <button type="button" className="button" disabled={action.busy} onClick={() => act(() => api.resumeCheck(c.id))}>
              Resume
            </button>
          ) : (
            <button type="button" className="button" disabled={action.busy} onClick={() => act(() => api.pauseCheck(c.id))}>
              Pause
            </button>
          )}
          <button type="button" className="button danger" disabled={action.busy} onClick={remove}>
            Delete
          </button>
        </div>
      </header>
      <ErrorNote message={action.error?.message} />

      <div className={`status-panel panel-${status}`}>
        <StatusBadge status={status ?? c.status} running={c.running} large />
        <p className="status-reason">
          {status !== c.status ? 'The expected ping has not arrived; the check goes down when the grace period ends.' : humanizeInstants(c.status_reason) || 'No report yet.'}
        </p>
        {/* A single duration is no trend (drawn, it was a stray dot and line): the facts below show it. */}
        {c.recent_durations.length >= 2 && (
          <figure className="status-trend" title="Durations of the last runs">
            {/* Alone in the banner, the line spans its box: a few runs in one corner looked like a stray mark. */}
            <Sparkline values={c.recent_durations} width={160} height={32} minSlots={2} />
            <figcaption>
              last {c.recent_durations.length} runs, {formatDuration(Math.min(...c.recent_durations))} to {formatDuration(Math.max(...c.recent_durations))}
            </figcaption>
          </figure>
        )}
      </div>
      {c.description && <p className="description">{c.description}</p>}

      <Facts check={c} />
      <CheckChannels check={c} />

      <div className="ping-url">
        <span>Ping URL</span>
        <code>{c.ping_url}</code>
        <CopyButton text={c.ping_url} />
      </div>
      {c.slug_ping_url && (
        <div className="ping-url">
          <span>By slug</span>
          <code>{c.slug_ping_url}</code>
          <CopyButton text={c.slug_ping_url} />
        </div>
      )}

      <h2>Runs</h2>
      <ErrorNote message={runs.error?.message} />
      {runs.data && <RunsTable runs={runs.data} />}

      <h2>Status changes</h2>
      <ErrorNote message={flips.error?.message} />
      {flips.data && flips.data.length === 0 && <p className="muted">No status change yet.</p>}
      {flips.data && flips.data.length > 0 && (
        <ul className="flips">
          {flips.data.map((f, i) => (
            <li key={`${f.created_at}-${i}`} data-new-status={f.new_status}>
              <RelativeTime iso={f.created_at} past />
              <span className={`flip-status status-${f.old_status}`}>{f.old_status}</span>
              <span aria-hidden="true">→</span>
              <span className={`flip-status status-${f.new_status}`}>{f.new_status}</span>
              <span className="flip-reason">{humanizeInstants(f.reason)}</span>
            </li>
          ))}
        </ul>
      )}

      <h2>Maintenance</h2>
      <p className="hint section-help">{MAINTENANCE_HELP}</p>
      <ErrorNote message={maintenance.error?.message} />
      {ownWindows && ownWindows.length === 0 && <p className="muted">No maintenance window applies to this check.</p>}
      {ownWindows && ownWindows.length > 0 && (
        <div className="check-maintenance">
          <MaintenanceTable windows={ownWindows} currentCheck={c.id} />
        </div>
      )}
      <p>
        <Link to="/maintenance" search={{ check: c.id }}>Add a maintenance window for this check</Link>
      </p>

      <h2>How to report to this check</h2>
      <Snippets check={c} />

      <h2>Recent pings</h2>
      <ErrorNote message={pings.error?.message} />
      {pings.data && pings.data.length === 0 && <p className="muted">No ping received yet.</p>}
      {pings.data && pings.data.length > 0 && (
        <table className="pings-table">
          <thead>
            <tr>
              <th>#</th>
              <th>Received</th>
              <th>Kind</th>
              <th>Exit</th>
              <th>From</th>
              <th>User agent</th>
            </tr>
          </thead>
          <tbody>
            {pings.data.slice(0, 50).map((p) => (
              <tr key={p.n}>
                <td className="num">{p.n}</td>
                <td title={formatDateTime(p.created_at)}>
                  <RelativeTime iso={p.created_at} past />
                </td>
                <td>
                  <span className={`ping-kind kind-${p.kind}`}>{p.kind}</span>
                </td>
                <td className="num">{p.exit_status ?? ''}</td>
                <td>
                  {p.method} {p.remote_addr ?? ''}
                </td>
                <td className="ellipsis" title={p.user_agent ?? ''}>
                  {p.user_agent ?? ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
