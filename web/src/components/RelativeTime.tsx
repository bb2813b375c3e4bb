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

/** When the next ping is due, or why none is expected. */
export function NextExpected({ check }: { check: CheckView }) {
  if (check.next_expected_at) return <RelativeTime iso={check.next_expected_at} />;
  const text = check.status === 'new' ? 'after the first ping' : check.status === 'paused' ? 'paused' : check.status === 'down' ? 'overdue' : '—';
  return <span className="muted">{text}</span>;
}
