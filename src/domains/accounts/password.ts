import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import pLimit from 'p-limit';
import { DomainError } from '../../platform/errors.js';

/**
 * Passwords are hashed with scrypt (memory-hard, in Node's standard library).
 * Stored as `scrypt$N$r$p$salt$hash` so parameters can be raised later without breaking old hashes.
 */
const N = 2 ** 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

/**
 * Each hash takes ~32 MB and tens of milliseconds of a libuv thread. Log-in is open to anyone, so
 * the number of hashes at once is capped (and with it memory and the thread pool, which DNS and
 * file I/O share); a few more may wait, and beyond that the server answers 503 at once instead of
 * queueing unbounded work for a flood.
 */
const SCRYPT_CONCURRENCY = 2;
const SCRYPT_QUEUE = 16;
const scryptSlots = pLimit(SCRYPT_CONCURRENCY);

export const passwordHashingBusy = () =>
  new DomainError('busy', 'Too many log-ins are being checked right now: try again in a moment.', { retryAfterSeconds: 1 });

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  if (scryptSlots.pendingCount >= SCRYPT_QUEUE) return Promise.reject(passwordHashingBusy());
  return scryptSlots(
    () =>
      new Promise<Buffer>((resolve, reject) =>
        scryptCb(password, salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key))),
      ),
  );
}

/** Hashes running and waiting (tests and diagnostics). */
export const scryptLoad = () => ({ active: scryptSlots.activeCount, pending: scryptSlots.pendingCount });

const maxmem = (n: number, r: number) => 256 * n * r;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, { N, r: R, p: P, maxmem: maxmem(N, R) });
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: maxmem(Number(n), Number(r)),
  });
  return timingSafeEqual(expected, actual);
}
