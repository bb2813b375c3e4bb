import { describe, expect, it } from 'vitest';
import { ApiError, cookieValue, errorMessage, fieldMessage } from './api';

describe('the CSRF cookie', () => {
  it('finds a cookie by name, decoded, with = in its value kept', () => {
    expect(cookieValue('a=1; vigil_csrf=abc%3D%3D; b=2', 'vigil_csrf')).toBe('abc==');
    expect(cookieValue('vigil_csrf=x=y', 'vigil_csrf')).toBe('x=y');
    expect(cookieValue('other_vigil_csrf=1', 'vigil_csrf')).toBeUndefined();
    expect(cookieValue('', 'vigil_csrf')).toBeUndefined();
  });
});

describe('server errors for people', () => {
  const refused = new ApiError(400, 'invalid_request', 'Invalid input', [
    { field: 'body.schedule', message: 'not a cron expression' },
    { field: 'body.tz', message: 'unknown zone' },
    { field: 'name' },
    'not a field error',
  ]);

  it('names the offending fields without the body. prefix', () => {
    expect(refused.fields).toEqual([
      { field: 'schedule', message: 'not a cron expression' },
      { field: 'tz', message: 'unknown zone' },
      { field: 'name', message: 'invalid' },
    ]);
    expect(new ApiError(500, 'internal', 'boom').fields).toEqual([]);
  });

  it("joins the server's messages about the fields a form asks for", () => {
    expect(fieldMessage(refused, 'schedule', 'tz')).toBe('not a cron expression; unknown zone');
    expect(fieldMessage(refused, 'grace')).toBeUndefined();
    expect(fieldMessage(new Error('x'), 'schedule')).toBeUndefined();
  });

  it('reads a message from anything thrown', () => {
    expect(errorMessage(new Error('down'))).toBe('down');
    expect(errorMessage('plain')).toBe('plain');
  });
});
