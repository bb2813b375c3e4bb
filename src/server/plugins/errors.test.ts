import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { BusFullError } from '../../platform/bus/index.js';
import { AppError } from '../../platform/errors.js';
import type { App } from '../context.js';
import { answerError, registerErrorHandler } from './errors.js';

describe('the error envelope', () => {
  it('tells a client when to come back from a temporary condition (Retry-After), whichever route raised it', async () => {
    const app = Fastify();
    registerErrorHandler(app as unknown as App);
    app.get('/full', async () => {
      throw new BusFullError('queue full', 3);
    });
    app.get('/busy', async () => {
      throw new AppError(503, 'overloaded', 'busy', undefined, 1);
    });
    app.get('/missing', async () => {
      throw new AppError(404, 'not_found', 'check not found');
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

  it('keeps status, Retry-After and server-fault logging when a route writes its own body shape (the Healthchecks API)', async () => {
    const app = Fastify();
    app.setErrorHandler((error: Error, request, reply) => answerError(error as AppError, request, reply, ({ message }) => ({ error: message })));
    app.get('/full', async () => {
      throw new BusFullError('queue full', 2);
    });
    const full = await app.inject('/full');
    expect(full.statusCode).toBe(503);
    expect(full.headers['retry-after']).toBe('2');
    expect(full.json()).toEqual({ error: 'queue full' });
    await app.close();
  });
});
