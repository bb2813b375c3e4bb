import type { Logger } from 'pino';
import type { Config } from '../../../config.js';
import { asSystem, type Db } from '../../../platform/store/index.js';
import { every, type Worker } from '../../../platform/worker.js';
import { TRAFFIC_CONSUMER } from '../processor.js';
import { streamDb } from '../tables.js';
import { formatPoint } from './line-protocol.js';
import { changedBuckets, chunk, countPoint, groupBuckets, sendWindow, summaryPoint, type BucketTotal } from './points.js';
import { influxTarget, type InfluxSettings, type InfluxTarget } from './target.js';
import { InfluxWriteError, writeLines, type WriteOptions } from './write.js';

/** The sink writes the 10-second rows: fine enough for dashboards, 8,640 points per dimension a day. */
const RESOLUTION_S = 10;
const RESOLUTION_MS = RESOLUTION_S * 1000;
/** Lines per request (InfluxDB's guidance is batches of about 5,000 points). */
export const MAX_LINES_PER_REQUEST = 5000;
/** How often a failure that keeps happening is logged again. */
const REPEAT_LOG_MS = 5 * 60_000;

export interface InfluxSinkOptions {
  intervalMs?: number;
  write?: Partial<Omit<WriteOptions, 'signal'>>;
}

const DEFAULT_WRITE: Omit<WriteOptions, 'signal'> = { timeoutMs: 30_000, retries: 5, minBackoffMs: 1000, maxBackoffMs: 30_000 };

/** What the sink needs (an `AppContext` fits): the InfluxDB settings and lateness, the store, a logger. */
export interface SinkContext {
  config: InfluxSettings & Pick<Config, 'VIGIL_STATS_LATENESS_MS'>;
  db: Db;
  logger: Logger;
}

/** What was sent for one organisation. */
interface OrgProgress {
  /** The watermark of the last complete pass: final buckets before it were all sent. */
  cursorMs: number;
  /** Hits per bucket as last sent, for the buckets still inside the lateness window. */
  sent: Map<number, string>;
}

/**
 * Copies the 10-second traffic rows into InfluxDB (off unless VIGIL_INFLUX_URL is set; a wrong
 * combination of settings throws a ConfigError naming them).
 *
 * Decoupled from the stream processor: it only reads what the processor committed
 * (`traffic_counts`, `traffic_sketches`, and the per-organisation watermark in `stream_progress`),
 * so it can run in any instance or its own worker and never slows ingest down. Every interval it
 * looks at the final buckets that late events may still have revised, and sends those whose hit
 * total changed since it last sent them. Points are bucket totals, so a re-sent bucket overwrites
 * its earlier point in InfluxDB instead of adding to it.
 *
 * What was sent is kept in memory only: after a restart the last lateness window
 * (VIGIL_STATS_LATENESS_MS) is sent again, which is harmless; buckets that had not been delivered
 * before the restart and are older than that window are not. History from before the sink was
 * turned on is not backfilled.
 */
export function startInfluxSink(ctx: SinkContext, options: InfluxSinkOptions = {}): Worker | undefined {
  const target = influxTarget(ctx.config);
  if (!target) return undefined;
  const logger = ctx.logger.child({ worker: 'influx-sink' });
  const stopping = new AbortController();
  const sink = new InfluxSink(ctx, target, { ...DEFAULT_WRITE, ...options.write, signal: stopping.signal }, logger);
  const worker = every(
    options.intervalMs ?? RESOLUTION_MS,
    () => asSystem('the InfluxDB sink copies every organisation\'s statistics', () => sink.tick()),
    (error) => sink.failed(error),
  );
  logger.info({ url: target.writeUrl.href }, `InfluxDB sink on: 10-second traffic totals go to ${target.writeUrl.origin} (v${target.version} API)`);
  return {
    async stop() {
      stopping.abort();
      await worker.stop();
    },
  };
}

class InfluxSink {
  private readonly progress = new Map<string, OrgProgress>();
  private lastFailure: { message: string; at: number } | undefined;

  constructor(
    private readonly ctx: SinkContext,
    private readonly target: InfluxTarget,
    private readonly write: WriteOptions,
    private readonly logger: Logger,
  ) {}

