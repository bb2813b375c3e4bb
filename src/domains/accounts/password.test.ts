import { httpStatusOf } from '../../platform/http/errors.js';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../platform/errors.js';
import { hashPassword, scryptLoad, verifyPassword } from './password.js';

describe('password hashing', () => {
  it('verifies the right password and rejects a wrong one', async () => {
    const stored = await hashPassword('correct horse battery');
    expect(stored.startsWith('scrypt$')).toBe(true);
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    expect(await verifyPassword('correct horse batterY', stored)).toBe(false);
  });
  it('salts: the same password hashes differently', async () => {
    expect(await hashPassword('x'.repeat(10))).not.toEqual(await hashPassword('x'.repeat(10)));
  });
  it('rejects malformed stored hashes instead of throwing', async () => {
    expect(await verifyPassword('a', 'plain')).toBe(false);
  });
  it('hashes at most two passwords at once, queues a few more and refuses the rest at once with 503', async () => {
    const attempts = Array.from({ length: 30 }, () => verifyPassword('guess', 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA').then(
      () => 'hashed',
      (e: unknown) => (e instanceof DomainError ? `${httpStatusOf(e)} ${e.code} ${e.retryAfterSeconds}` : String(e)),
    ));
    expect(scryptLoad()).toEqual({ active: 2, pending: 16 });
    const outcomes = await Promise.all(attempts);
    expect(outcomes.filter((o) => o === 'hashed')).toHaveLength(18);
    expect(outcomes.filter((o) => o === '503 busy 1')).toHaveLength(12);
    expect(scryptLoad()).toEqual({ active: 0, pending: 0 });
  });
});
