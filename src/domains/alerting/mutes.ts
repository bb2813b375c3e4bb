/**
 * Mute windows: silences that come back (a recurrence) or are planned ahead (a one-off range), with
 * a name and a kind (`mute`, or `maintenance` for the jobs' maintenance windows). Pure: windows and
 * an instant in; whether one is open, when it next opens or closes, out.
 *
 * Invariants:
 * - A window has the matchers of a silence (same syntax, same checks: silences.ts) and is open on
 *   [startsAt, endsAt) (one-off), or on [o, o + duration) for every occurrence o of its cron
 *   expression in its time zone (recurring). Durations are real elapsed time: a 2 h window that
 *   opens at 01:00 on a spring-forward night closes at 04:00 local time.
 * - Occurrences that overlap or touch make one open period: the window closes at the end of the
 *   last of them, never in between (no boundary where nothing changes).
 * - While a window is open it acts exactly as an active silence (the manager hands it to
 *   `decideGroup` as one, whose end is the window's close): state is still tracked, resolves of
 *   announced instances are still sent. The manager wakes the groups it hides at its boundaries.
 */
import { Cron } from 'croner';
import { matcherMatches, type Matcher, type Silence } from './silences.js';

export type MuteKind = 'mute' | 'maintenance';

export interface MuteWindow {
  id: string;
  kind: MuteKind;
  matchers: Matcher[];
  /** One-off range (ms), null for a recurring window. */
  startsAt: number | null;
  endsAt: number | null;
  /** Recurrence: a five-field cron expression in `tz`, each occurrence open for `durationMs`. */
  cron: string | null;
  tz: string;
  durationMs: number | null;
}

/** Bounds the walk over overlapping occurrences (a window every minute lasting a week is refused at creation). */
export const MAX_MERGED = 1000;

const cronOf = (w: MuteWindow): Cron | null => (w.cron && w.durationMs ? new Cron(w.cron, { timezone: w.tz, paused: true }) : null);

/** The first occurrence strictly after `t`, in ms, or null when the expression never fires again. */
const nextRun = (cron: Cron, t: number): number | null => cron.nextRun(new Date(t))?.getTime() ?? null;

/** The open period [start, end) that contains `t`, or null when the window is closed at `t`. */
export function openPeriod(w: MuteWindow, t: number): { start: number; end: number } | null {
  const cron = cronOf(w);
  if (!cron) {
    if (w.startsAt === null || w.endsAt === null) return null;
    return w.startsAt <= t && t < w.endsAt ? { start: w.startsAt, end: w.endsAt } : null;
  }
  const d = w.durationMs!;
  // The earliest occurrence still open at t started in (t - d, t]: croner's nextRun is strictly after.
  const first = nextRun(cron, t - d);
  if (first === null || first > t) return null;
  let end = first + d;
  let o = first;
  for (let i = 0; i < MAX_MERGED; i++) {
    const n = nextRun(cron, o);
    if (n === null || n > end) break;
    end = Math.max(end, n + d);
    o = n;
  }
  return { start: first, end };
}

export const isOpen = (w: MuteWindow, t: number): boolean => openPeriod(w, t) !== null;

/** The next instant after `t` at which the window opens or closes, or null when it never changes again. */
export function nextBoundary(w: MuteWindow, t: number): number | null {
  const open = openPeriod(w, t);
  if (open) return open.end;
  const cron = cronOf(w);
  if (!cron) return w.startsAt !== null && w.startsAt > t ? w.startsAt : null;
  return nextRun(cron, t);
}

/** Whether the window's matchers match these labels (whatever the time). */
export const muteMatches = (w: MuteWindow, labels: Readonly<Record<string, string>>): boolean => w.matchers.every((m) => matcherMatches(m, labels));

/** The windows open at `t`, as the silences the group decision takes (active until the window closes). */
export function openAsSilences(windows: readonly MuteWindow[], t: number): Silence[] {
  return windows.flatMap((w) => {
    const open = openPeriod(w, t);
    return open ? [{ id: w.id, matchers: w.matchers, startsAt: open.start, endsAt: open.end }] : [];
  });
}

/**
 * Whether a recurring window's occurrences overlap so much that, from its first opening after `t`,
 * it would not close within MAX_MERGED occurrences (in practice: never). Refused at creation.
 */
export function neverCloses(w: MuteWindow, t: number): boolean {
  const cron = cronOf(w);
  if (!cron) return false;
  const first = nextRun(cron, t);
  if (first === null) return false;
  let end = first + w.durationMs!;
  let o = first;
  for (let i = 0; i < MAX_MERGED; i++) {
    const n = nextRun(cron, o);
    if (n === null || n > end) return false;
    end = Math.max(end, n + w.durationMs!);
    o = n;
  }
  return true;
}

/** The window's state at `t`, as the API shows it. */
export function muteState(w: MuteWindow, t: number): 'open' | 'scheduled' | 'over' {
  if (isOpen(w, t)) return 'open';
  return nextBoundary(w, t) === null ? 'over' : 'scheduled';
}
