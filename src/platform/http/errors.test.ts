import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { BusDeliveryError, BusFullError } from '../bus/index.js';
import { DomainError } from '../errors.js';
import type { App } from './context.js';
import { answerError, registerErrorHandler } from './errors.js';

describe('the error envelope', () => {
  it('tells a client when to come back from a temporary condition (Retry-After), whichever route raised it', async () => {
    const app = Fastify();
    registerErrorHandler(app as unknown as App);
    app.get('/full', async () => {
      throw new BusFullError('queue full', 3);
    });
    app.get('/busy', async () => {
      throw new DomainError('overloaded', 'busy', { retryAfterSeconds: 1 });
    });
    app.get('/missing', async () => {
      throw new DomainError('not_found', 'check not found');
    });
    const full = await app.inject('/full');
    expect(full.statusCode).toBe(503);
    expect(full.headers['retry-after']).toBe('3');
    expect(full.json()).toEqual({ error: { code: 'overloaded', message: 'queue full', details: { retryAfterSeconds: 3 } } });
    expect((await app.inject('/busy')).headers['retry-after']).toBe('1');
    const missing = await app.inject('/missing');
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['retry-after']).toBeUndefined();
    await app.close();
  });

  it("says what to send when a JSON endpoint gets another Content-Type (curl -d's form type), not fastify's bare 'Unsupported Media Type'", async () => {
    const app = Fastify();
    registerErrorHandler(app as unknown as App);
    app.post('/json', async () => ({ ok: true }));
    const form = await app.inject({ method: 'POST', url: '/json', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '{"name":"x"}' });
    expect(form.statusCode).toBe(415);
    expect(form.json()).toEqual({
      error: {
        code: 'unsupported_encoding',
        message: 'Content-Type application/x-www-form-urlencoded is not accepted here: this endpoint takes JSON; send the header Content-Type: application/json (curl -d sends application/x-www-form-urlencoded unless told).',
      },
    });
    await app.close();
  });

  it('keeps status, Retry-After and server-fault logging when a route writes its own body shape (the Healthchecks API)', async () => {
    const app = Fastify();
    app.setErrorHandler((error: Error, request, reply) => answerError(error as DomainError, request, reply, ({ message }) => ({ error: message })));
    app.get('/full', async () => {
      throw new BusFullError('queue full', 2);
    });
    const full = await app.inject('/full');
    expect(full.statusCode).toBe(503);
    expect(full.headers['retry-after']).toBe('2');
    expect(full.json()).toEqual({ error: 'queue full' });
    await app.close();
  });

  it('answers a lost or refused database connection with 503 and Retry-After in each body shape, not a 500', async () => {
    const restart = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01', severity: 'FATAL' });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const app = Fastify();
    registerErrorHandler(app as unknown as App);
    app.get('/restart', async () => {
      throw restart;
    });
    app.get('/refused', async () => {
      throw new Error('timeout exceeded when trying to connect');
    });
    app.get('/batch', async () => {
      throw new BusDeliveryError('traffic', refused);
    });
    await app.register(async (hc) => {
      hc.setErrorHandler((error: Error, request, reply) => answerError(error as DomainError, request, reply, ({ message }) => ({ error: message })));
      hc.get('/v3', async () => {
        throw refused;
      });
    });
    await app.register(async (ping) => {
      ping.setErrorHandler((error: Error, request, reply) => answerError(error as DomainError, request, reply, ({ message }) => message));
      ping.get('/ping', async () => {
        throw restart;
      });
    });
    for (const path of ['/restart', '/refused', '/batch']) {
      const res = await app.inject(path);
      expect(res.statusCode, path).toBe(503);
      expect(res.headers['retry-after'], path).toMatch(/^\d+$/);
      expect(res.json().error.code, path).toBe('unavailable');
      expect(res.json().error.message, path).toMatch(/retry after the delay in Retry-After/);
    }
    const v3 = await app.inject('/v3');
    expect([v3.statusCode, v3.headers['retry-after']]).toEqual([503, '2']);
    expect(v3.json()).toEqual({ error: expect.stringMatching(/database or event bus/) });
    const ping = await app.inject('/ping');
    expect([ping.statusCode, ping.headers['retry-after']]).toEqual([503, '2']);
    expect(ping.headers['content-type']).toMatch(/^text\/plain/);
    expect(ping.body).toMatch(/^Vigil cannot reach its database/);
    await app.close();
  });

  it('still answers 500 for a failure that is not an outage', async () => {
    const app = Fastify({ logger: false });
    registerErrorHandler(app as unknown as App);
    app.get('/bug', async () => {
      throw Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
    });
    const res = await app.inject('/bug');
    expect(res.statusCode).toBe(500);
    expect(res.headers['retry-after']).toBeUndefined();
    await app.close();
  });
});
