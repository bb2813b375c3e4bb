import { randomUUID } from 'node:crypto';
import pRetry from 'p-retry';
import pg from 'pg';
import type { Logger } from 'pino';
import type { LiveChange, LiveHub } from './live.js';
import type { Worker } from './worker.js';

const CHANNEL = 'vigil_live';
/** Announcements are gathered for this long and sent as one NOTIFY per organisation. */
const FLUSH_MS = 100;
/** NOTIFY payloads must stay under 8000 bytes. */
const MAX_PAYLOAD = 7000;

interface Envelope {
  origin: string;
  orgId: string;
  changes: LiveChange[];
}

/**
 * Carries live-update announcements between instances sharing one PostgreSQL database, with
 * LISTEN/NOTIFY: a dedicated connection listens (reconnecting with backoff if it drops), and
 * announcements are coalesced per organisation and sent every 100 ms.
 */
export async function startLiveBridge(hub: LiveHub, databaseUrl: string, logger: Logger): Promise<Worker> {
  const origin = randomUUID();
  const pending = new Map<string, Map<string, LiveChange>>();
  const sender = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  sender.on('error', (error) => logger.warn({ err: error }, 'live bridge: idle connection lost'));
  let listener: pg.Client | undefined;
  let stopped = false;

  const onNotification = (message: pg.Notification) => {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message.payload ?? '') as Envelope;
    } catch {
      return;
    }
    if (envelope.origin === origin) return;
    for (const change of envelope.changes) {
      hub.receive(envelope.orgId, change).catch((error: unknown) => logger.warn({ err: error }, 'live bridge: could not resolve a change'));
    }
  };

  const listen = async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    client.on('notification', onNotification);
    client.on('error', (error) => {
      logger.warn({ err: error }, 'live bridge: listener lost; reconnecting');
      client.removeAllListeners('notification');
      if (!stopped) void reconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    // A reconnect that completes after stop() must not leave a connection open (it would keep the process alive).
    if (stopped) {
      await client.end();
      return;
    }
    listener = client;
  };
  const reconnect = () => pRetry(listen, { retries: Number.POSITIVE_INFINITY, minTimeout: 200, maxTimeout: 5000, shouldRetry: () => !stopped }).catch(() => undefined);

  const flush = async () => {
    const batches = [...pending.entries()];
    pending.clear();
    for (const [orgId, changes] of batches) {
      let chunk: LiveChange[] = [];
      const send = async () => {
        if (chunk.length === 0) return;
        const payload: Envelope = { origin, orgId, changes: chunk };
        chunk = [];
        await sender.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(payload)]);
      };
      let size = 0;
      for (const change of changes.values()) {
        const bytes = change.topic.length + change.id.length + 24;
        if (size + bytes > MAX_PAYLOAD) {
          await send();
          size = 0;
        }
        chunk.push(change);
        size += bytes;
      }
      await send();
    }
  };

  await listen();
  hub.setRelay((orgId, change) => {
    const forOrg = pending.get(orgId) ?? new Map<string, LiveChange>();
    forOrg.set(`${change.topic}:${change.id}`, change);
    pending.set(orgId, forOrg);
  });
  const timer = setInterval(() => {
    flush().catch((error: unknown) => logger.warn({ err: error }, 'live bridge: could not announce changes'));
  }, FLUSH_MS);

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      hub.setRelay(undefined);
      await flush().catch(() => undefined);
      await listener?.end().catch(() => undefined);
      await sender.end();
    },
  };
}
