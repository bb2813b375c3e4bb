import type { ReactNode } from 'react';
import type { MaintenanceWindow } from '../api';
import { formatDateTime, formatPeriod, formatRange } from '../format';
import { useNow } from '../hooks';
import { describeRecurring, sortWindows, windowState, type WindowState } from '../maintenance';
import { Link } from '@tanstack/react-router';
import { RelativeTime } from './RelativeTime';

function StateBadge({ kind, label, children }: { kind: WindowState['kind']; label: string; children?: ReactNode }) {
  const badge = (
    <span className={`mw-badge mw-${kind}`} data-state={kind}>
      {label}
    </span>
  );
  if (!children) return badge;
  return (
    <span className="mw-state">
      {badge} <span className="muted">{children}</span>
    </span>
  );
}

/** Whether the window is open now (recomputed every second, so a window opens on screen by itself). */
function WindowStateBadge({ window: w }: { window: MaintenanceWindow }) {
  const now = useNow();
  const state = windowState(w, now);
  switch (state.kind) {
    case 'active':
      return <StateBadge kind="active" label="active now">{state.until && <>ends <RelativeTime iso={state.until} /></>}</StateBadge>;
    case 'upcoming':
      return (
        <StateBadge kind="upcoming" label="upcoming">
          starts <RelativeTime iso={state.from} />
        </StateBadge>
      );
    case 'waiting':
      return <StateBadge kind="waiting" label="closed">{state.next ? <>opens <RelativeTime iso={state.next} /></> : 'never opens again'}</StateBadge>;
    case 'ended':
      return <StateBadge kind="ended" label="ended" />;
  }
}

/** When the window is open: the two instants of a one-off, or the cron and duration in words. */
function WindowWhen({ window: w }: { window: MaintenanceWindow }) {
  if (w.cron) {
    return (
      <span className="mw-when">
        <span>{describeRecurring(w)}</span>
        <code className="muted">{w.cron}</code>
      </span>
    );
  }
  if (!w.starts_at || !w.ends_at) return <span className="muted">—</span>;
  return (
    <span className="mw-when" title={`${formatDateTime(w.starts_at)} to ${formatDateTime(w.ends_at)}`}>
      <span>{formatRange(w.starts_at, w.ends_at)}</span>
      <span className="muted">once, for {formatPeriod((Date.parse(w.ends_at) - Date.parse(w.starts_at)) / 1000)}</span>
    </span>
  );
}

/**
 * Maintenance windows as a table. `checkNames` names (and links) the check a window belongs to;
 * `currentCheck` marks that check's own windows as "this check" (on the check page).
 */
export function MaintenanceTable({
  windows,
  checkNames,
  currentCheck,
  onDelete,
}: {
  windows: MaintenanceWindow[];
  checkNames?: ReadonlyMap<string, string>;
  currentCheck?: string;
  onDelete?: (w: MaintenanceWindow) => void;
}) {
  const now = useNow();
  return (
    <table className="maintenance-table">
      <thead>
        <tr>
          <th>Applies to</th>
          <th>When</th>
          <th>Now</th>
          <th>Reason</th>
          {onDelete && <th />}
        </tr>
      </thead>
      <tbody>
        {sortWindows(windows, now).map((w) => (
          <tr key={w.id} data-window-id={w.id} className={windowState(w, now).kind === 'ended' ? 'mw-row-ended' : undefined}>
            <td>
              {w.check_id === null ? (
                <span className="mw-scope">all checks</span>
              ) : w.check_id === currentCheck ? (
                'this check'
              ) : (
                <Link to="/checks/$id" params={{ id: w.check_id }}>{checkNames?.get(w.check_id) ?? 'a check'}</Link>
              )}
            </td>
            <td>
              <WindowWhen window={w} />
            </td>
            <td>
              <WindowStateBadge window={w} />
            </td>
            <td className="ellipsis" title={w.reason}>
              {w.reason || <span className="muted">—</span>}
            </td>
            {onDelete && (
              <td className="right">
                <button type="button" className="button small danger" onClick={() => onDelete(w)}>
                  Delete
                </button>
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
