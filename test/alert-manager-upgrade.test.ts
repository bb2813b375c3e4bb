/**
 * Upgrading a database whose checks were alerted down before the alert manager existed (migration
 * 008): each becomes a firing instance whose firing counts as announced, so its recovery is still
 * sent once, under the fingerprint the manager computes.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../src/domains/alerting/messages.js';
import { reportConditions } from '../src/domains/alerting/index.js';
import { checkReport } from '../src/domains/jobs/alerts.js';
import type { CheckRow } from '../src/domains/jobs/checks.js';
import { databaseAt } from './support/migrations.js';

describe('migration 008 on a database with checks alerted down', () => {
  it('turns each into an announced firing instance, whose recovery is then sent once', async () => {
    const { db, migrator, close } = await databaseAt('007_stream_sources');
    try {
      const org = '11111111-1111-4111-8111-111111111111';
      const down = '22222222-2222-4222-8222-222222222222';
      const up = '33333333-3333-4333-8333-333333333333';
      await sql`INSERT INTO orgs (id, name, ping_key) VALUES (${org}, 'o', 'pk')`.execute(db);
      await sql`INSERT INTO checks (id, org_id, name, status, status_reason, alerted_down, realert_s, next_realert_at)
                VALUES (${down}, ${org}, 'nightly export', 'down', 'missed run', true, 3600, now()),
                       (${up}, ${org}, 'fine', 'up', 'success', false, NULL, NULL)`.execute(db);
      expect((await migrator.migrateToLatest()).error).toBeUndefined();

      const instances = await sql<{ fingerprint: string; rule_id: string; state: string }>`SELECT fingerprint, rule_id, state FROM alert_instances`.execute(db);
      expect(instances.rows).toEqual([{ fingerprint: fingerprintOf('job', down, {}), rule_id: down, state: 'firing' }]);
      const groups = await sql<{ group_key: string; announced: string[]; routing: unknown }>`SELECT group_key, announced, routing FROM alert_groups`.execute(db);
      expect(groups.rows).toEqual([
        { group_key: `job:${down}`, announced: [fingerprintOf('job', down, {})], routing: { channels: '*', group_by: [], group_wait_ms: 0, group_interval_ms: 0, repeat_interval_ms: 3_600_000 } },
      ]);
      expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM checks WHERE next_realert_at IS NOT NULL`.execute(db)).rows[0]!.n).toBe(0);

      // The check comes back up: the manager sends its resolve, once.
      const check = (await sql<CheckRow>`SELECT * FROM checks WHERE id = ${down}`.execute(db)).rows[0]!;
      const at = new Date();
      await db.transaction().execute((trx) => reportConditions(trx, [checkReport({ ...check, status: 'up' }, { kind: 'recovered', reason: 'back up' }, at)], at));
      await db.transaction().execute((trx) => reportConditions(trx, [checkReport({ ...check, status: 'up' }, { kind: 'recovered', reason: 'back up' }, at)], at));
      const sent = await sql<{ kind: string; title: string }>`SELECT kind, title FROM alerts`.execute(db);
      expect(sent.rows).toEqual([{ kind: 'recovered', title: 'Job "nightly export" is up again' }]);
    } finally {
      await close();
    }
  });
});
