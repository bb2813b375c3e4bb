/**
 * Preview: the live engine (engine.ts) run over a past range, from the same 1-second counts (and
 * raw events when the rule needs them), returning the metric per group and the times the rule
 * would have fired and resolved. At most ~600 points per series: a longer range is sampled every
 * `step_seconds` (the value at each step's last second), while firings are decided every second.
 */
import type { RulePreview, RuleSpec } from '../../contracts/alerting.js';
import { badRequest } from '../../platform/errors.js';
import { parseInstant as parseInstantText } from '../../platform/instants.js';
import type { Db } from '../../platform/store/index.js';
import { watermarksOf } from '../stream/index.js';
import { RuleEngine, RuleError, type RuleObservation } from './engine.js';
import { readSeconds } from './seconds.js';
import { validateSpec } from './spec.js';

const MAX_POINTS = 600;
/** Longest range a preview evaluates (second by second). */
const MAX_RANGE_S = 7 * 86_400;
const READ_CHUNK_S = 3600;
/** Longest range for rules that read raw events (every event of the range is read). */
const MAX_RAW_RANGE_S = 6 * 3600;

/** "2026-12-04T10:00:00Z", "1764842400" or "now-2h" → unix seconds (the platform's parser); throws a 400 naming `field`. */
export function parseInstant(text: string, nowMs: number, field: string): number {
  const seconds = parseInstantText(text, nowMs / 1000);
  if (seconds === null) throw badRequest(`${field}: not a time (ISO 8601 with a zone, unix seconds or now-<duration>)`, [{ field, message: 'not a time (ISO 8601 with a zone, unix seconds or now-<duration>)' }]);
  return Math.floor(seconds);
}


export async function previewRule(db: Db, orgId: string, spec: RuleSpec, range: { from?: string | undefined; to?: string | undefined }, nowMs = Date.now()): Promise<RulePreview> {
  validateSpec(spec);
  let to: number;
  if (range.to !== undefined) to = parseInstant(range.to, nowMs, 'to');
  else {
    const w = (await watermarksOf(db)).get(orgId);
    to = w === undefined || w === null ? Math.floor(nowMs / 1000) : Math.ceil(w / 1000) - 1;
  }
  const from = range.from !== undefined ? parseInstant(range.from, nowMs, 'from') : to - 3600;
  if (from >= to) throw badRequest('from: must be before to', [{ field: 'from', message: 'must be before to' }]);
  if (to - from > MAX_RANGE_S) throw badRequest('from: the range is longer than 7 days', [{ field: 'from', message: 'the range is longer than 7 days' }]);
  const step = Math.max(1, Math.ceil((to - from) / MAX_POINTS));
  const engine = new RuleEngine('preview', spec);
  if (engine.rawEvents && to - from > MAX_RAW_RANGE_S) {
    throw badRequest('from: a rule that reads raw events previews at most 6 hours', [{ field: 'from', message: 'a rule that reads raw events (percentiles, host, attributes, message, exact statuses) previews at most 6 hours' }]);
  }
  for (const data of await readSeconds(db, orgId, from - engine.windowS, from, engine.rawEvents)) engine.warm(data);
  const series = new Map<string, { labels: Record<string, string>; points: { t: string; value: number | null }[]; firings: { fired_at: string; resolved_at: string | null }[]; firing: boolean }>();
  const sink: RuleObservation[] = [];
  try {
    const chunk = engine.rawEvents ? 60 : READ_CHUNK_S;
    for (let after = from; after < to; after += chunk) {
      for (const data of await readSeconds(db, orgId, after, Math.min(to, after + chunk), engine.rawEvents)) {
        const s = data.second;
        const sampled = (s - from) % step === 0 || s === to;
        engine.step(data, sink, (labels, value, firing) => {
          const key = JSON.stringify(labels);
          let entry = series.get(key);
          if (entry === undefined) series.set(key, (entry = { labels, points: [], firings: [], firing: false }));
          const at = new Date(s * 1000).toISOString();
          if (sampled) entry.points.push({ t: at, value });
          if (firing && !entry.firing) entry.firings.push({ fired_at: at, resolved_at: null });
          if (!firing && entry.firing) {
            const last = entry.firings.at(-1);
            if (last) last.resolved_at = at;
          }
          entry.firing = firing;
        });
        sink.length = 0;
      }
    }
  } catch (error) {
    if (error instanceof RuleError) throw badRequest(`rule: ${error.message}`, [{ field: 'rule', message: error.message }]);
    throw error;
  }
  return {
    threshold: spec.threshold,
    op: spec.op,
    from: new Date(from * 1000).toISOString(),
    to: new Date(to * 1000).toISOString(),
    step_seconds: step,
    series: [...series.values()].map(({ labels, points, firings }) => ({ labels, points, firings })),
  };
}
