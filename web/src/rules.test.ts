import { describe, expect, it } from 'vitest';
import { ruleInput } from '@contracts/alerting.js';
import { explainTiming, formToRule, messagesFor, NEW_RULE_FORM, parseDuration, previewGeometry, previewRange, ruleInputOf, ruleToForm, type RuleInput, type RuleView } from './rules';

describe('durations', () => {
  it('reads the contract\'s duration text', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('2 minutes')).toBeUndefined();
  });
});

describe('the rule form', () => {
  it('turns the issue\'s example bodies into the same rule and back', () => {
    const bodies: RuleInput[] = [
      { name: 'high traffic', metric: 'requests_per_second', window: '2m', op: '>', threshold: 10, channels: '*' },
      { name: '5xx by section', metric: 'error_rate', group_by: ['section'], window: '5m', op: '>', threshold: 0.02, for: '1m' },
    ];
    for (const body of bodies) {
      const { input, errors } = formToRule(ruleToForm(body));
      expect(errors).toEqual([]);
      // Equal to what the server makes of the body (its defaults filled in).
      expect(ruleInput.parse(input)).toEqual(ruleInput.parse(body));
    }
  });

  it('keeps every field through a round trip', () => {
    const full: RuleInput = {
      name: 'slow checkout',
      description: 'p95 of checkout',
      metric: 'duration_percentile',
      percentile: 95,
      filters: { service: ['shop', 'api'], section: '/checkout', status: [500, '4xx'], method: 'POST', host: 'web-1', attributes: { region: 'eu', tier: 'gold' }, message: 'timeout' },
      group_by: ['service', 'host'],
      window: '5m',
      op: '>=',
      threshold: 800,
      for: '1m',
      keep_firing_for: '2m',
      no_data: 'alerting',
      severity: 'critical',
      labels: { team: 'payments' },
      message: '{{rule}}: {{value}} ms',
      channels: ['3f1c8a2e-5b4d-4c6e-9f70-1a2b3c4d5e6f'],
      enabled: false,
      grouping: { group_wait: '0s', group_interval: '1m', repeat_interval: '1h' },
    };
    const { input, errors } = formToRule(ruleToForm(full));
    expect(errors).toEqual([]);
    expect(input).toEqual(full);
  });

  it('sends the status class only for its metric, the percentile only for its own', () => {
    const form = { ...NEW_RULE_FORM, name: 'x' };
    const { input } = formToRule(form);
    expect(input).not.toHaveProperty('percentile');
    expect(input).not.toHaveProperty('status_class');
    expect(formToRule({ ...form, metric: 'status_class_count', status_class: '4xx' }).input.status_class).toBe('4xx');
  });

  it('names the fields it cannot read with the server\'s names', () => {
    const { errors } = formToRule({ ...NEW_RULE_FORM, name: 'x', threshold: 'ten', metric: 'duration_percentile', percentile: '', labels: 'team', filters: { ...NEW_RULE_FORM.filters, attributes: '=x' } });
    expect(errors.map((e) => e.field)).toEqual(['threshold', 'percentile', 'labels', 'filters.attributes']);
    expect(messagesFor(errors, 'filters')).toContain('key=value');
    expect(messagesFor([{ field: 'labels.team name', message: 'bad name' }], 'labels')).toBe('bad name');
    expect(messagesFor(errors, 'window')).toBeUndefined();
  });

  it('a stored rule gives back its writable fields', () => {
    const view = { ...ruleInput.parse({ name: 'r', metric: 'requests', window: '1m', op: '>', threshold: 1 }), id: 'i', is_default: true, error: null, firing: 1, pending: 0, created_at: 'c', updated_at: 'u' } satisfies RuleView;
    expect(ruleInputOf(view)).toEqual(ruleInput.parse({ name: 'r', metric: 'requests', window: '1m', op: '>', threshold: 1 }));
  });
});

