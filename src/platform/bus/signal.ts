/** Wakes everyone waiting when something changed (new messages, progress). No lost wake-ups as
 * long as callers check their condition and call `wait()` in the same synchronous step. */
export class Signal {
  private waiters = new Set<() => void>();

  /** Resolves at the next `notify()`, or after `timeoutMs` when given. */
  wait(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = () => {
        if (timer) clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      this.waiters.add(wake);
      if (timeoutMs !== undefined) timer = setTimeout(wake, Math.max(0, timeoutMs));
    });
  }

  notify(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

/** Waits until `condition()` holds or `deadline` (epoch ms) passes; true when it held. */
export async function waitUntil(condition: () => boolean, signal: Signal, deadline: number): Promise<boolean> {
  for (;;) {
    if (condition()) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await signal.wait(left);
  }
}

/** Resolves true when `promise` settles before `deadline`, false otherwise (it keeps running). */
export async function settlesBefore(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