  async tick(): Promise<void> {
    // Watermarks first, rows after: rows read later are at least as new as the watermark, so a
    // revision committed in between is seen now or, as a changed total, at the next tick.
    const marks = await streamDb(this.ctx.db)
      .selectFrom('stream_progress')
      .select(['org_id', 'watermark'])
      .where('consumer', '=', TRAFFIC_CONSUMER)
      .where('watermark', 'is not', null)
      .execute();
    let points = 0;
    for (const { org_id: orgId, watermark } of marks) {
      if (this.write.signal?.aborted) return;
      if (watermark) points += await this.sendOrg(orgId, watermark.getTime());
    }
    if (this.lastFailure) {
      this.logger.info('InfluxDB writes work again');
      this.lastFailure = undefined;
    }
    if (points > 0) this.logger.debug({ points }, 'sent traffic points to InfluxDB');
  }

  /** Sends the changed final buckets of one organisation; returns the number of points. */
  private async sendOrg(orgId: string, watermarkMs: number): Promise<number> {
    const latenessMs = this.ctx.config.VIGIL_STATS_LATENESS_MS;
    const progress = this.progress.get(orgId) ?? { cursorMs: watermarkMs, sent: new Map<number, string>() };
    this.progress.set(orgId, progress);
    const { fromMs, toMs } = sendWindow(progress.cursorMs, watermarkMs, latenessMs, RESOLUTION_MS);
    let points = 0;
    if (fromMs <= toMs) {
      const totals = await this.bucketTotals(orgId, fromMs, toMs);
      for (const group of groupBuckets(changedBuckets(totals, progress.sent), MAX_LINES_PER_REQUEST)) {
        const lines = await this.linesFor(orgId, group);
        for (const request of chunk(lines, MAX_LINES_PER_REQUEST)) await writeLines(this.target, request, this.write);
        // Remembered only once the whole group is in: a failure re-sends it at the next tick.
        for (const bucket of group) progress.sent.set(bucket.bucketMs, bucket.hits);
        points += lines.length;
      }
    }
    // A complete pass: later passes only look back one lateness window from here.
    progress.cursorMs = Math.max(progress.cursorMs, watermarkMs);
    const oldest = sendWindow(progress.cursorMs, watermarkMs, latenessMs, RESOLUTION_MS).fromMs;
    for (const bucketMs of progress.sent.keys()) if (bucketMs < oldest) progress.sent.delete(bucketMs);
    return points;
  }

  private async bucketTotals(orgId: string, fromMs: number, toMs: number): Promise<BucketTotal[]> {
    const rows = await streamDb(this.ctx.db)
      .selectFrom('traffic_counts')
      .select((eb) => ['bucket', eb.fn.sum<string | number>('hits').as('hits'), eb.fn.countAll<string | number>().as('rows')])
      .where('org_id', '=', orgId)
      .where('resolution', '=', RESOLUTION_S)
      .where('bucket', '>=', new Date(fromMs))
      .where('bucket', '<=', new Date(toMs))
      .groupBy('bucket')
      .orderBy('bucket')
      .execute();
    return rows.map((row) => ({ bucketMs: row.bucket.getTime(), hits: BigInt(row.hits).toString(), rows: Number(row.rows) }));
  }

  private async linesFor(orgId: string, group: readonly BucketTotal[]): Promise<string[]> {
    const buckets = group.map((bucket) => new Date(bucket.bucketMs));
    const [counts, sketches] = await Promise.all([
      streamDb(this.ctx.db)
        .selectFrom('traffic_counts')
        .select(['org_id', 'bucket', 'service', 'section', 'status_class', 'method', 'hits', 'bytes', 'duration_count', 'duration_sum_ms'])
        .where('org_id', '=', orgId)
        .where('resolution', '=', RESOLUTION_S)
        .where('bucket', 'in', buckets)
        .execute(),
      streamDb(this.ctx.db)
        .selectFrom('traffic_sketches')
        .select(['org_id', 'bucket', 'hosts', 'latency'])
        .where('org_id', '=', orgId)
        .where('resolution', '=', RESOLUTION_S)
        .where('bucket', 'in', buckets)
        .execute(),
    ]);
    const points = [...counts.map(countPoint), ...sketches.map(summaryPoint)];
    return points.map(formatPoint).filter((line): line is string => line !== undefined);
  }

  /** Logs a failure, but the same one again only every few minutes (it is retried every tick). */
  failed(error: unknown): void {
    if (this.write.signal?.aborted) return; // stopping: an interrupted write is no failure
    const message = error instanceof Error ? error.message : String(error);
    const now = Date.now();
    if (this.lastFailure?.message === message && now - this.lastFailure.at < REPEAT_LOG_MS) return;
    this.lastFailure = { message, at: now };
    if (error instanceof InfluxWriteError) this.logger.error({ status: error.status }, `InfluxDB sink: ${message}`);
    else this.logger.error({ err: error }, `InfluxDB sink: reading the traffic rows failed: ${message}`);
  }
}
