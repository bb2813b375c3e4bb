import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshPostgresDatabase, type StoreKind } from './server.js';

export interface Delivery<T> {
  /** The Standard Webhooks `webhook-id` header: the same for every retry of one notification. */
  webhookId: string;
  body: T;
}

/** A loopback webhook receiver that records every delivery it gets (bodies parsed as JSON). */
export async function webhookReceiver<T>(): Promise<{ server: Server; url: string; deliveries: Delivery<T>[]; close: () => Promise<void> }> {
  const deliveries: Delivery<T>[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      deliveries.push({ webhookId: String(req.headers['webhook-id']), body: JSON.parse(body) as T });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return {
    server,
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`,
    deliveries,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * The environment of a `vigil start` process that keeps its data across kill -9: a fresh
 * PostgreSQL database, or a PGlite data directory on disk. Their removal is pushed on `cleanups`.
 */
export async function durableStoreEnv(kind: StoreKind, cleanups: (() => Promise<void> | void)[], prefix: string): Promise<Record<string, string>> {
  if (kind === 'postgres') {
    const db = await freshPostgresDatabase();
    cleanups.push(db.drop);
    return { DATABASE_URL: db.url };
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { VIGIL_DATA_DIR: dir };
}
