import type { PublishMessage, SubscribeOptions } from './types.js';

/**
 * Topic names become one NATS subject token (`<prefix>.<topic>`) and consumer names part of a
 * durable name (`<topic>__<consumer>`): no dots, wildcards or spaces. Topics have no underscore so
 * the first `__` of a durable name splits it unambiguously.
 */
const TOPIC_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;
const CONSUMER_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function assertTopic(topic: string): void {
  if (!TOPIC_RE.test(topic)) {
    throw new TypeError(`Invalid bus topic "${topic}": use 1-64 of a-z, 0-9 and "-", starting with a letter or digit.`);
  }
}

export function assertConsumer(name: string): void {
  if (!CONSUMER_RE.test(name)) {
    throw new TypeError(`Invalid bus consumer name "${name}": use 1-64 of A-Z, a-z, 0-9, "_" and "-", starting with a letter or digit.`);
  }
}

export const durableName = (topic: string, consumer: string): string => `${topic}__${consumer}`;

export const toPublishMessage = (message: Uint8Array | PublishMessage): PublishMessage =>
  message instanceof Uint8Array ? { data: message } : message;

export interface ResolvedSubscribeOptions {
  batchSize: number;
  maxAttempts: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  ackWaitMs: number;
  maxAckPending: number;
}

const positiveInt = (name: string, value: number | undefined, fallback: number, min = 1): number => {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new TypeError(`Subscribe option ${name} must be an integer >= ${min}, got ${String(value)}.`);
  return v;
};

export function resolveSubscribeOptions(options: SubscribeOptions = {}): ResolvedSubscribeOptions {
  const batchSize = positiveInt('batchSize', options.batchSize, 256);
  return {
    batchSize,
    maxAttempts: positiveInt('maxAttempts', options.maxAttempts, 3),
    retryDelayMs: positiveInt('retryDelayMs', options.retryDelayMs, 200, 0),
    maxRetryDelayMs: positiveInt('maxRetryDelayMs', options.maxRetryDelayMs, 30_000, 0),
    // JetStream's pull requests and heartbeats work in whole seconds; below one second they misfire.
    ackWaitMs: positiveInt('ackWaitMs', options.ackWaitMs, 30_000, 1000),
    maxAckPending: positiveInt('maxAckPending', options.maxAckPending, 4 * batchSize, batchSize),
  };
}
