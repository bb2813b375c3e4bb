import { queryOptions } from '@tanstack/react-query';
import { fraudApi, type FraudAlertFilter } from './fraud';
import { listShipments } from './shipments';

/**
 * The fraud pages' cached answers (TanStack Query), as queries.ts does for the other pages. The
 * inbox's keys start with 'alerts', so the `alert` live event (which refetches every ['alerts', …]
 * query, see queries.ts) refreshes it too; it also polls, as fraud alerts may arrive without one.
 */
export const criteriaQuery = queryOptions({ queryKey: ['fraud', 'criteria'], queryFn: () => fraudApi.listCriteria() });
export const criterionQuery = (id: string) => queryOptions({ queryKey: ['fraud', 'criterion', id], queryFn: () => fraudApi.getCriterion(id) });
export const versionsQuery = (id: string) => queryOptions({ queryKey: ['fraud', 'criterion', id, 'versions'], queryFn: () => fraudApi.versions(id) });
export const auditQuery = (id: string) => queryOptions({ queryKey: ['fraud', 'criterion', id, 'audit'], queryFn: () => fraudApi.audit(id) });
export const fraudSchemaQuery = queryOptions({ queryKey: ['fraud', 'schema'], queryFn: () => fraudApi.schema(), staleTime: 60_000 });
export const fraudListsQuery = queryOptions({ queryKey: ['fraud', 'lists'], queryFn: () => fraudApi.lists() });
export const fraudListQuery = (name: string) => queryOptions({ queryKey: ['fraud', 'list', name], queryFn: () => fraudApi.getList(name) });

/** How often the inbox refreshes without a live event. */
export const INBOX_POLL_MS = 5000;
export const fraudAlertsQuery = (filter: FraudAlertFilter, limit: number) =>
  queryOptions({
    queryKey: ['alerts', 'fraud', 'list', filter, limit],
    queryFn: () => fraudApi.alerts(filter, limit),
    refetchInterval: INBOX_POLL_MS,
    // "Show more" keeps the rows shown while the longer page loads; another filter starts empty.
    placeholderData: (previous, previousQuery) => (previousQuery && JSON.stringify(previousQuery.queryKey[3]) === JSON.stringify(filter) ? previous : undefined),
  });
export const fraudAlertQuery = (id: string) => queryOptions({ queryKey: ['alerts', 'fraud', 'one', id], queryFn: () => fraudApi.alert(id) });
export const shipmentsQuery = queryOptions({ queryKey: ['shipments'], queryFn: () => listShipments(50) });
