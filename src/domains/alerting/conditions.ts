/**
 * What every alert source (jobs, log rules, fraud) tells the alert manager: the condition of one
 * alert instance at one instant. Sources only observe; the manager (manager.ts) owns instance
 * state, grouping, silences, reminders and notifications, and applies reports inside the caller's
 * transaction so that the source's own progress (a check's state, the evaluator's position) and
 * the notifications it causes commit together.
 */
import type { AlertSource, ChannelSelection, Severity } from '../../contracts/alerting.js';
import type { InstanceTiming } from './instance.js';

/** How an instance's group is notified (Alertmanager's route settings), in milliseconds. */
export interface Routing {
  channels: ChannelSelection;
  /**
   * Labels that split a rule's instances into notification groups; the group key is
   * source + rule id + these labels' values. [] = one group per rule (a burst of twenty
   * sections is one notification).
   */
  groupBy: string[];
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  /**
   * The instances are events (fraud matches), not conditions: each is told once in its group's
   * next digest and then closed, never resolved by notification nor repeated (grouping.ts).
   */
  events?: boolean;
}

export interface ConditionReport {
  orgId: string;
  source: AlertSource;
  /** The rule, check or criterion the instance belongs to. */
  ruleId: string;
  ruleName: string;
  /** The instance's labels (e.g. its group-by values); with source and rule id they make its fingerprint. */
  labels: Record<string, string>;
  /**
   * Labels shown and matched by silences but not part of the instance's identity (a check's name
   * and tags, which may change without making a new instance).
   */
  displayLabels?: Record<string, string>;
  /** What happened, in one word, for the notification's `kind` (jobs: fail, missed, too_long, recovered…). */
  kind?: string;
  /** When the condition was observed: event time for log rules, wall clock for jobs. */
  at: Date;
  /** Whether the condition holds (threshold crossed, check down, no data with no_data=alerting…). */
  active: boolean;
  value: number | null;
  threshold: number | null;
  /** Why, in words ("error rate 3.1 % > 2 % over 5m"); kept in the instance's history. */
  reason: string;
  /** The instance's current one-line summary (the rendered message template). */
  summary: string;
  severity: Severity;
  timing: InstanceTiming;
  routing: Routing;
  /** Link to the page that explains the instance (check page, traffic dashboard), path only. */
  link?: string;
  /** Extra facts for the notification (check tags, run output…). */
  details?: Record<string, unknown>;
}
