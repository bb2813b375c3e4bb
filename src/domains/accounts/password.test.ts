import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './password.js';

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
});
