/**
 * Deterministic sample rows for the archive's tests and benchmark: every nullable field null in some
 * rows, non-ASCII text, large integers, nested attributes.
 */
import type { ArchiveRow } from './schema.js';

/** A varied row: nulls in every nullable field for some rows, non-ASCII text, nested attributes. */
export function sampleRow(i: number, dayStartMs: number): ArchiveRow {
  const sparse = i % 7 === 3;
  const texts = ['GET /api/users 200', 'Zürich → 東京 ✓ «ok»', 'emoji 🚚📦 and combining é', 'line\nbreak\ttab "quotes"', ''];
  return {
    timestamp: dayStartMs + ((i * 7919) % 86_400_000),
    receivedAt: dayStartMs + ((i * 7919) % 86_400_000) + 250,
    service: sparse ? null : `svc-${i % 3}`,
    host: sparse ? null : `host-${i % 5}.example`,
    source: sparse ? null : 'nginx',
    level: sparse ? null : ['info', 'warn', 'error'][i % 3]!,
    message: texts[i % texts.length]!,
    method: sparse ? null : 'GET',
    path: sparse ? null : `/api/u/${i}`,
    section: sparse ? null : '/api',
    status: sparse ? null : [200, 404, 503][i % 3]!,
    bytes: sparse ? null : i % 11 === 0 ? 9_007_199_254_740_991 : i * 13,
    durationMs: sparse ? null : i / 8,
    remoteAddr: sparse ? null : `10.0.${i % 256}.1`,
    userAgent: sparse ? null : 'curl/8.5 (ünïcode)',
    attributes: sparse ? {} : { 'url.query': `a=${i}`, nested: { n: i, list: [1, 'two', null], ok: true }, 'κλειδί': 'τιμή' },
    id: sparse ? null : i % 13 === 0 ? '9223372036854775807' : String(1_000_000 + i),
    tooLate: i % 5 === 4,
  };
}
