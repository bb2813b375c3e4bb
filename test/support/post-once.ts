import { request as httpRequest } from 'node:http';
import { expect } from 'vitest';

export interface PostAnswer {
  status: number;
  retryAfter: string | undefined;
  body: string;
}

/**
 * One POST on a fresh connection, never retried: fetch (undici) may resend a request whose
 * kept-alive connection died, which would make a client retry look like a duplicate Vigil made.
 */
export function postOnce(url: string, body: string, headers: Record<string, string>, timeoutMs = 15_000): Promise<PostAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false, timeout: timeoutMs, headers: { ...headers, connection: 'close' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

/** POSTs JSON to a Vigil at `baseUrl` with the admin token, expects a 2xx and answers the created object's id. */
export function adminPoster(baseUrl: string, token: string): (path: string, json: unknown) => Promise<{ id: string }> {
  return async (path, json) => {
    const res = await fetch(baseUrl + path, { method: 'POST', headers: { 'x-api-key': token, 'content-type': 'application/json' }, body: JSON.stringify(json) });
    expect(res.status, `${path}: ${await res.clone().text()}`).toBeLessThan(300);
    return (await res.json()) as { id: string };
  };
}
