import { addCounts } from '../../src/domains/stream/processor-store.js';
import type { Db } from '../../src/platform/store/index.js';

/** One traffic_counts row as a test states it: unnamed dimensions are '' (none), the resolution 10 s. */
export interface TrafficCounts {
  bucket: Date;
  resolution?: number;
  service?: string;
  section: string;
  statusClass?: string;
  method?: string;
  hits: number;
  bytes?: number;
  durationCount?: number;
  durationSumMs?: number;
}

/**
 * Adds to (or creates) an organisation's count rows with the stream processor's own statement, so
 * tests of what reads the statistics (API, sinks) see rows exactly as a processor commit leaves
 * them, without running a processor. Rows in one call must differ in their key, as in a commit.
 */
export async function addTrafficCounts(db: Db, orgId: string, rows: readonly TrafficCounts[]): Promise<void> {
  await addCounts(
    db,
    rows.map((r) => ({
      orgId,
      resolution: r.resolution ?? 10,
      bucket: r.bucket.getTime(),
      service: r.service ?? '',
      section: r.section,
      statusClass: r.statusClass ?? '',
      method: r.method ?? '',
      hits: r.hits,
      bytes: r.bytes ?? 0,
      durationCount: r.durationCount ?? 0,
      durationSumMs: r.durationSumMs ?? 0,
    })),
  );
}
