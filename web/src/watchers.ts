/**
 * Shipment table watchers (platform administrators): the client of `/api/v1/shipment-watchers`,
 * answers parsed with the server's contracts. Shown on the Organisations page.
 */
import { watcherList, type WatcherView } from '@contracts/watchers.js';
import { request } from './api';

export type { WatcherView };

export const watchersApi = {
  list: async () => watcherList.parse(await request('GET', '/api/v1/shipment-watchers')).watchers,
};

/** Whose shipments a watcher's rows are, in words. */
export function watcherOrgs(w: WatcherView, orgNames: Map<string, string>): string {
  const name = (id: string) => orgNames.get(id) ?? id;
  if (w.org_id) return name(w.org_id);
  return `${w.org_column ?? '?'}: ${Object.entries(w.org_map ?? {})
    .map(([value, id]) => `${value} → ${name(id)}`)
    .join(', ')}`;
}