describe('the timing in words', () => {
  it('explains group-by, for, group wait, interval and repeat for this rule', () => {
    const lines = explainTiming({ ...NEW_RULE_FORM, group_by: ['section'], for: '1m', keep_firing_for: '30s', group_wait: '30s', group_interval: '5m', repeat_interval: '4h' });
    expect(lines).toEqual([
      'One alert per section; alerts with the same section are notified together.',
      'The condition must hold for 1 minute of event time before the alert fires; meanwhile it is pending.',
      'Once firing, it resolves only after the condition has been false for 30 seconds, so a brief dip does not resolve it.',
      'Group wait 30 seconds: when a group starts firing, Vigil waits this long for more alerts of the group, so a burst is one notification.',
      'Group interval 5 minutes: after that, a group whose alerts change (another fires, one resolves) is notified at most once per 5 minutes.',
      'Repeat interval 4 hours: while nothing changes and it still fires, the reminder comes every 4 hours.',
      'So the first notification leaves about 1 minute 30 seconds after the condition starts, plus the time logs take to arrive.',
    ]);
  });

  it('says when the notification is immediate, and skips durations that do not parse', () => {
    const lines = explainTiming({ ...NEW_RULE_FORM, for: '0s', group_wait: '0s', repeat_interval: 'soon' });
    expect(lines).toContain('Group wait 0: the first notification leaves as soon as an alert fires.');
    expect(lines.some((l) => l.startsWith('Repeat interval'))).toBe(false);
    expect(lines.at(-1)).toBe('So the first notification leaves about 0 seconds after the condition starts, plus the time logs take to arrive.');
  });
});

describe('the preview', () => {
  it('asks the server for the last N, or the custom instants', () => {
    expect(previewRange('6h')).toEqual({ from: 'now-6h' });
    expect(previewRange('custom', { from: '2026-03-01T00:00:00.000Z' })).toEqual({ from: '2026-03-01T00:00:00.000Z' });
  });

  it('draws every series on one scale with the threshold inside, breaks lines at gaps, and spans firings', () => {
    const g = previewGeometry(
      {
        threshold: 10,
        op: '>',
        from: '2026-03-01T00:00:00.000Z',
        to: '2026-03-01T00:00:04.000Z',
        step_seconds: 1,
        series: [
          {
            labels: { section: '/api' },
            points: [
              { t: '2026-03-01T00:00:00.000Z', value: 0 },
              { t: '2026-03-01T00:00:01.000Z', value: 5 },
              { t: '2026-03-01T00:00:02.000Z', value: null },
              { t: '2026-03-01T00:00:03.000Z', value: 20 },
              { t: '2026-03-01T00:00:04.000Z', value: 20 },
            ],
            firings: [{ fired_at: '2026-03-01T00:00:03.000Z', resolved_at: null }],
          },
        ],
      },
      424,
      124,
      12,
    );
    expect(g.yMin).toBe(0);
    expect(g.yMax).toBe(22);
    const [s] = g.series;
    expect(s?.label).toBe('section=/api');
    expect(s?.runs).toEqual(['12.0,112.0 112.0,89.3', '312.0,21.1 412.0,21.1']);
    expect(s?.spans).toEqual([{ x1: 312, x2: 412, firedAt: '2026-03-01T00:00:03.000Z', resolvedAt: null }]);
    expect(g.thresholdY).toBeCloseTo(112 - (10 / 22) * 100);
  });
});

describe('the rule list', () => {
  it('says the condition in one line', async () => {
    const { conditionText } = await import('./rules');
    expect(conditionText({ metric: 'requests_per_second', window: '2m', op: '>', threshold: 10, group_by: [] })).toBe('requests_per_second over 2m > 10');
    expect(conditionText({ metric: 'duration_percentile', percentile: 95, window: '5m', op: '>', threshold: 800, group_by: ['section', 'service'] })).toBe('p95 duration over 5m > 800, per section and service');
    expect(conditionText({ metric: 'status_class_count', status_class: '5xx', window: '1m', op: '>=', threshold: 3, group_by: [] })).toBe('5xx count over 1m >= 3');
  });
});
