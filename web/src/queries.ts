import { QueryClient, queryOptions, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { alertEventFingerprint, alertsApi, type AlertFilter } from './alerts';
import { api, ApiError, type CheckView } from './api';
import { listArchive } from './archive';
import { deletedId, isCheckView, sortChecks, upsertCheck } from './checks';
import { useLiveEvent, useLiveState } from './live';
import { rulesApi } from './rules';

/**
 * The server's data as the dashboard caches it (TanStack Query): one key per API answer, shared by
 * every page that shows it, updated in place by live events and invalidated after writes. The logs
 * tail and the traffic charts keep their own loaders (see their pages): they are throttled streams,
 * not answers to cache.
 */

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // An error shows at once, as before: a 4xx will not change on retry, and the live stream's
      // reconnection refetches everything after an outage anyway.
      retry: false,
      // Live events keep shown data current; a focus refetch would only add load.
      refetchOnWindowFocus: false,
    },
  },
});

/** Who is logged in; null when nobody is (a 401), so the app shows the login form. */
export const meQuery = queryOptions({
  queryKey: ['me'],
  queryFn: () =>
    api.me().catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 401) return null;
      throw error;
    }),
});

export const checksQuery = queryOptions({ queryKey: ['checks'], queryFn: async () => sortChecks(await api.listChecks()) });
export const checkQuery = (id: string) => queryOptions({ queryKey: ['check', id], queryFn: () => api.getCheck(id) });
export const runsQuery = (id: string) => queryOptions({ queryKey: ['check', id, 'runs'], queryFn: () => api.runs(id) });
export const flipsQuery = (id: string) => queryOptions({ queryKey: ['check', id, 'flips'], queryFn: () => api.flips(id) });
export const pingsQuery = (id: string) => queryOptions({ queryKey: ['check', id, 'pings'], queryFn: () => api.pings(id) });
export const maintenanceQuery = queryOptions({ queryKey: ['maintenance'], queryFn: () => api.listMaintenance() });
export const channelsQuery = queryOptions({ queryKey: ['channels'], queryFn: () => api.listChannels() });
export const deliveriesQuery = (channelId: string) => queryOptions({ queryKey: ['channels', channelId, 'deliveries'], queryFn: () => api.deliveries(channelId) });
export const archiveQuery = queryOptions({ queryKey: ['archive'], queryFn: () => listArchive() });
/** Alert instances of every source (issue 9); the `alert` live event refetches every ['alerts', …] query. */
export const alertsQuery = (filter: AlertFilter) => queryOptions({ queryKey: ['alerts', 'list', filter], queryFn: () => alertsApi.list(filter) });
export const alertHistoryQuery = (fingerprint: string) => queryOptions({ queryKey: ['alerts', 'history', fingerprint], queryFn: () => alertsApi.history(fingerprint) });
export const silencesQuery = queryOptions({ queryKey: ['silences'], queryFn: () => alertsApi.listSilences() });
export const muteWindowsQuery = queryOptions({ queryKey: ['mute-windows'], queryFn: () => alertsApi.listMuteWindows() });
/** Rules carry their firing/pending counts: the `alert` live event refetches them too. */
export const rulesQuery = queryOptions({ queryKey: ['rules'], queryFn: () => rulesApi.list() });
export const ruleQuery = (id: string) => queryOptions({ queryKey: ['rule', id], queryFn: () => rulesApi.get(id) });

/** A check as the server now has it (a write's answer, a live event): shown in its page and the list. */
export function storeCheck(client: QueryClient, check: CheckView): void {
  client.setQueryData(checkQuery(check.id).queryKey, check);
  client.setQueryData(checksQuery.queryKey, (list) => upsertCheck(list, check));
}

/** The session ended (logged out, or a 401): nothing cached belongs to the next user. */
export function forgetSession(client: QueryClient): void {
  client.removeQueries({ predicate: (query) => query.queryKey[0] !== 'me' });
  client.setQueryData(meQuery.queryKey, null);
}

/** A check event follows a ping or a flip: its runs, flips and pings changed too. */
const ACTIVITY_COALESCE_MS = 500;

/**
 * Applies live events to the cache while logged in, and refetches what is shown after the stream
 * reconnects (events sent meanwhile were lost).
 */
export function useLiveCache(): void {
  const client = useQueryClient();
  const { epoch } = useLiveState();
  const seenEpoch = useRef(epoch);
  useEffect(() => {
    if (epoch === seenEpoch.current) return;
    seenEpoch.current = epoch;
    void client.invalidateQueries();
  }, [client, epoch]);

  // A job pinging many times a second would refetch a check's activity as often: one refetch per
  // 500 ms and check (only shown queries refetch; others are marked stale).
  const pending = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  useEffect(() => {
    const timers = pending.current;
    return () => {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    };
  }, []);

  useLiveEvent('check', (data) => {
    if (!isCheckView(data)) return;
    if (client.getQueryData(checkQuery(data.id).queryKey) !== undefined) client.setQueryData(checkQuery(data.id).queryKey, data);
    client.setQueryData(checksQuery.queryKey, (list) => upsertCheck(list, data));
    const id = data.id;
    if (pending.current.has(id)) return;
    pending.current.set(
      id,
      setTimeout(() => {
        pending.current.delete(id);
        for (const query of [runsQuery(id), flipsQuery(id), pingsQuery(id)]) void client.invalidateQueries({ queryKey: query.queryKey, exact: true });
      }, ACTIVITY_COALESCE_MS),
    );
  });
  // An instance changed state: the lists that show instances (and the rules' counts) refetch, at
  // most once per 500 ms, since a burst of twenty sections firing is twenty events.
  const alertTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(alertTimer.current), []);
  useLiveEvent('alert', (data) => {
    if (alertEventFingerprint(data) === undefined || alertTimer.current !== undefined) return;
    alertTimer.current = setTimeout(() => {
      alertTimer.current = undefined;
      void client.invalidateQueries({ queryKey: ['alerts'] });
      void client.invalidateQueries({ queryKey: rulesQuery.queryKey, exact: true });
    }, ACTIVITY_COALESCE_MS);
  });
  useLiveEvent('check.deleted', (data) => {
    const id = deletedId(data);
    client.setQueryData(checksQuery.queryKey, (list) => list?.filter((c) => c.id !== id));
  });
}
