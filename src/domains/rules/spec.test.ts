import { describe, expect, it } from 'vitest';
import { ruleInput, type RuleInput } from '../../contracts/alerting.js';
import { DomainError } from '../../platform/errors.js';
import { parseInstant } from './preview.js';
import { durationMs, needsRawEvents, renderSummary, validateSpec } from './spec.js';

const spec = (over: Partial<RuleInput>) => ruleInput.parse({ name: 'r', metric: 'requests', window: '1m', op: '>', threshold: 1, ...over });
const fields = (over: Partial<RuleInput>): string[] => {
  try {
    validateSpec(spec(over));
    return [];
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return (error.details as { field: string }[]).map((d) => d.field);
  }
};

describe('rule specs', () => {
  it('parses durations as Prometheus writes them', () => {
    expect(durationMs('1h30m')).toBe(5_400_000);
    expect(durationMs('1d')).toBe(86_400_000);
    expect(durationMs('250ms')).toBe(250);
  });

  it('names the field of each problem zod alone cannot see', () => {
    expect(fields({})).toEqual([]);
    expect(fields({ window: '0s' })).toEqual(['window']);
    expect(fields({ window: '1d1s' })).toEqual(['window']);
    expect(fields({ window: '1500ms' })).toEqual(['window']);
    expect(fields({ for: '8d' })).toEqual(['for']);
    expect(fields({ metric: 'duration_percentile' })).toEqual(['percentile']);
    expect(fields({ metric: 'status_class_count' })).toEqual(['status_class']);
    expect(fields({ percentile: 95 })).toEqual(['percentile']);
    expect(fields({ message: '{{valeu}} over {{window}}' })).toEqual(['message']);
    expect(fields({ message: '{{labels.section}}' })).toEqual(['message']);
    expect(fields({ message: '{{labels.section}} {{labels.team}}', group_by: ['section'], labels: { team: 'web' } })).toEqual([]);
    expect(fields({ group_by: ['section', 'section'] })).toEqual(['group_by']);
  });

  it('knows which rules need raw events', () => {
    expect(needsRawEvents(spec({}))).toBe(false);
    expect(needsRawEvents(spec({ filters: { status: '5xx' } }))).toBe(false);
    expect(needsRawEvents(spec({ filters: { status: 404 } }))).toBe(true);
    expect(needsRawEvents(spec({ group_by: ['host'] }))).toBe(true);
    expect(needsRawEvents(spec({ metric: 'duration_percentile', percentile: 99 }))).toBe(true);
  });

  it('renders the default summary and templates', () => {
    const s = spec({ metric: 'error_rate', group_by: ['section'], window: '5m', threshold: 0.02 });
    expect(renderSummary(s, { section: '/api' }, 0.031)).toBe('error_rate 3.1 % > 2 % over 5m for section=/api');
    expect(renderSummary({ ...s, message: '{{rule}}: {{value}} on {{labels.section}}' }, { section: '/api' }, null)).toBe('r: no data on /api');
  });

  it('reads preview instants: ISO, unix seconds, now-<duration>', () => {
    const now = 1_764_800_000_000;
    expect(parseInstant('now', now, 'to')).toBe(1_764_800_000);
    expect(parseInstant('now-1h', now, 'from')).toBe(1_764_796_400);
    expect(parseInstant('1549573860', now, 'from')).toBe(1_549_573_860);
    expect(parseInstant('2019-02-07T21:11:00Z', now, 'from')).toBe(1_549_573_860);
    expect(() => parseInstant('yesterday', now, 'from')).toThrow(/from/);
  });
});
