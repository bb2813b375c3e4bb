import { useCallback, useState, useSyncExternalStore } from 'react';
import { errorMessage } from './api';

/** Current time, refreshed every `intervalMs`, so relative times ("3 s ago") keep moving. */
const clock = {
  now: Date.now(),
  listeners: new Set<() => void>(),
  timer: undefined as ReturnType<typeof setInterval> | undefined,
};

function subscribeClock(listener: () => void): () => void {
  clock.listeners.add(listener);
  // One shared timer for every clock user, stopped when nobody shows a relative time; restarting
  // it refreshes the time at once (React re-reads the snapshot after subscribing).
  if (clock.timer === undefined) {
    clock.now = Date.now();
    clock.timer = setInterval(() => {
      clock.now = Date.now();
      for (const l of clock.listeners) l();
    }, 1000);
  }
  return () => {
    clock.listeners.delete(listener);
    if (clock.listeners.size === 0) {
      clearInterval(clock.timer);
      clock.timer = undefined;
    }
  };
}

export function useNow(): number {
  return useSyncExternalStore(subscribeClock, () => clock.now);
}

export interface Action {
  busy: boolean;
  /** Why the last run failed (an ApiError when the server refused it), until the next run. */
  error: Error | undefined;
  setError: (error: Error | undefined) => void;
  /** Runs `action` with `busy` set, clearing the previous error first and keeping the new one. */
  run: (action: () => Promise<void>) => Promise<void>;
}

/**
 * A user action (a form submitted, a button pressed) with its busy flag and error, shown where it
 * happened. Kept instead of useMutation: it is a form's own state, and the cache updates after a
 * write are written beside the request (queries.ts helpers), which useMutation would only wrap.
 */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (e) {
      setError(e instanceof Error ? e : new Error(errorMessage(e)));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

/** Which rows of a table are open: `toggle` opens a closed one and closes an open one. */
export function useToggleSet<K>(): [open: ReadonlySet<K>, toggle: (key: K) => void] {
  const [open, setOpen] = useState<ReadonlySet<K>>(() => new Set());
  const toggle = useCallback(
    (key: K) =>
      setOpen((current) => {
        const next = new Set(current);
        if (!next.delete(key)) next.add(key);
        return next;
      }),
    [],
  );
  return [open, toggle];
}
