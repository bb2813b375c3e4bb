/**
 * The organisation's lists (blocked senders, watched addresses, high-risk HS codes, countries):
 * criteria read them as `lists.<name>`.
 *
 * Invariants:
 * - Items are deduplicated (kept once) and at most MAX_LIST_ITEMS per list, after any patch.
 * - A list that a current criterion reads cannot be deleted (409 naming the criteria); the list row
 *   is locked first, and saving a criterion locks the lists it reads FOR SHARE, so neither can slip
 *   past the other.
 * - Every change is audited in its own transaction (who, what: description, item count, items added
 *   and removed — the first ones, not 100,000 — and when).
 */
import type { z } from 'zod';
import { MAX_LIST_ITEMS, type fraudListInput, type fraudListPatch, type fraudListView } from '../../contracts/fraud.js';
import { conflict, invalidField, notFound } from '../../platform/errors.js';
import type { Db } from '../../platform/store/index.js';
import { recordAudit, type Changes } from './audit.js';
import { selectCriteria } from './criteria-store.js';
import { listsUsedIn } from './lists-refs.js';
import { addItems, deleteList, insertList, listSizes, removeItems, selectItems, selectList, selectLists, touchList } from './lists-store.js';

type ListView = z.infer<typeof fraudListView>;
type ListSummary = Omit<ListView, 'items'>;

/** Items named in an audit entry: enough to read what happened, bounded whatever the list's size. */
const AUDITED_ITEMS = 100;

/** list name → the current criteria reading it. */
async function usage(db: Db, orgId: string): Promise<Map<string, { id: string; name: string }[]>> {
  const users = new Map<string, { id: string; name: string }[]>();
  for (const c of await selectCriteria(db, orgId)) {
    for (const list of listsUsedIn(c.expression)) {
      const entry = users.get(list) ?? [];
      entry.push({ id: c.id, name: c.name });
      users.set(list, entry);
    }
  }
  return users;
}

const iso = (d: Date | string) => new Date(d).toISOString();

export async function listLists(db: Db, orgId: string): Promise<ListSummary[]> {
  const [rows, sizes, users] = await Promise.all([selectLists(db, orgId), listSizes(db, orgId), usage(db, orgId)]);
  return rows.map((r) => ({
    name: r.name,
    description: r.description,
    item_count: sizes.get(r.name) ?? 0,
    used_by: users.get(r.name) ?? [],
    updated_at: iso(r.updated_at),
    updated_by: r.updated_by,
  }));
}

export async function getList(db: Db, orgId: string, name: string): Promise<ListView> {
  const row = await selectList(db, orgId, name);
  if (!row) throw notFound('List');
  const [items, users] = await Promise.all([selectItems(db, orgId, name), usage(db, orgId)]);
  return { name: row.name, description: row.description, items, item_count: items.length, used_by: users.get(name) ?? [], updated_at: iso(row.updated_at), updated_by: row.updated_by };
}

function itemChanges(before: Set<string>, after: Set<string>): { added: string[]; removed: string[]; changes: Changes } {
  const added = [...after].filter((v) => !before.has(v));
  const removed = [...before].filter((v) => !after.has(v));
  const changes: Changes = {};
  if (added.length || removed.length) changes.item_count = { from: before.size, to: after.size };
  if (added.length) changes.items_added = { from: null, to: added.slice(0, AUDITED_ITEMS) };
  if (removed.length) changes.items_removed = { from: removed.slice(0, AUDITED_ITEMS), to: null };
  return { added, removed, changes };
}

export async function createList(db: Db, orgId: string, input: z.output<typeof fraudListInput>, by: string | null): Promise<ListView> {
  await db.transaction().execute(async (trx) => {
    if (!(await insertList(trx, orgId, input.name, input.description, by))) throw conflict(`A list named ${input.name} exists already; change it with PUT /api/v1/fraud/lists/${input.name}.`);
    const { added, changes } = itemChanges(new Set(), new Set(input.items));
    await addItems(trx, orgId, input.name, added);
    await recordAudit(trx, { orgId, actor: by, action: 'list.created', listName: input.name, changes: { description: { from: null, to: input.description }, ...changes } });
  });
  return getList(db, orgId, input.name);
}

/** `items` replaces every item; then `add` adds and `remove` removes (a value in both ends up removed). */
export async function updateList(db: Db, orgId: string, name: string, patch: z.output<typeof fraudListPatch>, by: string | null): Promise<ListView> {
  await db.transaction().execute(async (trx) => {
    const row = await selectList(trx, orgId, name, true);
    if (!row) throw notFound('List');
    const before = new Set(await selectItems(trx, orgId, name));
    const after = new Set(patch.items ?? before);
    for (const v of patch.add ?? []) after.add(v);
    for (const v of patch.remove ?? []) after.delete(v);
    if (after.size > MAX_LIST_ITEMS) {
      throw invalidField(patch.add?.length ? 'add' : 'items', `a list holds at most ${MAX_LIST_ITEMS} items; this change would leave ${after.size}`);
    }
    const { added, removed, changes } = itemChanges(before, after);
    const description = patch.description ?? row.description;
    if (description !== row.description) changes.description = { from: row.description, to: description };
    if (Object.keys(changes).length === 0) return;
    await removeItems(trx, orgId, name, removed);
    await addItems(trx, orgId, name, added);
    await touchList(trx, orgId, name, description, by);
    await recordAudit(trx, { orgId, actor: by, action: 'list.updated', listName: name, changes });
  });
  return getList(db, orgId, name);
}

export async function removeList(db: Db, orgId: string, name: string, by: string | null): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const row = await selectList(trx, orgId, name, true);
    if (!row) throw notFound('List');
    const users = (await usage(trx, orgId)).get(name) ?? [];
    if (users.length > 0) {
      const names = users.map((u) => `"${u.name}"`).join(', ');
      throw conflict(`The list ${name} is read by ${users.length === 1 ? 'the criterion' : 'the criteria'} ${names}: change or delete ${users.length === 1 ? 'it' : 'them'} first.`, { criteria: users });
    }
    const count = (await listSizes(trx, orgId)).get(name) ?? 0;
    await deleteList(trx, orgId, name);
    await recordAudit(trx, { orgId, actor: by, action: 'list.deleted', listName: name, changes: { description: { from: row.description, to: null }, item_count: { from: count, to: 0 } } });
  });
}
