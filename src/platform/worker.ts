/** A background loop (sweeper, notifier). `stop` waits for the current iteration to finish. */
export interface Worker {
  stop(): Promise<void>;
}

/**
 * Runs `tick` every `intervalMs` (measured from the end of the previous tick, so ticks never overlap).
 * A failing tick is logged and retried at the next interval; the loop itself never dies.
 */
export function every(intervalMs: number, tick: () => Promise<unknown>, onError: (error: unknown) => void): Worker {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const loop = () => {
    if (stopped) return;
    running = tick()
      .then(() => undefined, onError)
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, intervalMs);
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
