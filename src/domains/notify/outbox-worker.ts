import { sql, type RawBuilder } from 'kysely';
import { notificationPayloadSchema } from '../../contracts/alerting.js';
import type { AppContext } from '../../platform/http/context.js';
import type { ChannelKind } from '../../platform/store/index.js';
import { every, type Worker } from '../../platform/worker.js';
import { DEFAULT_BACKOFF, nextRetry, type BackoffPolicy } from './backoff.js';
import { emailConfig, slackConfig, webhookConfig } from './channels.js';
import { EmailSender } from './senders/email.js';
import { HttpSender, isPermanentFailure, type SendResult } from './senders/http.js';
import { sendSlack } from './senders/slack.js';
import { sendWebhook } from './senders/webhook.js';
import { describeError } from '../../platform/fetch-error.js';

/**
 * The outbox worker. Rows are claimed in one short statement that pushes `next_attempt_at` ahead
 * by a lease (FOR UPDATE SKIP LOCKED, so concurrent notifiers never take the same row), delivered
 * with no transaction open, then the attempt and the next step are recorded in a second short
 * transaction. A crash between the two leaves the row pending: once the lease expires it is
 * delivered again (at least once, with the same webhook-id for receivers to dedupe).
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

interface ClaimedRow {
  id: string;
  org_id: string;
  channel_id: string;
  payload: Record<string, unknown>;
  attempts: number;
}

interface ChannelRow {
  id: string;
  org_id: string;
  kind: ChannelKind;
  config: Record<string, unknown>;
}

/** An attempt's result plus whether retrying could ever help. */
interface Outcome extends SendResult {
  permanent?: boolean;
}

export class Notifier {
  private readonly http: HttpSender;
  private readonly email: EmailSender;
  private readonly policy: BackoffPolicy;

  constructor(private readonly ctx: AppContext) {
    const { config } = ctx;
    this.http = new HttpSender(config.VIGIL_ALLOW_PRIVATE_WEBHOOKS);
    this.email = new EmailSender(config.VIGIL_SMTP_URL, config.VIGIL_SMTP_FROM);
    this.policy = {
      ...DEFAULT_BACKOFF,
      baseMs: config.VIGIL_NOTIFY_RETRY_BASE_MS,
      maxAttempts: config.VIGIL_NOTIFY_MAX_ATTEMPTS,
    };
  }

  /** Delivers every due notification (up to a bound); returns how many attempts were made. */
  async runOnce(): Promise<number> {
    let total = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const claimed = await this.claim();
      if (claimed.length === 0) break;
      const channels = await this.channelsOf(claimed);
      const results = await Promise.allSettled(claimed.map((row) => this.process(row, channels.get(row.channel_id))));
      for (const r of results) {
        if (r.status === 'rejected') this.ctx.logger.error({ err: r.reason }, 'notifier: recording a delivery attempt failed');
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
    return this.ctx.db
      .updateTable('outbox')
      .set({ next_attempt_at: sql<Date>`now() + ${LEASE_MS}::integer * interval '1 millisecond'` })
      .where('status', '=', 'pending')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('outbox')
          .select('id')
          .where('status', '=', 'pending')
          .where('next_attempt_at', '<=', sql<Date>`now()`)
          .orderBy('next_attempt_at')
          .limit(BATCH_SIZE)
          .forUpdate()
          .skipLocked(),
      )
      .returning(['id', 'org_id', 'channel_id', 'payload', 'attempts'])
      .execute();
  }

  private async channelsOf(rows: ClaimedRow[]): Promise<Map<string, ChannelRow>> {
    const ids = [...new Set(rows.map((r) => r.channel_id))];
    const channels = await this.ctx.db.selectFrom('channels').select(['id', 'org_id', 'kind', 'config']).where('id', 'in', ids).execute();
    return new Map(channels.map((c) => [c.id, c]));
  }

  private async process(row: ClaimedRow, channel: ChannelRow | undefined): Promise<void> {
    const attemptedAt = new Date();
    const started = performance.now();
    const outcome = await this.attempt(row, channel).catch(
      (error: unknown): Outcome => ({ ok: false, statusCode: null, error: describeError(error), permanent: isPermanentFailure(error) }),
    );
    const durationMs = Math.round(performance.now() - started);
    await this.record(row, outcome, attemptedAt, durationMs);
  }

