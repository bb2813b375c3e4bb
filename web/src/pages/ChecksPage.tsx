import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useEffect } from 'react';
import { type CheckStatus } from '../api';
import { shownStatus, STATUS_ORDER } from '../checks';
import { ErrorNote } from '../components/ErrorNote';
import { NextExpected, RelativeTime } from '../components/RelativeTime';
import { Sparkline } from '../components/Sparkline';
import { StatusBadge } from '../components/StatusBadge';
import { formatDuration } from '../format';
import { useNow } from '../hooks';
import { checksQuery } from '../queries';

const NO_TAGS: string[] = [];

export function ChecksPage() {
  const now = useNow();
  // `/` shows the checks too, without a tag filter.
  const selected = useSearch({ strict: false }).tag ?? NO_TAGS;
  const navigate = useNavigate();
  // Kept current by live events (see useLiveCache).
  const checks = useQuery(checksQuery);

  const all = checks.data ?? [];
  const tags = [...new Set(all.flatMap((c) => c.tags))].sort();
  const shown = all.filter((c) => selected.every((t) => c.tags.includes(t)));
  const counts = new Map<CheckStatus, number>();
  for (const c of shown) {
    const status = shownStatus(c, now);
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }

  const failing = (counts.get('down') ?? 0) + (counts.get('late') ?? 0);
  useEffect(() => {
    document.title = failing > 0 ? `(${failing}) Checks · Vigil` : 'Checks · Vigil';
  }, [failing]);

  const toggleTag = (tag: string) => {
    const next = selected.includes(tag) ? selected.filter((t) => t !== tag) : [...selected, tag];
    void navigate({ to: '/checks', search: next.length ? { tag: next } : {}, replace: true });
  };

  return (
    <section>
      <header className="page-head">
        <h1>Checks</h1>
        <div className="summary" aria-label="Checks by status">
          {STATUS_ORDER.filter((s) => counts.get(s)).map((s) => (
            <span key={s} className={`summary-item status-${s}`}>
              <span className="status-dot" aria-hidden="true" /> {counts.get(s)} {s}
            </span>
          ))}
        </div>
        <Link to="/checks/new" className="button primary">
          New check
        </Link>
      </header>

      {tags.length > 0 && (
        <div className="chips" role="group" aria-label="Filter by tag">
          {tags.map((tag) => (
            <button type="button" key={tag} className={`chip${selected.includes(tag) ? ' chip-on' : ''}`} aria-pressed={selected.includes(tag)} onClick={() => toggleTag(tag)}>
              {tag}
            </button>
          ))}
          {selected.length > 0 && (
            <button type="button" className="chip chip-clear" onClick={() => void navigate({ to: '/checks', replace: true })}>
              clear
            </button>
          )}
        </div>
      )}

      <ErrorNote message={checks.error?.message} />
      {checks.isPending && <p className="muted">Loading…</p>}
      {checks.data && all.length === 0 && (
        <div className="card empty">
          <h2>No checks yet</h2>
          <p>
            A check expects a ping from a job on a schedule. Create one, then add its <code>curl</code> line to your crontab or wrap the job with{' '}
            <code>vigil run</code>: you will see every run here and be alerted when a run fails, is late or does not happen.
          </p>
          <Link to="/checks/new" className="button primary">
            Create your first check
          </Link>
        </div>
      )}

      {shown.length > 0 && (
        <table className="checks-table">
          <thead>
            <tr>
              <th>Status</th>
              <th>Name</th>
              <th>Schedule</th>
              <th>Last ping</th>
              <th>Duration trend</th>
              <th>Next expected</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((check) => (
              <tr key={check.id} className={`row-${shownStatus(check, now)}`} data-check-id={check.id} onClick={() => void navigate({ to: '/checks/$id', params: { id: check.id } })}>
                <td>
                  <StatusBadge status={shownStatus(check, now)} running={check.running} />
                </td>
                <td>
                  <Link to="/checks/$id" params={{ id: check.id }} className="check-name" onClick={(e) => e.stopPropagation()}>
                    {check.name || check.slug || check.id}
                  </Link>
                  {check.tags.length > 0 && (
                    <div className="tags">
                      {check.tags.map((t) => (
                        <span key={t} className="tag">
                          {t}
                        </span>
                      ))}
                    </div>
                  )}
                </td>
                <td className="schedule">{check.schedule_text}</td>
                <td>
                  <RelativeTime iso={check.last_ping_at} past />
                </td>
                <td className="trend">
                  <Sparkline values={check.recent_durations} />
                  <span className="muted">{check.last_duration_ms !== null ? formatDuration(check.last_duration_ms) : ''}</span>
                </td>
                <td>
                  <NextExpected check={check} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {all.length > 0 && shown.length === 0 && <p className="muted">No check has all the selected tags.</p>}
    </section>
  );
}
