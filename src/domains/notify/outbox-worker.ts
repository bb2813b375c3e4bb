import type { Logger } from 'pino';
import { notificationPayload, type DeliveryStatus } from '../../contracts/notify.js';
import type { LiveHub } from '../../platform/live.js';
import { every, type Worker } from '../../platform/worker.js';
import { describeError } from '../../platform/fetch-error.js';
import { orgAdminEmails } from '../accounts/index.js';
import { DEFAULT_BACKOFF, nextRetry, type BackoffPolicy } from './backoff.js';
import { deliveredPayload } from './payload.js';
import { shouldDisable, type DisablePolicy } from './channel-health.js';
import { disableFailingChannel, publishChannel, publishDelivery, type DisabledChannel } from './channels.js';
import { channelOf, type Senders } from './registry.js';
import { EmailSender } from './senders/email.js';
import { HttpSender, isPermanentFailure, type SendResult } from './senders/http.js';
import { claimDue, lockChannel, recordAttempt, skipPending, updateFailureStreak, type ChannelRow, type ClaimedRow, type DeliveryStateRow } from './store.js';
import { asSystem, type Db } from '../../platform/store/index.js';

/**
 * The outbox worker. Rows are claimed in one short statement that pushes `next_attempt_at` ahead
 * by a lease (FOR UPDATE SKIP LOCKED, so concurrent notifiers never take the same row), delivered
 * with no transaction open, then the attempt and the next step are recorded in a second short
 * transaction. A crash between the two leaves the row pending: once the lease expires it is
 * delivered again (at least once, with the same webhook-id for receivers to dedupe).
 *
 * The transaction that records an attempt also keeps the channel's failure streak, and disables
 * the channel when channel-health.ts says so (skipping its pending notifications and queueing a
 * "channel disabled" notice to the organisation's other channels), so a channel is disabled once
 * and its notice queued once. The admins' e-mail about it is sent after the commit, best effort
 * (logged when it fails): the queued notice is the durable way they are told.
 * A claimed notification whose channel is disabled is not attempted: it is kept as skipped.
 * A notification of a recorded alert is claimed with its record's content, which its payload
 * leaves out (payload.ts): the record never changes and outlives the row, so every attempt and
 * re-send delivers what was queued.
 */

/** Rows claimed per round. */
const BATCH_SIZE = 20;
/** Rounds per tick, so a backlog drains without one tick running forever. */
const MAX_ROUNDS = 10;
/**
 * How long a claimed row stays invisible to other notifiers: longer than the slowest delivery
 * (HTTP: 10 s connect + 10 s headers + 10 s body; SMTP: 10 s + 10 s + 30 s socket timeouts).
 */
const LEASE_MS = 120_000;
const MAX_ERROR_LENGTH = 1_000;

/** The settings the notifier reads (names as in the configuration, so the server passes its config as it is). */
export interface NotifierSettings {
  VIGIL_ALLOW_PRIVATE_WEBHOOKS: boolean;
  VIGIL_SMTP_URL?: string | undefined;
  VIGIL_SMTP_FROM: string;
  VIGIL_NOTIFY_RETRY_BASE_MS: number;
  VIGIL_NOTIFY_RETRY_CAP_MS: number;
  VIGIL_NOTIFY_GIVE_UP_AFTER_MS: number;
  VIGIL_NOTIFY_DISABLE_AFTER_FAILURES: number;
  VIGIL_NOTIFY_DISABLE_AFTER_MS: number;
  VIGIL_NOTIFY_INTERVAL_MS: number;
  VIGIL_BASE_URL?: string | undefined;
}

/** What the notifier needs: the store, a logger, where to announce deliveries, and its settings. */
export interface NotifierDeps {
  db: Db;
  logger: Logger;
  live: Pick<LiveHub, 'publish' | 'announce'>;
  config: NotifierSettings;
}

/** An attempt's result plus whether retrying could ever help. */
interface Outcome extends SendResult {
  permanent?: boolean;
}

export class Notifier {
  private readonly http: HttpSender;
  private readonly email: EmailSender;
  private readonly senders: Senders;
  private readonly policy: BackoffPolicy;
  private readonly disablePolicy: DisablePolicy;

  constructor(private readonly deps: NotifierDeps) {
    const { config } = deps;
    this.http = new HttpSender(config.VIGIL_ALLOW_PRIVATE_WEBHOOKS);
    this.email = new EmailSender(config.VIGIL_SMTP_URL, config.VIGIL_SMTP_FROM);
    this.senders = { http: this.http, email: this.email, baseUrl: config.VIGIL_BASE_URL };
    this.policy = {
      ...DEFAULT_BACKOFF,
      baseMs: config.VIGIL_NOTIFY_RETRY_BASE_MS,
      capMs: config.VIGIL_NOTIFY_RETRY_CAP_MS,
      giveUpAfterMs: config.VIGIL_NOTIFY_GIVE_UP_AFTER_MS,
    };
    this.disablePolicy = { minFailures: config.VIGIL_NOTIFY_DISABLE_AFTER_FAILURES, minSpanMs: config.VIGIL_NOTIFY_DISABLE_AFTER_MS };
  }

