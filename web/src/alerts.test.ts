import { describe, expect, it } from 'vitest';
import { alertEventFingerprint, alertListPath, groupAlerts, ownLabels, matcherText, silenceMatchersFor, sortSilences, splitMatchers, valueVsThreshold, type AlertView, type SilenceView } from './alerts';

function alert(fields: Partial<AlertView>): AlertView {
  return {
    fingerprint: 'f',
    source: 'log',
    rule_id: 'r1',
    rule_name: 'high traffic',
    labels: {},
    state: 'firing',
    severity: 'warning',
    summary: '',
    value: 12,
    threshold: 10,
    since: '2026-03-01T10:00:00.000Z',
    firing_since: '2026-03-01T10:00:00.000Z',
    resolved_at: null,
    acknowledged_at: null,
    acknowledged_by: null,
    silenced_by: [],
    group_key: 'g',
    updated_at: '2026-03-01T10:00:00.000Z',
    ...fields,
  };
}

describe('the alert list', () => {
  it('asks only for the filters that are set', () => {
    expect(alertListPath({})).toBe('/api/v1/alerts');
    expect(alertListPath({ state: 'firing', source: 'log' })).toBe('/api/v1/alerts?state=firing&source=log');
  });

  it('groups by rule then by notification group, worst first, and counts firing and pending', () => {
    const list = [
      alert({ fingerprint: 'a', rule_id: 'r1', state: 'resolved', group_key: 'g1', labels: { section: '/a', service: 'shop' } }),
      alert({ fingerprint: 'b', rule_id: 'r2', rule_name: 'errors', state: 'pending', group_key: 'g2' }),
      alert({ fingerprint: 'c', rule_id: 'r1', state: 'firing', group_key: 'g1', labels: { section: '/b', service: 'shop' } }),
      alert({ fingerprint: 'd', rule_id: 'r1', state: 'firing', severity: 'critical', group_key: 'g3' }),
      alert({ fingerprint: 'e', source: 'job', rule_id: 'r1', rule_name: 'nightly', state: 'firing', group_key: 'j' }),
    ];
    const rules = groupAlerts(list);
    expect(rules.map((r) => [r.key, r.firing, r.pending])).toEqual([
      ['log:r1', 2, 0],
      ['job:r1', 1, 0],
      ['log:r2', 0, 1],
    ]);
    const r1 = rules[0]!;
    expect(r1.groups.map((g) => [g.key, g.alerts.map((a) => a.fingerprint)])).toEqual([
      ['g3', ['d']],
      ['g1', ['c', 'a']],
    ]);
    expect(r1.groups[1]?.shared).toEqual({ service: 'shop' });
  });

  it('shows the labels the page does not show elsewhere, and sorts an unknown state last', () => {
    expect(ownLabels(alert({ labels: { rule: 'high traffic', source: 'log', severity: 'warning', section: '/api' } }))).toEqual({ section: '/api' });
    expect(ownLabels(alert({ labels: { rule: 'another' } }))).toEqual({ rule: 'another' });
    const odd = alert({ fingerprint: 'x', state: 'inactive' as AlertView['state'] });
    expect(groupAlerts([odd, alert({ fingerprint: 'y', state: 'resolved' })])[0]?.groups[0]?.alerts.map((a) => a.fingerprint)).toEqual(['y', 'x']);
  });

  it('says the value against the threshold, or the value alone', () => {
    expect(valueVsThreshold({ value: 12.34567, threshold: 10 })).toBe('12.346 (threshold 10)');
    expect(valueVsThreshold({ value: null, threshold: 10 })).toBe('no data (threshold 10)');
    expect(valueVsThreshold({ value: null, threshold: null })).toBe('—');
  });

  it('reads the live event an instance change sends', () => {
    expect(alertEventFingerprint({ fingerprint: 'abc', state: 'firing' })).toBe('abc');
    expect(alertEventFingerprint({ state: 'firing' })).toBeUndefined();
    expect(alertEventFingerprint('nope')).toBeUndefined();
  });
});

describe('silence matchers', () => {
  it('quotes and escapes as amtool does', () => {
    expect(matcherText({ name: 'msg', op: '=', value: 'say "hi" \\o/' })).toBe('msg="say \\"hi\\" \\\\o/"');
  });

  it('builds the matchers of one instance from its labels, adding the rule when the labels lack it', () => {
    expect(silenceMatchersFor({ rule_name: 'high traffic', labels: { service: 'shop', section: '/api' } })).toEqual(['rule="high traffic"', 'section="/api"', 'service="shop"']);
    expect(silenceMatchersFor({ rule_name: 'x', labels: { rule: 'high traffic' } })).toEqual(['rule="high traffic"']);
  });

  it('splits typed matchers on lines and commas outside quotes, and reads a Prometheus label set', () => {
    expect(splitMatchers('rule="high traffic"\nsection=~"/api*"')).toEqual(['rule="high traffic"', 'section=~"/api*"']);
    expect(splitMatchers('{rule="a, b", env!=prod}')).toEqual(['rule="a, b"', 'env!=prod']);
    expect(splitMatchers('msg="x \\" , y"')).toEqual(['msg="x \\" , y"']);
    expect(splitMatchers('  \n ,')).toEqual([]);
  });

  it('lists active silences first (ending soonest), then pending, then expired (newest)', () => {
    const s = (id: string, state: SilenceView['state'], starts: string, ends: string): SilenceView => ({
      id,
      state,
      matchers: [],
      starts_at: `2026-03-01T${starts}:00.000Z`,
      ends_at: `2026-03-01T${ends}:00.000Z`,
      comment: '',
      created_by: null,
      created_at: '2026-03-01T00:00:00.000Z',
    });
    const list = [s('old', 'expired', '01:00', '02:00'), s('late', 'active', '09:00', '12:00'), s('next', 'pending', '13:00', '14:00'), s('soon', 'active', '09:00', '11:00'), s('older', 'expired', '00:00', '01:00')];
    expect(sortSilences(list).map((x) => x.id)).toEqual(['soon', 'late', 'next', 'old', 'older']);
  });
});

describe('load errors', () => {
  it('says plainly that a missing route is missing', async () => {
    const { ApiError } = await import('./api');
    const { loadErrorMessage } = await import('./alerts');
    expect(loadErrorMessage(undefined, 'Alerts')).toBeUndefined();
    expect(loadErrorMessage(new ApiError(404, 'not_found', 'Route GET:/api/v1/alerts not found'), 'Alerts')).toMatch(/^Alerts are not available from this server \(HTTP 404\)/);
    expect(loadErrorMessage(new ApiError(500, 'internal', 'boom'), 'Alerts')).toBe('boom');
  });
});
