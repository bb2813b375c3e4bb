import { describe, expect, it } from 'vitest';
import { invitationToken } from './admin';

describe('invitationToken', () => {
  it('reads the token from the link fragment', () => {
    expect(invitationToken('#token=abc_DEF-123')).toBe('abc_DEF-123');
    expect(invitationToken('token=x')).toBe('x');
    expect(invitationToken('')).toBeUndefined();
    expect(invitationToken('#token=')).toBeUndefined();
  });
});
