import { describe, expect, it } from 'vitest';
import { buildGroupMessage, fingerprintOf, groupKeyOf, instanceLabels, type NotifiedInstance } from './messages.js';
import { durationTextMs as durationMs } from '../../contracts/alerting.js';

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);
const instance = (fingerprint: string, p: Partial<NotifiedInstance> = {}): NotifiedInstance => ({
  fingerprint,
  labels: { section: `/${fingerprint}`, rule: '5xx by section', source: 'log', severity: 'warning' },
  state: 'firing',
  summary: `5xx rate high on /${fingerprint}`,
  kind: '',
  value: 0.031,
  threshold: 0.02,
  since: T0,
  link: '/traffic',
  details: {},
  ...p,
});

describe('fingerprints and group keys', () => {
  it('a fingerprint depends on source, rule and labels, not on label order', () => {
    const a = fingerprintOf('log', 'r1', { section: '/api', service: 'web' });
    expect(fingerprintOf('log', 'r1', { service: 'web', section: '/api' })).toBe(a);
    expect(fingerprintOf('log', 'r1', { section: '/api' })).not.toBe(a);
    expect(fingerprintOf('log', 'r2', { section: '/api', service: 'web' })).not.toBe(a);
    expect(fingerprintOf('job', 'r1', { section: '/api', service: 'web' })).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
  });

  it('a rule without group-by is one group; group-by splits it by those labels only', () => {
    expect(groupKeyOf('log', 'r1', [], { section: '/a' })).toBe('log:r1');
    expect(groupKeyOf('log', 'r1', [], { section: '/b' })).toBe('log:r1');
    expect(groupKeyOf('log', 'r1', ['section'], { section: '/a', host: 'h1' })).toBe('log:r1{section="/a"}');
    expect(groupKeyOf('log', 'r1', ['section', 'host'], { section: '/a', host: 'h1' })).toBe(groupKeyOf('log', 'r1', ['host', 'section'], { host: 'h1', section: '/a' }));
  });

  it('a group key stays short enough for a btree entry whatever the label values, and still tells groups apart', () => {
    const address = (tail: string) => '東京都千代田区'.repeat(140) + tail; // ~1,000 characters, 3 bytes each
    const a = groupKeyOf('fraud', 'c1', ['recipient_address', 'sender_id'], { recipient_address: address('1'), sender_id: 's'.repeat(200) });
    const b = groupKeyOf('fraud', 'c1', ['recipient_address', 'sender_id'], { recipient_address: address('2'), sender_id: 's'.repeat(200) });
    expect(Buffer.byteLength(a)).toBeLessThan(1000);
    expect(a).not.toBe(b);
    expect(a.startsWith('fraud:c1{recipient_address="東京都')).toBe(true);
    expect(a).toMatch(/…#[0-9a-f]{32}$/);
    // Short keys are unchanged (groups stored before keep their key).
    expect(groupKeyOf('fraud', 'c1', ['sender_id'], { sender_id: 'X' })).toBe('fraud:c1{sender_id="X"}');
  });

  it('instance labels add rule, source and severity, which win over report labels of the same name', () => {
    expect(instanceLabels({ labels: { section: '/a', rule: 'x' }, displayLabels: { check: 'nightly' }, ruleName: 'high traffic', source: 'log', severity: 'critical' })).toEqual({
      section: '/a',
      check: 'nightly',
      rule: 'high traffic',
      source: 'log',
      severity: 'critical',
    });
  });
});

describe('group notification messages', () => {
  const base = { source: 'log' as const, ruleId: 'r1', ruleName: '5xx by section', groupKey: 'log:r1', baseUrl: 'https://vigil.example.com/' };

  it('a burst is one message titled as Alertmanager does, one line per instance with value vs threshold, since when and an absolute link', () => {
    const instances = new Map(['a', 'b', 'c'].map((f) => [f, instance(f)]));
    const m = buildGroupMessage({ ...base, instances, notification: { kind: 'first', firing: ['a', 'b', 'c'], resolved: [] } });
    expect(m.type).toBe('alert.firing');
    expect(m.title).toBe('[FIRING:3] 5xx by section');
    expect(m.message.split('\n')).toEqual([
      'Firing (3):',
      '- 5xx rate high on /a {section="/a"}: value 0.031 (threshold 0.02) firing since 2026-03-01T12:00:00.000Z https://vigil.example.com/traffic',
      '- 5xx rate high on /b {section="/b"}: value 0.031 (threshold 0.02) firing since 2026-03-01T12:00:00.000Z https://vigil.example.com/traffic',
      '- 5xx rate high on /c {section="/c"}: value 0.031 (threshold 0.02) firing since 2026-03-01T12:00:00.000Z https://vigil.example.com/traffic',
    ]);
    expect(m.alert).toMatchObject({ status: 'firing', group_key: 'log:r1', subject_id: 'r1', kind: 'firing', link: null });
    expect(m.alert.instances).toHaveLength(3);
    expect(m.alert.instances![0]).toMatchObject({ fingerprint: 'a', link: 'https://vigil.example.com/traffic', since: '2026-03-01T12:00:00.000Z' });
    expect(m.alert.details).toMatchObject({ state: 'firing', firing: 3, resolved: 0 });
  });

  it('a single instance is titled by its summary and keeps its own facts at the top of details', () => {
    const one = instance('a', { summary: 'Job "nightly" missed its run', kind: 'missed', value: null, threshold: null, link: '/checks/c1', details: { check_id: 'c1', reason: 'missed run: no ping since …' } });
    const m = buildGroupMessage({ ...base, source: 'job', baseUrl: '', instances: new Map([['a', one]]), notification: { kind: 'first', firing: ['a'], resolved: [] } });
    expect(m).toMatchObject({ type: 'alert.firing', kind: 'missed', title: 'Job "nightly" missed its run' });
    expect(m.message.startsWith('missed run: no ping since …\n\nFiring (1):')).toBe(true);
    expect(m.alert.details).toMatchObject({ check_id: 'c1', state: 'firing' });
    expect(m.alert.link).toBe('/checks/c1'); // no public URL configured: a path
  });

  it('resolves and repeats: alert.resolved when nothing fires any more, alert.reminder for a repeat', () => {
    const instances = new Map([
      ['a', instance('a', { state: 'resolved', since: T0 + 60_000 })],
      ['b', instance('b')],
    ]);
    const resolved = buildGroupMessage({ ...base, instances, notification: { kind: 'update', firing: [], resolved: ['a'] } });
    expect(resolved).toMatchObject({ type: 'alert.resolved', kind: 'resolved', title: '5xx rate high on /a' });
    expect(resolved.message).toContain('resolved at 2026-03-01T12:01:00.000Z');
    const mixed = buildGroupMessage({ ...base, instances, notification: { kind: 'update', firing: ['b'], resolved: ['a'] } });
    expect(mixed).toMatchObject({ type: 'alert.firing', title: '[FIRING:1, RESOLVED:1] 5xx by section' });
    const repeat = buildGroupMessage({ ...base, instances, notification: { kind: 'repeat', firing: ['b'], resolved: [] } });
    expect(repeat).toMatchObject({ type: 'alert.reminder', kind: 'reminder', title: 'Still firing: 5xx rate high on /b' });
  });
});

describe('durations', () => {
  it('reads Prometheus-style durations', () => {
    expect(durationMs('30s')).toBe(30_000);
    expect(durationMs('1h30m')).toBe(5_400_000);
    expect(durationMs('250ms')).toBe(250);
    expect(durationMs('2d')).toBe(172_800_000);
    expect(durationMs('2 hours')).toBeNull();
    expect(durationMs('')).toBeNull();
  });
});
