import type { CheckStatus, CheckView } from './api';

/** Severity order for summaries: what needs attention first. */
export const STATUS_ORDER: CheckStatus[] = ['down', 'late', 'up', 'new', 'paused'];

const byName = (a: CheckView, b: CheckView) => a.name.localeCompare(b.name) || a.created_at.localeCompare(b.created_at);

export function sortChecks(list: CheckView[]): CheckView[] {
  return [...list].sort(byName);
}

/** Inserts or replaces a check (by id) in a list kept sorted by name. */
export function upsertCheck(list: CheckView[] | undefined, check: CheckView): CheckView[] | undefined {
  if (!list) return list;
  return sortChecks([...list.filter((c) => c.id !== check.id), check]);
}

/** Live event data is untyped JSON: accept it as a check only when it looks like one. */
export function isCheckView(data: unknown): data is CheckView {
  if (typeof data !== 'object' || data === null) return false;
  const c = data as Partial<CheckView>;
  return typeof c.id === 'string' && typeof c.status === 'string' && typeof c.name === 'string' && Array.isArray(c.tags);
}

/** The id in a `check.deleted` event, if any. */
export function deletedId(data: unknown): string | undefined {
  const id = (data as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : undefined;
}

/**
 * The status to show now. The server flips up -> late -> down from its sweeper, and pushes each
 * flip live; showing "late" the moment the expected ping is overdue keeps the page right between
 * two sweeps too.
 */
export function shownStatus(check: CheckView, now: number): CheckStatus {
  if (check.status === 'up' && check.next_expected_at && Date.parse(check.next_expected_at) <= now) return 'late';
  return check.status;
}
