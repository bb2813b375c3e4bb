import { isUnavailableError } from './outage.js';

/** A background loop (sweeper, notifier). `stop` waits for the current iteration to finish. */
export interface Worker {
  stop(): Promise<void>;
}

/** First retry delay after a tick failed because a service (database, bus) was unreachable. */
const OUTAGE_FIRST_RETRY_MS = 250;
/** Longest of those delays: the loop picks up work within this long of the service's return. */
const OUTAGE_MAX_RETRY_MS = 2000;

/**
 * The delay before the next tick: the interval normally; after `streak` consecutive ticks that
 * failed because a service was away, a doubling delay capped at OUTAGE_MAX_RETRY_MS (never longer
 * than the interval), so an hourly job does not wait an hour after a database restart. Pure.
 */
export function nextTickDelay(intervalMs: number, outageStreak: number): number {
  if (outageStreak === 0) return intervalMs;
  return Math.min(intervalMs, OUTAGE_MAX_RETRY_MS, OUTAGE_FIRST_RETRY_MS * 2 ** (outageStreak - 1));
}

/**
 * Runs `tick` every `intervalMs` (measured from the end of the previous tick, so ticks never overlap).
 * A failing tick is reported to `onError` and retried at the next interval; the loop itself never
 * dies. A tick that failed because the database or bus is unreachable (`isUnavailableError`) is
 * retried sooner, with a short back-off, and only the first failure of such a streak is reported:
 * an outage is one log line per worker, not one per attempt.
 */
export function every(intervalMs: number, tick: () => Promise<unknown>, onError: (error: unknown) => void): Worker {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let outageStreak = 0;
  const loop = () => {
    if (stopped) return;
    running = tick()
      .then(
        () => {
          outageStreak = 0;
        },
        (error: unknown) => {
          if (!isUnavailableError(error)) {
            outageStreak = 0;
            onError(error);
            return;
          }
          if (outageStreak === 0) onError(error);
          outageStreak += 1;
        },
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, nextTickDelay(intervalMs, outageStreak));
      });
  };
  timer = setTimeout(loop, 0);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
