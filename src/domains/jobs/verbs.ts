import type { Principal } from '../accounts/index.js';
import {
  checkView,
  createCheck,
  deleteCheck,
  getCheck,
  listChecks,
  pauseCheck,
  recentDurations,
  resumeCheck,
  updateCheck,
  type CheckFilter,
  type CheckInput,
  type CheckRow,
  type CheckView,
} from './checks.js';
import { flipView, listFlips, listPings, listRuns, pingView, runView } from './history.js';
import { pingKeyOf, publishCheck, publishCheckDeleted, type LiveDeps } from './live.js';
import { createMaintenance, deleteMaintenance, listMaintenance, maintenanceView, type MaintenanceInput } from './maintenance.js';

/**
 * The verbs of Vigil's own check API (what the dashboard calls), on behalf of an actor: each reads
 * or changes the actor's organisation's checks, tells dashboards what changed, and returns the
 * native view. The routes (http/v1.ts) validate, check the role and answer.
 */

/** Who asks: the organisation whose checks a verb reads or changes (the route checked the role). */
export type Actor = Pick<Principal, 'orgId'>;

async function views(deps: LiveDeps, orgId: string, rows: CheckRow[]): Promise<CheckView[]> {
  const [pingKey, durations] = await Promise.all([pingKeyOf(deps, orgId), recentDurations(deps.db, orgId, rows.map((r) => r.id))]);
  return rows.map((r) => checkView(r, deps.baseUrl, pingKey, durations.get(r.id) ?? []));
}

async function viewOf(deps: LiveDeps, row: CheckRow): Promise<CheckView> {
  const [view] = await views(deps, row.org_id, [row]);
  return view!;
}

/** A check changed: dashboards hear of it (without waiting), the caller gets its view. */
function changed(deps: LiveDeps, row: CheckRow): Promise<CheckView> {
  void publishCheck(deps, row);
  return viewOf(deps, row);
}

export const checkVerbs = (deps: LiveDeps) => ({
  list: async (actor: Actor, filter: CheckFilter) => views(deps, actor.orgId, await listChecks(deps.db, actor.orgId, filter)),
  get: async (actor: Actor, id: string) => viewOf(deps, await getCheck(deps.db, actor.orgId, id)),
  create: async (actor: Actor, input: CheckInput) => changed(deps, await createCheck(deps.db, actor.orgId, input)),
  update: async (actor: Actor, id: string, input: CheckInput) => changed(deps, await updateCheck(deps.db, actor.orgId, id, input)),
  async remove(actor: Actor, id: string): Promise<void> {
    await deleteCheck(deps.db, actor.orgId, id);
    publishCheckDeleted(deps, actor.orgId, id);
  },
  pause: async (actor: Actor, id: string) => changed(deps, await pauseCheck(deps.db, actor.orgId, id)),
  resume: async (actor: Actor, id: string) => changed(deps, await resumeCheck(deps.db, actor.orgId, id)),
  async runs(actor: Actor, id: string, limit: number) {
    const check = await getCheck(deps.db, actor.orgId, id);
    return (await listRuns(deps.db, check.id, limit)).map(runView);
  },
  async pings(actor: Actor, id: string, limit: number) {
    const check = await getCheck(deps.db, actor.orgId, id);
    return (await listPings(deps.db, check.id, limit)).map(pingView);
  },
  async flips(actor: Actor, id: string, limit: number) {
    const check = await getCheck(deps.db, actor.orgId, id);
    return (await listFlips(deps.db, check.id, { limit })).map(flipView);
  },
});

export const maintenanceVerbs = (deps: Pick<LiveDeps, 'db'>) => ({
  list: async (actor: Actor) => (await listMaintenance(deps.db, actor.orgId)).map(maintenanceView),
  create: async (actor: Actor, input: MaintenanceInput) => maintenanceView(await createMaintenance(deps.db, actor.orgId, input)),
  remove: (actor: Actor, id: string) => deleteMaintenance(deps.db, actor.orgId, id),
});
