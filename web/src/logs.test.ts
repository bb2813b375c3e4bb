import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RANGE,
  filtersFromQuery,
  logsHref,
  logsSearch,
  maxId,
  mergeNewest,
  narrowed,
  NO_FIELD_FILTERS,
  rangeEndsNow,
  searchParamsOf,
  searchQuery,
  volumeStepOf,
  type LogFilters,
  type StoredEvent,
} from './logs';

const DEFAULTS: LogFilters = { range: DEFAULT_RANGE, ...NO_FIELD_FILTERS, live: true };
const NOW = Date.parse('2026-03-01T12:00:00.000Z');
/** Only the id and the event time matter to the row helpers. */
const event = (id: string, timestamp: string) => ({ id, timestamp }) as StoredEvent;

describe('search query building', () => {
  it('puts parameters in a fixed order and leaves empty ones out', () => {
    expect(searchQuery({ limit: 100, service: 'api', from: '2026-03-01T11:00:00.000Z', q: '', afterId: '42', cursor: 'abc' })).toBe(
      'from=2026-03-01T11%3A00%3A00.000Z&service=api&limit=100&cursor=abc&after_id=42',
    );
    expect(searchQuery({})).toBe('');
  });

  it('resolves a preset range against now, and keeps a custom range as given', () => {
    expect(searchParamsOf({ ...DEFAULTS, range: '15m', status: '500' }, NOW)).toEqual({ from: '2026-03-01T11:45:00.000Z', q: '', service: '', status: '500', section: '' });
    const custom = { ...DEFAULTS, range: 'custom', from: '2026-02-01T00:00:00.000Z' } as const;
    expect(searchParamsOf(custom, NOW)).toEqual({ from: '2026-02-01T00:00:00.000Z', q: '', service: '', status: '', section: '' });
  });

  it('gives the volume bars of a preset, and none (the server picks) for a custom range', () => {
    expect(volumeStepOf({ ...DEFAULTS, range: '24h' })).toBe(1800);
    expect(volumeStepOf({ ...DEFAULTS, range: 'custom' })).toBeUndefined();
  });
});

describe('filters in the URL', () => {
  it('reads the default view from an empty query', () => {
    expect(filtersFromQuery(new URLSearchParams())).toEqual(DEFAULTS);
  });

  it('reads a custom range from its instants, whatever range says, and live=off', () => {
    expect(filtersFromQuery(new URLSearchParams('range=24h&from=2026-03-01T10:00:00Z&service=api&live=off'))).toEqual({
      ...DEFAULTS,
      range: 'custom',
      from: '2026-03-01T10:00:00.000Z',
      service: 'api',
      live: false,
    });
  });

  it('falls back to the default range for an unknown preset or a date that is none', () => {
    expect(filtersFromQuery(new URLSearchParams('range=2w&from=yesterday')).range).toBe(DEFAULT_RANGE);
  });

  it('writes the page address in a fixed order, trimmed, empty filters left out', () => {
    expect(logsHref(DEFAULTS)).toBe('/logs?range=1h');
    expect(logsHref({ ...DEFAULTS, range: '7d', q: ' timeout ', status: '', section: '/api', live: false })).toBe('/logs?range=7d&q=timeout&section=%2Fapi&live=off');
    expect(logsSearch({ ...DEFAULTS, range: 'custom', from: '2026-03-01T10:00:00.000Z' })).toEqual({ from: '2026-03-01T10:00:00.000Z' });
  });

  it('reads back what it writes', () => {
    const filters: LogFilters = { ...DEFAULTS, range: 'custom', from: '2026-03-01T10:00:00.000Z', to: '2026-03-01T11:00:00.000Z', service: 'web', live: false };
    expect(filtersFromQuery(new URLSearchParams(logsHref(filters).split('?')[1]))).toEqual(filters);
  });

  it('tails only a range that ends now, and knows a narrowed search', () => {
    expect(rangeEndsNow(DEFAULTS)).toBe(true);
    expect(rangeEndsNow({ ...DEFAULTS, range: 'custom', from: '2026-03-01T10:00:00.000Z' })).toBe(true);
    expect(rangeEndsNow({ ...DEFAULTS, range: 'custom', to: '2026-03-01T10:00:00.000Z' })).toBe(false);
    expect(narrowed(DEFAULTS)).toBe(false);
    expect(narrowed({ ...DEFAULTS, q: 'x' })).toBe(true);
  });
});

describe('rows of the tail', () => {
  it('compares ids as integers, beyond the exact range of a double', () => {
    expect(maxId([event('9', 'x'), event('10', 'x')])).toBe('10');
    expect(maxId([event('9007199254740993', 'x'), event('9007199254740992', 'x')])).toBe('9007199254740993');
    expect(maxId([], '5')).toBe('5');
    expect(maxId([])).toBeUndefined();
  });

  it('merges new rows newest first without duplicates, and cuts to the cap', () => {
    const rows = [event('3', '2026-03-01T11:59:00Z'), event('1', '2026-03-01T11:58:00Z')];
    const incoming = [event('3', '2026-03-01T11:59:00Z'), event('4', '2026-03-01T11:59:30Z'), event('2', '2026-03-01T11:58:00Z')];
    expect(mergeNewest(rows, incoming, 10)).toEqual({ rows: [incoming[1], rows[0], incoming[2], rows[1]], trimmed: false });
    const cut = mergeNewest(rows, incoming, 2);
    expect(cut.rows.map((r) => r.id)).toEqual(['4', '3']);
    expect(cut.trimmed).toBe(true);
  });

  it('drops rows that a sliding range left behind', () => {
    const rows = [event('2', '2026-03-01T11:30:00Z'), event('1', '2026-03-01T10:30:00Z')];
    expect(mergeNewest(rows, [], 10, NOW - 3_600_000).rows.map((r) => r.id)).toEqual(['2']);
  });
});
