import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadSetting, retiredSettingsIn } from './config.js';

describe('configuration', () => {
  it('has working defaults', () => {
    expect(loadConfig({}, {})).toMatchObject({ PORT: 8080, VIGIL_DATA_DIR: './.vigil', VIGIL_PING_BODY_LIMIT: 100_000, VIGIL_ALLOW_PRIVATE_WEBHOOKS: false });
  });
  it('lets flags override the environment', () => {
    expect(loadConfig({ PORT: '9000' }, { PORT: '7000' }).PORT).toBe(9000);
  });
  it('names every invalid variable in one error', () => {
    try {
      loadConfig({}, { PORT: 'eighty', DATABASE_URL: 'not a url', VIGIL_ALLOW_PRIVATE_WEBHOOKS: 'maybe' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain('PORT');
      expect(message).toContain('DATABASE_URL');
      expect(message).toContain('VIGIL_ALLOW_PRIVATE_WEBHOOKS');
    }
  });
  it('decodes log bodies on one thread fewer than the cores by default, at least one; 0 decodes inline', () => {
    expect(loadConfig({}, {}).VIGIL_DECODE_THREADS).toBe(Math.max(1, availableParallelism() - 1));
    expect(loadConfig({}, { VIGIL_DECODE_THREADS: '0' }).VIGIL_DECODE_THREADS).toBe(0);
    expect(() => loadConfig({}, { VIGIL_DECODE_THREADS: '-1' })).toThrow(/VIGIL_DECODE_THREADS/);
  });
  it('names a retired setting and what replaced it, rather than ignoring it silently', () => {
    expect(retiredSettingsIn({ VIGIL_NOTIFY_MAX_ATTEMPTS: '10' })).toEqual([expect.stringMatching(/VIGIL_NOTIFY_MAX_ATTEMPTS is no longer used.*VIGIL_NOTIFY_GIVE_UP_AFTER_MS/)]);
    expect(retiredSettingsIn({})).toEqual([]);
  });
  it('reads one setting as loadConfig does (the benches): defaulted, coerced, a bad value named, the others not required valid', () => {
    expect(loadSetting('VIGIL_FRAUD_LANES', {})).toBe(loadConfig({}, {}).VIGIL_FRAUD_LANES);
    expect(loadSetting('VIGIL_FRAUD_LANES', { VIGIL_FRAUD_LANES: '' })).toBe(loadConfig({}, {}).VIGIL_FRAUD_LANES);
    expect(loadSetting('VIGIL_FRAUD_LANES', { VIGIL_FRAUD_LANES: '3', PORT: 'eighty' })).toBe(3);
    for (const bad of ['two', '0', '1.5', '17']) {
      expect(() => loadSetting('VIGIL_FRAUD_LANES', { VIGIL_FRAUD_LANES: bad }), bad).toThrow(ConfigError);
      expect(() => loadSetting('VIGIL_FRAUD_LANES', { VIGIL_FRAUD_LANES: bad }), bad).toThrow(/VIGIL_FRAUD_LANES/);
    }
  });
});
