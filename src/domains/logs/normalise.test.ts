import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NATIVE_ALIASES,
  buildEvent,
  daysInMonth,
  extractFields,
  levelFromSeverityNumber,
  nanosStringToMs,
  normaliseLevel,
  parseTimestamp,
  pathOf,
  sectionOf,
} from './normalise.js';

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);

describe('sectionOf', () => {
  it.each([
    ['/api/user', '/api'],
    ['/api/user/42', '/api'],
    ['/report', '/report'],
    ['/', '/'],
    ['', '/'],
    ['/api/user?id=1', '/api'],
    ['/report?x=/y/z', '/report'],
    ['/report#top', '/report'],
    ['/api/', '/api'],
    ['//double', '/'],
    ['api/user', '/api'],
    ['http://example.com/pages/create', '/pages'],
    ['https://example.com', '/'],
    ['https://example.com?q=1', '/'],
  ])('%j → %j', (path, section) => {
    expect(sectionOf(path)).toBe(section);
  });

  it('is the first segment of any path, and never throws', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const section = sectionOf(s);
        expect(section.startsWith('/')).toBe(true);
        expect(section.indexOf('/', 1)).toBe(-1);
        expect(section).not.toMatch(/[?#]/);
        expect(pathOf(s).startsWith(section)).toBe(true);
      }),
    );
  });
});

describe('parseTimestamp', () => {
  it.each<[unknown, number | null]>([
    ['2024-05-01T12:00:00Z', NOW],
    ['2024-05-01T12:00:00.123456789Z', NOW + 123],
    ['2024-05-01T12:00:00.5Z', NOW + 500],
    ['2024-05-01T12:00:00.12Z', NOW + 120],
    ['2024-05-01t12:00:00z', NOW],
    [' 2024-05-01T12:00:00Z ', NOW],
    ['2024-05-01T12:00:00.Z', null],
    ['2024-05-01T12:00:60Z', NOW + 60_000], // a leap second reads as the next second
    ['2024-05-01T14:00:60+02:00', NOW + 60_000],
    ['2024-05-01T12:00:00.1x3Z', null],
    [new Date(NOW), NOW],
    [new Date(Number.NaN), null],
    ['2024-05-01T14:00:00+02:00', NOW],
    ['2024-05-01T14:00:00+0200', NOW],
    ['2024-05-01T12:00:00', NOW], // zone-less is UTC, whatever the machine's zone
    ['2024-05-01 12:00:00.5', NOW + 500], // Fluent Bit java_sql_timestamp
    [1714564800, NOW], // epoch seconds
    [1714564800.25, NOW + 250],
    ['1714564800', NOW],
    [1714564800000, NOW], // ms
    [1714564800000000, NOW], // µs
    [1714564800000000000, NOW], // ns
    ['not a time', null],
    ['2024-13-01T00:00:00Z', null],
    ['2024-02-31T00:00:00Z', null], // Date.UTC / Date.parse roll this over to 2024-03-02
    ['2024-02-30T00:00:00.000Z', null],
    ['2023-02-29T00:00:00Z', null],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2024-04-31T10:00:00+02:00', null],
    ['2024-06-31 12:00:00', null],
    ['2024-09-31', null],
    ['1900-02-29T00:00:00Z', null],
    ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
    ['2024-00-10T00:00:00Z', null],
    ['2024-05-00T00:00:00Z', null],
    ['0001-01-01T00:00:00Z', -62_135_596_800_000], // Date.UTC alone reads year 1 as 1901
    ['0099-12-31T23:59:59.999Z', Date.parse('0099-12-31T23:59:59.999Z')],
    [' 2024-05-01T12:00:60Z', NOW + 60_000], // the leap-second rule holds off the fast path too
    ['2024-05-01T25:00:00Z', null],
    [Number.NaN, null],
    [Infinity, null],
    [true, null],
    [{}, null],
    [1e300, null],
  ])('%j → %j', (input, expected) => {
    expect(parseTimestamp(input)).toBe(expected);
  });

  it('reads nanosecond strings without losing precision to floats', () => {
    expect(nanosStringToMs('1714564800123456789')).toBe(NOW + 123);
    expect(nanosStringToMs('999999')).toBe(0);
    expect(nanosStringToMs('12x')).toBeNull();
  });

  it('reads every canonical UTC instant exactly (fast path agrees with Date)', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
        expect(parseTimestamp(d.toISOString())).toBe(d.getTime());
        expect(parseTimestamp(d.toISOString().replace('.', ',').replace(/,\d+Z$/, 'Z'))).toBe(Math.floor(d.getTime() / 1000) * 1000);
      }),
    );
  });

  it('reads a date only when its day exists in its month, in every written form (never rolled over)', () => {
    const forms = [
      (d: string) => `${d}T12:34:56Z`,
      (d: string) => `${d}T12:34:56.789Z`,
      (d: string) => `${d}t12:34:56z`,
      (d: string) => `${d} 12:34:56`,
      (d: string) => `${d}T12:34:56+00:00`,
      (d: string) => `${d}T12:34`,
      (d: string) => d,
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        fc.constantFrom(...forms.keys()),
        (year, month, day, form) => {
          const date = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
          const ms = parseTimestamp(forms[form]!(date));
          if (day > daysInMonth(year, month)) {
            expect(ms).toBeNull();
          } else {
            expect(ms).not.toBeNull();
            // Whatever the time of day, the instant read lies on the date written (all forms are UTC).
            expect(new Date(ms!).toISOString().slice(0, 10)).toBe(date);
          }
        },
      ),
    );
  });

  it('agrees with Date on the length of every month', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1, max: 12 }), (year, month) => {
        const last = new Date(0);
        last.setUTCFullYear(year, month, 0); // day 0 of the next month: the last day of this one
        expect(daysInMonth(year, month)).toBe(last.getUTCDate());
      }),
    );
  });

  it('never throws on any input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.double(), fc.integer(), fc.anything()), (v) => {
        const ms = parseTimestamp(v);
        expect(ms === null || Number.isFinite(ms)).toBe(true);
      }),
    );
  });

  it(
    'refuses long runs of digits that end in a non-digit in linear time (the number pattern once backtracked quadratically)',
    () => {
      const digits = '1'.repeat(1_000_000);
      expect(parseTimestamp(`${digits}x`)).toBeNull();
      expect(parseTimestamp(`${digits}.${digits}x`)).toBeNull();
      expect(parseTimestamp(`1e${digits}x`)).toBeNull();
    },
    5_000, // a guard only: a minute-long regex match cannot be interrupted, the assertions are what count
  );
});

