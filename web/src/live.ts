import { useEffect, useEffectEvent, useSyncExternalStore } from 'react';
import { api } from './api';

/**
 * Live updates from `GET /api/v1/events` (Server-Sent Events, cookie auth). One EventSource for
 * the whole app; pages subscribe to event types with `useLiveEvent`.
 *
 * EventSource reconnects by itself after a dropped connection, but gives up for good when the
 * server answers with an HTTP error (e.g. 502 while restarting); then we reopen it ourselves.
 * Events sent while disconnected are lost, so `epoch` counts reconnections: the query cache is
 * refetched when it moves (queries.ts), and the pages with their own loaders (logs, traffic) put it
 * in their load effects. One EventSource kept by hand: TanStack Query has no stream source; live
 * events update its cache instead.
 */

export type LiveStatus = 'connecting' | 'live' | 'offline';
export interface LiveState {
  status: LiveStatus;
  /** Number of reconnections since the first successful open. */
  epoch: number;
}

type Handler = (data: unknown) => void;

const REOPEN_DELAY_MS = 3000;

class LiveConnection {
  private source: EventSource | undefined;
  private reopenTimer: ReturnType<typeof setTimeout> | undefined;
  private everOpened = false;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly stateListeners = new Set<() => void>();
  state: LiveState = { status: 'offline', epoch: 0 };

  open(): void {
    this.close();
    this.setState({ status: 'connecting' });
    const source = new EventSource('/api/v1/events', { withCredentials: true });
    this.source = source;
    for (const type of this.handlers.keys()) source.addEventListener(type, this.dispatch);
    source.onopen = () => {
      const epoch = this.everOpened ? this.state.epoch + 1 : this.state.epoch;
      this.everOpened = true;
      this.setState({ status: 'live', epoch });
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        this.setState({ status: 'offline' });
        // A 401 here means the session ended: asking /me lets the app fall back to the login form.
        api.me().catch(() => undefined);
        this.reopenTimer = setTimeout(() => this.open(), REOPEN_DELAY_MS);
      } else {
        this.setState({ status: 'connecting' });
      }
    };
  }

  close(): void {
    clearTimeout(this.reopenTimer);
    this.source?.close();
    this.source = undefined;
    this.setState({ status: 'offline' });
  }

  on(type: string, handler: Handler): () => void {
    let set = this.handlers.get(type);
    if (!set) {
      set = new Set();
      this.handlers.set(type, set);
      this.source?.addEventListener(type, this.dispatch);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  subscribe = (listener: () => void): (() => void) => {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  };

  getState = (): LiveState => this.state;

  private readonly dispatch = (event: Event): void => {
    const message = event as MessageEvent<string>;
    let data: unknown;
    try {
      data = JSON.parse(message.data);
    } catch {
      return; // not ours to crash on: a malformed event is skipped
    }
    for (const handler of this.handlers.get(message.type) ?? []) handler(data);
  };

  private setState(patch: Partial<LiveState>): void {
    const next = { ...this.state, ...patch };
    if (next.status === this.state.status && next.epoch === this.state.epoch) return;
    this.state = next;
    for (const listener of this.stateListeners) listener();
  }
}

const connection = new LiveConnection();

/** Keeps the event stream open while `enabled` (i.e. while logged in). */
export function useLiveConnection(enabled: boolean): void {
  useEffect(() => {
    if (!enabled) return;
    connection.open();
    return () => connection.close();
  }, [enabled]);
}

/** The connection's status and reconnection count. */
export function useLiveState(): LiveState {
  return useSyncExternalStore(connection.subscribe, connection.getState);
}

/**
 * Subscribes `handler` to live events of `type` outside of render; returns the unsubscribe. For an
 * effect whose handler is an effect event (which only effects may call).
 */
export function onLiveEvent(type: string, handler: (data: unknown) => void): () => void {
  return connection.on(type, handler);
}

/** Calls `handler` with the parsed data of every live event of `type`. */
export function useLiveEvent(type: string, handler: (data: unknown) => void): void {
  const onEvent = useEffectEvent(handler);
  useEffect(() => connection.on(type, (data) => onEvent(data)), [type]);
}