  /** Delivers every due notification (up to a bound); returns how many attempts were made. */
  async runOnce(): Promise<number> {
    let total = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const claimed = await this.claim();
      if (claimed.length === 0) break;
      const results = await Promise.allSettled(claimed.map((row) => this.process(row)));
      for (const r of results) {
        if (r.status === 'rejected') this.deps.logger.error({ err: r.reason }, 'notifier: recording a delivery attempt failed');
      }
      total += claimed.length;
      if (claimed.length < BATCH_SIZE) break;
    }
    return total;
  }

  async close(): Promise<void> {
    this.email.close();
    await this.http.close();
  }

  private async claim(): Promise<ClaimedRow[]> {
    return claimDue(this.deps.db, BATCH_SIZE, LEASE_MS);
  }

  private async process(row: ClaimedRow): Promise<void> {
    const { channel } = row;
    if (channel?.disabled_at) {
      // Disabled after this row was queued (or while it waited): kept, not attempted.
      const skipped = await skipPending(this.deps.db, { outboxId: row.id }, `channel disabled: ${channel.disabled_reason ?? 'by Vigil'}`);
      for (const state of skipped) publishDelivery(this.deps.live, state);
      return;
    }
    const attemptedAt = new Date();
    const started = performance.now();
    const outcome = await this.attempt(row, channel).catch(
      (error: unknown): Outcome => ({ ok: false, statusCode: null, error: describeError(error), permanent: isPermanentFailure(error) }),
    );
    const durationMs = Math.round(performance.now() - started);
    await this.record(row, outcome, attemptedAt, durationMs);
  }

  private async attempt(row: ClaimedRow, channel: ChannelRow | null): Promise<Outcome> {
    // The channel must belong to the row's organisation (tenancy), even though raiseAlert only queues its own.
    if (!channel || channel.org_id !== row.org_id) return { ok: false, statusCode: null, error: 'channel no longer exists', permanent: true };
    const parsed = notificationPayload.safeParse(deliveredPayload(row.payload, row.record));
    if (!parsed.success) return { ok: false, statusCode: null, error: `malformed notification payload: ${parsed.error.message}`, permanent: true };
    return channelOf(channel.kind).deliver(this.senders, channel.config, row.id, parsed.data);
  }

  private async record(row: ClaimedRow, outcome: Outcome, attemptedAt: Date, durationMs: number): Promise<void> {
    const attempts = row.attempts + 1;
    const error = outcome.error === null ? null : outcome.error.slice(0, MAX_ERROR_LENGTH);
    let status: DeliveryStatus;
    let retryInMs: number | undefined;
    if (outcome.ok) status = 'delivered';
    else {
      const decision = outcome.permanent ? ({ giveUp: true } as const) : nextRetry(attempts, this.policy);
      if (decision.giveUp) status = 'failed';
      else {
        status = 'pending';
        retryInMs = decision.delayMs;
      }
    }
    const recorded = await this.deps.db.transaction().execute(async (trx): Promise<{ state: DeliveryStateRow; disabled?: DisabledChannel } | undefined> => {
      await lockChannel(trx, row.channel_id);
      const state = await recordAttempt(trx, {
        outboxId: row.id,
        orgId: row.org_id,
        status,
        attempts,
        error,
        ...(retryInMs === undefined ? {} : { retryInMs }),
        attemptedAt,
        ok: outcome.ok,
        statusCode: outcome.statusCode,
        durationMs,
      });
      if (!state) return undefined;
      const streak = await updateFailureStreak(trx, row.channel_id, outcome.ok, attemptedAt);
      if (outcome.ok || !streak?.since) return { state };
      const failing = { failures: streak.failures, since: streak.since };
      if (!shouldDisable(failing, new Date(), this.disablePolicy)) return { state };
      const disabled = await disableFailingChannel(trx, row.channel_id, failing, error);
      return disabled ? { state, disabled } : { state };
    });
    if (!recorded) return;
    const log = { notification: row.id, channel: row.channel_id, attempt: attempts, status, error };
    if (outcome.ok) this.deps.logger.debug(log, 'notification delivered');
    else this.deps.logger.warn(log, status === 'failed' ? 'notification given up' : 'notification attempt failed; will retry');
    publishDelivery(this.deps.live, recorded.state);
    if (recorded.disabled) await this.announceDisabled(recorded.disabled);
  }

  /** After the commit: dashboards see the channel disabled and its notifications skipped; admins get an e-mail if SMTP is set up. */
  private async announceDisabled({ channel, skipped, notice }: DisabledChannel): Promise<void> {
    this.deps.logger.warn({ channel: channel.id, reason: channel.disabled_reason }, 'notification channel disabled');
    publishChannel(this.deps.live, channel);
    for (const state of skipped) publishDelivery(this.deps.live, state);
    if (!this.deps.config.VIGIL_SMTP_URL) return;
    try {
      const admins = await orgAdminEmails(this.deps.db, channel.org_id);
      if (admins.length === 0) return;
      const result = await this.email.send({ to: admins }, `${notice.id}-admins`, notice, this.deps.config.VIGIL_BASE_URL);
      if (!result.ok) throw new Error(result.error ?? 'not sent');
    } catch (error) {
      this.deps.logger.error({ err: error, channel: channel.id }, 'could not e-mail the admins that a channel was disabled');
    }
  }
}

/** The notifier loop: every VIGIL_NOTIFY_INTERVAL_MS, deliver what is due. */
export function startNotifier(deps: NotifierDeps): Worker {
  const notifier = new Notifier(deps);
  const loop = every(
    deps.config.VIGIL_NOTIFY_INTERVAL_MS,
    () => asSystem('the notifier delivers every organisation\'s outbox', () => notifier.runOnce()),
    (error) => deps.logger.error({ err: error }, 'notifier tick failed'),
  );
  return {
    async stop() {
      await loop.stop();
      await notifier.close();
    },
  };
}
