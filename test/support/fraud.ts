/**
 * Fraud criteria written straight into the store (the criteria API is another module's): the
 * aggregates are read by the real checker, as the API does when it saves.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { checkExpression } from '../../src/domains/fraud/index.js';
import type { Db } from '../../src/platform/store/index.js';

export interface CriterionSeed {
  name?: string;
  expression: string;
  shadow?: boolean;
  enabled?: boolean;
  groupBy?: string[];
  groupWait?: string;
  groupInterval?: string;
  channels?: '*' | string[];
  lists?: Map<string, number>;
}

export async function insertCriterion(db: Db, orgId: string, seed: CriterionSeed): Promise<string> {
  const check = checkExpression(seed.expression, seed.lists ?? new Map());
  if (!check.ok) throw new Error(`criterion does not check: ${JSON.stringify(check.errors)}`);
  const id = randomUUID();
  const spec = {
    name: seed.name ?? seed.expression.slice(0, 60),
    expression: seed.expression,
    enabled: seed.enabled ?? true,
    shadow: seed.shadow ?? false,
    severity: 'warning',
    channels: JSON.stringify(seed.channels ?? '*'),
    group_by: JSON.stringify(seed.groupBy ?? ['sender_id']),
    group_wait: seed.groupWait ?? '30s',
    group_interval: seed.groupInterval ?? '15m',
    aggregates: JSON.stringify(check.aggregates),
  };
  await db.transaction().execute(async (trx) => {
    await sql`INSERT INTO fraud_criteria (id, org_id, version, name, expression, enabled, shadow, severity, channels, group_by, group_wait, group_interval, aggregates)
      VALUES (${id}, ${orgId}, 1, ${spec.name}, ${spec.expression}, ${spec.enabled}, ${spec.shadow}, ${spec.severity}, ${spec.channels}::jsonb, ${spec.group_by}::jsonb, ${spec.group_wait}, ${spec.group_interval}, ${spec.aggregates}::jsonb)`.execute(trx);
    await sql`INSERT INTO fraud_criterion_versions (criterion_id, version, org_id, name, expression, enabled, shadow, severity, channels, group_by, group_wait, group_interval, aggregates)
      VALUES (${id}, 1, ${orgId}, ${spec.name}, ${spec.expression}, ${spec.enabled}, ${spec.shadow}, ${spec.severity}, ${spec.channels}::jsonb, ${spec.group_by}::jsonb, ${spec.group_wait}, ${spec.group_interval}, ${spec.aggregates}::jsonb)`.execute(trx);
  });
  return id;
}

/** The external ids a criterion matched (all versions), sorted. */
export async function matchedIds(db: Db, criterionId: string): Promise<string[]> {
  const r = await sql<{ external_id: string }>`SELECT external_id FROM fraud_alerts WHERE criterion_id = ${criterionId} ORDER BY external_id`.execute(db);
  return r.rows.map((x) => x.external_id);
}

/** Waits until the detector has no arrival left to evaluate. */
export async function untilDetected(db: Db, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await sql<{ n: string }>`SELECT count(*) AS n FROM shipment_arrival_batches`.execute(db);
    if (Number(r.rows[0]?.n ?? 0) === 0) return;
    if (Date.now() > deadline) throw new Error(`arrivals still pending after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