  private async attempt(row: ClaimedRow, channel: ChannelRow | undefined): Promise<Outcome> {
    // The channel must belong to the row's organisation (tenancy), even though raiseAlert only queues its own.
    if (!channel || channel.org_id !== row.org_id) return { ok: false, statusCode: null, error: 'channel no longer exists', permanent: true };
    const parsed = notificationPayloadSchema.safeParse(row.payload);
    if (!parsed.success) return { ok: false, statusCode: null, error: `malformed notification payload: ${parsed.error.message}`, permanent: true };
    const payload = parsed.data;
    const baseUrl = this.ctx.config.VIGIL_BASE_URL;
    switch (channel.kind) {
      case 'webhook': {
        const config = webhookConfig.safeParse(channel.config);
        if (!config.success) return { ok: false, statusCode: null, error: 'webhook channel has no valid url/secret', permanent: true };
        return sendWebhook(this.http, config.data, row.id, payload);
      }
      case 'slack': {
        const config = slackConfig.safeParse(channel.config);
        if (!config.success) return { ok: false, statusCode: null, error: 'slack channel has no valid url', permanent: true };
        return sendSlack(this.http, config.data, payload, baseUrl);
      }
      case 'email': {
        const config = emailConfig.safeParse(channel.config);
        if (!config.success) return { ok: false, statusCode: null, error: 'email channel has no valid recipients', permanent: true };
        return this.email.send(config.data, row.id, payload, baseUrl);
      }
    }
  }

  private async record(row: ClaimedRow, outcome: Outcome, attemptedAt: Date, durationMs: number): Promise<void> {
    const attempts = row.attempts + 1;
    const error = outcome.error === null ? null : outcome.error.slice(0, MAX_ERROR_LENGTH);
    let status: 'pending' | 'delivered' | 'failed';
    let next: RawBuilder<Date> | undefined;
    if (outcome.ok) status = 'delivered';
    else {
      const decision = outcome.permanent ? ({ giveUp: true } as const) : nextRetry(attempts, this.policy);
      if (decision.giveUp) status = 'failed';
      else {
        status = 'pending';
        next = sql<Date>`now() + ${decision.delayMs}::integer * interval '1 millisecond'`;
      }
    }
    const updated = await this.ctx.db.transaction().execute(async (trx) => {
      // Updating first locks the row, so a concurrent channel deletion (cascade) cannot orphan the attempt.
      const res = await trx
        .updateTable('outbox')
        .set({
          status,
          attempts,
          last_error: error,
          ...(status === 'delivered' ? { delivered_at: sql<Date>`now()` } : {}),
          ...(next ? { next_attempt_at: next } : {}),
        })
        .where('id', '=', row.id)
        .where('status', '=', 'pending')
        .returning('id')
        .executeTakeFirst();
      if (!res) return false;
      await trx
        .insertInto('delivery_attempts')
        .values({
          outbox_id: row.id,
          org_id: row.org_id,
          attempted_at: attemptedAt,
          ok: outcome.ok,
          status_code: outcome.statusCode,
          error,
          duration_ms: durationMs,
        })
        .execute();
      return true;
    });
    if (!updated) return;
    const log = { notification: row.id, channel: row.channel_id, attempt: attempts, status, error };
    if (outcome.ok) this.ctx.logger.debug(log, 'notification delivered');
    else this.ctx.logger.warn(log, status === 'failed' ? 'notification given up' : 'notification attempt failed; will retry');
    this.ctx.live.publish(row.org_id, {
      type: 'notification',
      data: { id: row.id, channel_id: row.channel_id, status, attempts, error },
    });
  }
}


/** The notifier loop: every VIGIL_NOTIFY_INTERVAL_MS, deliver what is due. */
export function startNotifier(ctx: AppContext): Worker {
  const notifier = new Notifier(ctx);
  const loop = every(
    ctx.config.VIGIL_NOTIFY_INTERVAL_MS,
    () => notifier.runOnce(),
    (error) => ctx.logger.error({ err: error }, 'notifier tick failed'),
  );
  return {
    async stop() {
      await loop.stop();
      await notifier.close();
    },
  };
}
