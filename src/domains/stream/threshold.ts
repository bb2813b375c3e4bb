/**
 * The high-traffic alert state machine: pure, fed one check at a time in event-time order.
 *
 * At each check, `average = hits / window`. Inactive → active when `average > threshold`
 * (strictly above); active → inactive when `average <= threshold`. There is never a second alert
 * without a recovery in between, and nothing happens while the state does not change.
 */

export interface ThresholdTransition {
  type: 'alert' | 'recover';
  time: number;
  hits: number;
  average: number;
  threshold: number;
}

export interface ThresholdState {
  active: boolean;
}

export class ThresholdAlert {
  private active: boolean;
  /** Hits above which the alert fires: comparing integers avoids a division per check. */
  private readonly limit: number;

  constructor(
    readonly threshold: number,
    readonly window: number,
    state: ThresholdState = { active: false },
  ) {
    this.active = state.active;
    this.limit = threshold * window;
  }

  get isActive(): boolean {
    return this.active;
  }

  /** One check at `time` with `hits` events in the window ending there. */
  evaluate(time: number, hits: number): ThresholdTransition | null {
    const above = hits > this.limit;
    if (above === this.active) return null;
    this.active = above;
    return { type: above ? 'alert' : 'recover', time, hits, average: hits / this.window, threshold: this.threshold };
  }

  snapshot(): ThresholdState {
    return { active: this.active };
  }
}
