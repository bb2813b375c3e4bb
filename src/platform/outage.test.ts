import { describe, expect, it } from 'vitest';
import { OutageLog, isUnavailableError } from './outage.js';

/** An error shaped like node-postgres' DatabaseError (a SQLSTATE in `code`). */
const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code, severity: 'FATAL' });
const sysError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, syscall: 'connect' });
const named = (name: string, message = name) => Object.assign(new Error(message), { name });

describe('isUnavailableError', () => {
  it.each([
    ['admin shutdown (a restart)', pgError('57P01', 'terminating connection due to administrator command')],
    ['crash shutdown', pgError('57P02')],
    ['cannot connect now (starting up)', pgError('57P03', 'the database system is starting up')],
    ['connection exception class 08', pgError('08006')],
    ['too many connections', pgError('53300')],
    ['read-only transaction (failover)', pgError('25006')],
    ['connection refused', sysError('ECONNREFUSED')],
    ['connection reset', sysError('ECONNRESET')],
    ['broken pipe', sysError('EPIPE')],
    ['DNS not answering', sysError('EAI_AGAIN')],
    ['pg: connection terminated unexpectedly', new Error('Connection terminated unexpectedly')],
    ['pg: connection timeout', new Error('Connection terminated due to connection timeout')],
    ['pg-pool: connect timeout', new Error('timeout exceeded when trying to connect')],
    ['pg: dead client reused', new Error('Client has encountered a connection error and is not queryable')],
    ['NATS timeout', named('TimeoutError', 'timeout')],
    ['NATS connection closed', named('ClosedConnectionError', 'closed connection')],
    ['wrapped in a cause', new Error('batch failed', { cause: pgError('57P01') })],
    ['inside an AggregateError', Object.assign(new AggregateError([sysError('ECONNREFUSED')], 'all failed'), {})],
  ])('%s: yes', (_name, error) => {
    expect(isUnavailableError(error)).toBe(true);
  });

  it.each([
    ['unique violation', pgError('23505', 'duplicate key value violates unique constraint')],
    ['syntax error', pgError('42601')],
    ['serialization failure (retry, but not an outage)', pgError('40001')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a string', 'ECONNREFUSED'],
    ['nothing', undefined],
    ['a message that merely mentions a connection', new Error('connection string is invalid')],
  ])('%s: no', (_name, error) => {
    expect(isUnavailableError(error)).toBe(false);
  });

  it('stops at a cycle of causes', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isUnavailableError(a)).toBe(false);
  });
});

describe('OutageLog', () => {
  const recorder = () => {
    const lines: { level: string; object: object; message: string }[] = [];
    return {
      lines,
      logger: {
        warn: (object: object, message: string) => lines.push({ level: 'warn', object, message }),
        info: (object: object, message: string) => lines.push({ level: 'info', object, message }),
      },
    };
  };

  it('logs an outage once when it starts and once when it ends, however many failures come between', () => {
    const { lines, logger } = recorder();
    let now = 1000;
    const outage = new OutageLog(logger, 'database', () => now);
    for (let i = 0; i < 100; i++) expect(outage.failed(pgError('57P01'))).toBe(true);
    expect(outage.down).toBe(true);
    now = 4500;
    outage.reachable();
    outage.reachable();
    expect(outage.down).toBe(false);
    expect(lines.map((l) => `${l.level} ${l.message}`)).toEqual([
      'warn database unavailable: requests that need it are answered 503 with Retry-After and background work retries until it is back',
      'info database reachable again after 3.5 s',
    ]);
    expect(lines[1]!.object).toEqual({ downMs: 3500 });
  });

  it('ignores failures that are not outages, and a second outage is logged again', () => {
    const { lines, logger } = recorder();
    const outage = new OutageLog(logger, 'NATS');
    expect(outage.failed(pgError('23505'))).toBe(false);
    expect(lines).toEqual([]);
    outage.began();
    outage.reachable();
    outage.began();
    expect(lines.map((l) => l.level)).toEqual(['warn', 'info', 'warn']);
  });
});
