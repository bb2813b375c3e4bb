import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkViewSchema, hcCheckSchema, hcFlipSchema, hcPingSchema } from '../../contracts/jobs.js';
import { checkView, type CheckRow } from './checks.js';
import { hcCheck, hcFlip, hcPing } from './healthchecks.js';
import type { FlipRow, PingRow } from './history.js';

// Answers are serialized through the contract schemas, which write keys in schema order and drop
// keys they do not name: a view and its schema must agree key for key, or the Healthchecks answers
// would stop being byte-identical (and the native ones would lose fields).
const serialized = (schema: z.ZodType, value: unknown) => JSON.stringify(z.encode(schema, value));

const at = new Date('2026-03-24T14:02:03.456Z');
const row = (over: Partial<CheckRow> = {}): CheckRow => ({
  id: '7b0ae5a6-50a6-4b2b-9d7c-6e1f1a0e5e11',
  org_id: 'a4c1d0b2-8f0e-4d5c-9a3b-2e1f0c9d8b7a',
  name: 'Nightly ETL',
  slug: 'nightly-etl',
  tags: 'etl prod',
  description: 'loads the warehouse',
  kind: 'simple',
  timeout_s: 86400,
  grace_s: 3600,
  schedule: '* * * * *',
  tz: 'UTC',
  manual_resume: false,
  methods: '',
  channels: '*',
  max_runtime_s: 7200,
  min_runtime_s: null,
  failure_threshold: 1,
  realert_s: null,
  status: 'up',
  status_reason: 'success ping',
  last_ping_at: at,
  last_start_at: null,
  last_start_rid: null,
  last_duration_ms: 61_500,
  n_pings: 12,
  consecutive_failures: 0,
  alerted_down: false,
  late_at: new Date(at.getTime() + 86_400_000),
  down_at: new Date(at.getTime() + 90_000_000),
  runtime_deadline_at: null,
  next_realert_at: null,
  created_at: at,
  badge_key: '0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f',
  filter_http_body: false,
  filter_default_fail: false,
  start_kw: '',
  success_kw: '',
  failure_kw: '',
  ...over,
});

describe('views and their contract schemas agree key for key', () => {
  it("Healthchecks' check, simple and scheduled, with and without a last duration", () => {
    for (const r of [row(), row({ kind: 'cron', schedule: '0 2 * * *', tz: 'Europe/Paris', last_duration_ms: null })]) {
      const view = hcCheck(r, 'http://vigil', ['c1'], { version: 3, links: '/api/v3' }, at);
      expect(serialized(hcCheckSchema, view)).toBe(JSON.stringify(view));
    }
  });

  it("Healthchecks' ping and flip", () => {
    const ping: PingRow = {
      id: 1,
      org_id: 'o',
      check_id: 'c',
      n: 3,
      kind: 'success',
      created_at: at,
      scheme: 'http',
      method: 'POST',
      remote_addr: '127.0.0.1',
      user_agent: 'curl',
      exit_status: 0,
      rid: null,
      body: 'done',
      body_size: 4,
      duration_ms: 1234,
    };
    for (const p of [ping, { ...ping, exit_status: null, duration_ms: null, body: null }]) {
      const view = hcPing(p, 'http://vigil/api/v3/checks/c/pings');
      expect(serialized(hcPingSchema, view)).toBe(JSON.stringify(view));
    }
    const flip: FlipRow = { id: 1, org_id: 'o', check_id: 'c', created_at: at, old_status: 'new', new_status: 'up', reason: 'success ping' };
    expect(serialized(hcFlipSchema, hcFlip(flip))).toBe(JSON.stringify(hcFlip(flip)));
  });

  it("Vigil's own check view", () => {
    const view = checkView(row(), 'http://vigil', 'pingkey', [1000, 2000], at);
    expect(serialized(checkViewSchema, view)).toBe(JSON.stringify(view));
  });
});