describe('levels', () => {
  it.each<[unknown, string | null]>([
    ['INFO', 'info'],
    ['Warning', 'warn'],
    ['err', 'error'],
    ['CRITICAL', 'fatal'],
    ['notice', 'info'],
    [30, 'info'], // pino
    [50, 'error'],
    [3, 'error'], // syslog
    ['4', 'warn'],
    ['custom', 'custom'],
    ['', null],
    [null, null],
  ])('%j → %j', (raw, level) => {
    expect(normaliseLevel(raw)).toBe(level);
  });

  it('maps OTel severity numbers by steps of four', () => {
    expect([1, 4, 5, 9, 12, 13, 17, 21, 24].map(levelFromSeverityNumber)).toEqual(['trace', 'trace', 'debug', 'info', 'info', 'warn', 'error', 'fatal', 'fatal']);
    expect(levelFromSeverityNumber(0)).toBeNull();
    expect(levelFromSeverityNumber(25)).toBeNull();
  });
});

describe('extractFields and buildEvent', () => {
  it('takes nested and flat spellings and leaves the rest as attributes, without changing the input', () => {
    const input = { time: '2024-05-01T12:00:00Z', msg: 'hi', http: { method: 'post', path: '/a/b?q=1', status: '201', extra: 1 }, user: 'ann' };
    const copy = structuredClone(input);
    const built = buildEvent(extractFields(input, NATIVE_ALIASES), NOW + 5000);
    expect(input).toEqual(copy);
    expect(built).toEqual({
      ok: true,
      event: {
        timestamp: NOW,
        receivedAt: NOW + 5000,
        service: null,
        host: null,
        source: null,
        level: null,
        message: 'hi',
        method: 'POST',
        path: '/a/b',
        section: '/a',
        status: 201,
        bytes: null,
        durationMs: null,
        remoteAddr: null,
        userAgent: null,
        attributes: { http: { extra: 1 }, user: 'ann', 'url.query': 'q=1' },
      },
    });
  });

  it('keeps a value that is not valid for its HTTP field as an attribute instead of rejecting', () => {
    const built = buildEvent(extractFields({ message: 'x', status: 'error', code: 'E42', size: 'big' }, NATIVE_ALIASES), NOW);
    expect(built.ok && built.event.status).toBeNull();
    expect(built.ok && built.event.attributes).toEqual({ status: 'error', code: 'E42', size: 'big' });
  });

  it('uses receivedAt when there is no timestamp, and the defaults for missing identity fields', () => {
    const built = buildEvent({ message: 'x' }, NOW, { service: 'web', host: 'h' });
    expect(built.ok && [built.event.timestamp, built.event.service, built.event.host]).toEqual([NOW, 'web', 'h']);
  });

  it('reads numeric strings exactly as JavaScript decimal literals (sign, fraction, exponent); beyond the double range is no number', () => {
    const numeric = fc.array(fc.constantFrom(...'0123456789.eE+-'), { minLength: 1, maxLength: 12 }).map((c) => c.join(''));
    fc.assert(
      fc.property(numeric, (text) => {
        const built = buildEvent({ message: 'x', durationMs: text }, NOW);
        const n = Number(text);
        expect(built.ok && built.event.durationMs).toBe(Number.isNaN(n) || n < 0 || !Number.isFinite(n) ? null : n);
      }),
      { numRuns: 2000 },
    );
  });

  it(
    'keeps the query up to the first # as url.query, in linear time whatever the path',
    () => {
      const query = (path: string) => {
        const built = buildEvent({ method: 'GET', path }, NOW);
        return built.ok ? built.event.attributes['url.query'] : undefined;
      };
      expect(query('/a?x=1&y=2#frag')).toBe('x=1&y=2');
      expect(query('/a?x=1#f#g')).toBe('x=1');
      expect(query('/a?x=1#f\ng')).toBe('x=1');
      expect(query('/a?x=1')).toBe('x=1');
      // A 64 kB path of `#`s then a line break: `/#.*$/` retried from each `#` (seconds of CPU).
      expect(query(`/?${'#'.repeat(65_000)}\nx`)).toBe('');
    },
    5_000,
  );

  it('synthesises a message from HTTP fields', () => {
    const built = buildEvent({ method: 'GET', path: '/x', status: 200 }, NOW);
    expect(built.ok && built.event.message).toBe('GET /x 200');
  });

  it.each<[Record<string, unknown>, RegExp]>([
    [{ message: 'x', timestamp: 'soon' }, /^timestamp: cannot read "soon"/],
    [{ attrs: 1 }, /neither a message nor HTTP fields/],
    [{ message: 'x', service: 'a'.repeat(300) }, /^service: longer than 256/],
  ])('rejects %j with a reason', (fields, reason) => {
    const built = buildEvent(extractFields(fields, NATIVE_ALIASES), NOW);
    expect(built.ok).toBe(false);
    expect(!built.ok && built.reason).toMatch(reason);
  });
});
