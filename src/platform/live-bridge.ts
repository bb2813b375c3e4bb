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

/** A connection attempt to a database that does not answer gives up after this long (then retried). */
const CONNECT_TIMEOUT_MS = 5000;
/** Reconnect delays of the listener: doubling from the first to the last, so it is back within seconds of the database. */
const RECONNECT_MIN_MS = 200;
const RECONNECT_MAX_MS = 2000;

/**
 * Carries live-update announcements between instances sharing one PostgreSQL database, with
 * LISTEN/NOTIFY: a dedicated connection listens (reconnecting with backoff if it drops), and
 * announcements are coalesced per organisation and sent every 100 ms. A database restart costs the
 * announcements made while it was away (live updates are hints; pages reload data on their own),
 * never the process: every connection has an 'error' listener, and each outage is logged once.
 */
export async function startLiveBridge(hub: LiveHub, databaseUrl: string, logger: Logger): Promise<Worker> {
  const origin = randomUUID();
  const pending = new Map<string, Map<string, LiveChange>>();
  const sender = new pg.Pool({ connectionString: databaseUrl, max: 1, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true });
  // A dying connection fails the NOTIFY in flight (logged by the flush below); without these
  // listeners pg's 'error' event would end the process.
  sender.on('connect', (client) => client.on('error', () => undefined));
  sender.on('error', () => undefined);
  let listener: pg.Client | undefined;
  let reconnecting: Promise<void> | undefined;
  let stopped = false;
  const stopping = new AbortController();

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

  /** Opens a listening connection; it becomes `listener` only once LISTEN succeeded. */
  const listen = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true });
    let current = false;
    client.on('notification', onNotification);
    client.on('error', (error) => {
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      // During an attempt the error also fails it (and p-retry tries again); only the established
      // listener's loss starts a reconnect.
      if (!current) return;
      current = false;
      listener = undefined;
      if (stopped) return;
      logger.warn({ err: error }, 'live bridge: LISTEN connection lost; reconnecting');
      reconnect();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('notification');
      await client.end().catch(() => undefined);
      throw error;
    }
    // A reconnect that completes after stop() must not leave a connection open (it would keep the process alive).
    if (stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    // No I/O event can run between LISTEN's answer and here, so an error from now on sees `current`.
    current = true;
    listener = client;
  };
  const reconnect = () => {
    reconnecting ??= pRetry(listen, {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: RECONNECT_MIN_MS,
      maxTimeout: RECONNECT_MAX_MS,
      signal: stopping.signal,
      shouldRetry: () => !stopped,
    })
      .then(
        () => {
          if (listener) logger.info('live bridge: listening again');
        },
        () => undefined,
      )
      .finally(() => {
        reconnecting = undefined;
      });
  };

  /** Sends what is pending; resolves with the number of NOTIFYs sent. */
  const flush = async (): Promise<number> => {
    const batches = [...pending.entries()];
    pending.clear();
    let sent = 0;
    for (const [orgId, changes] of batches) {
      let chunk: LiveChange[] = [];
      const send = async () => {
        if (chunk.length === 0) return;
        const payload: Envelope = { origin, orgId, changes: chunk };
        chunk = [];
        await sender.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(payload)]);
        sent += 1;
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
    return sent;
  };

  await listen();
  hub.setRelay((orgId, change) => {
    const forOrg = pending.get(orgId) ?? new Map<string, LiveChange>();
    forOrg.set(`${change.topic}:${change.id}`, change);
    pending.set(orgId, forOrg);
  });
  let flushing: Promise<void> | undefined;
  /** Announcing fails (database away): logged once when it starts and once when it ends. */
  let failing = false;
  const timer = setInterval(() => {
    // One flush at a time: while the database is away a NOTIFY may wait for its connect timeout.
    flushing ??= flush()
      .then(
        (sent) => {
          // Only a NOTIFY that went through shows the database is back (an empty flush sends nothing).
          if (!failing || sent === 0) return;
          failing = false;
          logger.info('live bridge: announcing changes again');
        },
        (error: unknown) => {
          if (!failing) logger.warn({ err: error }, 'live bridge: could not announce changes; retrying every 100 ms');
          failing = true;
        },
      )
      .finally(() => {
        flushing = undefined;
      });
  }, FLUSH_MS);

  return {
    async stop() {
      stopped = true;
      stopping.abort();
      clearInterval(timer);
      hub.setRelay(undefined);
      await flushing;
      await reconnecting;
      await flush().catch(() => undefined);
      await listener?.end().catch(() => undefined);
      await sender.end();
    },
  };
}
