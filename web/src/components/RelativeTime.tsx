import type { CheckView } from '../api';
import { formatDateTime, formatRelative } from '../format';
import { useNow } from '../hooks';

/** "3 minutes ago" that keeps counting, with the exact time on hover. */
export function RelativeTime({ iso, empty = 'never', past = false }: { iso: string | null | undefined; empty?: string; past?: boolean }) {
  const now = useNow();
  if (!iso) return <span className="muted">{empty}</span>;
  return (
    <time dateTime={iso} title={formatDateTime(iso)}>
      {formatRelative(iso, now, past)}
    </time>
  );
}

/**
 * When the next ping is due, or why none is expected. A down check shows its next scheduled run when
 * that is still ahead (it went down because a run failed or ran too long); "overdue" only when the
 * expected time has passed (a missed run), with that time on hover.
 */
export function NextExpected({ check }: { check: CheckView }) {
  const now = useNow();
  const due = check.next_expected_at;
  if (due && (check.status !== 'down' || Date.parse(due) > now)) return <RelativeTime iso={due} />;
  if (due) {
    return (
      <time className="muted" dateTime={due} title={`expected ${formatDateTime(due)}`}>
        overdue
      </time>
    );
  }
  const text = check.status === 'new' ? 'after the first ping' : check.status === 'paused' ? 'paused' : check.status === 'down' ? 'overdue' : '—';
  return <span className="muted">{text}</span>;
}
