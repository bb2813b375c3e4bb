import { Cron } from 'croner';
import cronstrue from 'cronstrue';
import type { MaintenanceWindow } from './api';
import { formatPeriod } from './format';

/**
 * Maintenance windows as the dashboard shows them. Whether a window is open is computed here, in
 * the browser, the same way the server's sweeper decides it (src/domains/jobs/maintenance.ts): a
 * one-off window covers [starts_at, ends_at); a recurring one is open when an occurrence of its
 * cron (in its time zone) started less than `duration` seconds ago.
 */

/** One line for the maintenance page and the check page: what a window changes. */
export const MAINTENANCE_HELP =
  'During a maintenance window a check that misses its run still turns down, but no alert is sent; failures the job reports itself still alert.';

export type WindowState =
  | { kind: 'active'; until: string | null }
  | { kind: 'upcoming'; from: string }
  | { kind: 'ended' }
  /** A recurring window that is closed now; `next` is when it opens next (null: never again). */
  | { kind: 'waiting'; next: string | null };

function recurringCron(w: MaintenanceWindow): Cron | undefined {
  if (!w.cron) return undefined;
  try {
    return new Cron(w.cron, { timezone: w.tz, paused: true });
  } catch {
    return undefined; // the server validated it; a browser without the zone must not crash the page
  }
}

export function windowState(w: MaintenanceWindow, now: number): WindowState {
  if (w.cron && w.duration) {
    const cron = recurringCron(w);
    if (!cron) return { kind: 'waiting', next: null };
    const durationMs = w.duration * 1000;
    const opened = cron.nextRun(new Date(now - durationMs));
    if (opened && opened.getTime() <= now) return { kind: 'active', until: new Date(opened.getTime() + durationMs).toISOString() };
    return { kind: 'waiting', next: opened?.toISOString() ?? null };
  }
  const starts = w.starts_at ? Date.parse(w.starts_at) : NaN;
  const ends = w.ends_at ? Date.parse(w.ends_at) : NaN;
  if (now < starts) return { kind: 'upcoming', from: w.starts_at ?? '' };
  if (now < ends) return { kind: 'active', until: w.ends_at };
  return { kind: 'ended' };
}

/** Order for the list: open windows first, then those still to come, finished one-offs last. */
const RANK: Record<WindowState['kind'], number> = { active: 0, upcoming: 1, waiting: 2, ended: 3 };

export function sortWindows(windows: MaintenanceWindow[], now: number): MaintenanceWindow[] {
  const key = (w: MaintenanceWindow) => {
    const state = windowState(w, now);
    const at = state.kind === 'upcoming' ? Date.parse(state.from) : state.kind === 'waiting' && state.next ? Date.parse(state.next) : 0;
    return [RANK[state.kind], at] as const;
  };
  return [...windows].sort((a, b) => {
    const [ra, ta] = key(a);
    const [rb, tb] = key(b);
    return ra - rb || ta - tb || a.created_at.localeCompare(b.created_at);
  });
}

/** A cron expression in words ("At 02:00, only on Sunday"), or undefined when it does not parse. */
export function cronInWords(expression: string): string | undefined {
  if (!expression.trim()) return undefined;
  try {
    return cronstrue.toString(expression, { use24HourTimeFormat: true, verbose: false });
  } catch {
    return undefined;
  }
}

/** "At 02:00, only on Sunday (Europe/Paris), for 2 hours". */
export function describeRecurring(w: Pick<MaintenanceWindow, 'cron' | 'duration' | 'tz'>): string {
  const words = cronInWords(w.cron ?? '') ?? w.cron ?? '';
  return `${words} (${w.tz}), for ${formatPeriod(w.duration ?? 0)}`;
}

/** When the next occurrence of `expression` in `tz` starts, or undefined if it does not parse. */
export function nextOccurrence(expression: string, tz: string, now: number): Date | undefined {
  try {
    return new Cron(expression, { timezone: tz, paused: true }).nextRun(new Date(now)) ?? undefined;
  } catch {
    return undefined;
  }
}
