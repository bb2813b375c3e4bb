import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState, type FormEvent } from 'react';
import { loadErrorMessage } from '../alerts';
import { ApiError, errorMessage } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { Field } from '../components/Field';
import { RelativeTime } from '../components/RelativeTime';
import { TableHead } from '../components/TableHead';
import { fraudApi, itemsOf, messageFor, type FraudListView } from '../fraud';
import { fraudListQuery, fraudListsQuery } from '../fraud-queries';
import { useAction } from '../hooks';
import { FraudTabs } from './FraudTabs';

/** A refusal's field messages, or its message. */
const refusal = (error: Error | undefined, field: string) => (error instanceof ApiError ? (messageFor(error.fields, field) ?? undefined) : undefined);

function NewList() {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [items, setItems] = useState('');
  const create = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void create.run(async () => {
      await fraudApi.createList({ name: name.trim(), description: description.trim(), items: itemsOf(items) });
      setName('');
      setDescription('');
      setItems('');
      void client.invalidateQueries({ queryKey: ['fraud'] });
    });
  };
  const nameError = refusal(create.error, 'name');
  const itemsError = refusal(create.error, 'items');
  return (
    <form className="card list-form" onSubmit={submit} aria-label="New list" noValidate>
      <h2>New list</h2>
      <div className="field-row">
        <Field id="list-name" label="Name" hint="a-z, 0-9 and _; used in criteria as lists.<name>" error={nameError}>
          <input id="list-name" className="mono" value={name} onChange={(e) => setName(e.target.value)} placeholder="blocked_senders" />
        </Field>
        <Field id="list-description" label="Description">
          <input id="list-description" value={description} onChange={(e) => setDescription(e.target.value)} placeholder="optional" />
        </Field>
      </div>
      <Field id="list-items" label="Items" hint="One a line, compared exactly as they appear in shipments." error={itemsError}>
        <textarea id="list-items" className="mono" rows={4} value={items} onChange={(e) => setItems(e.target.value)} />
      </Field>
      <ErrorNote message={create.error && !nameError && !itemsError ? create.error.message : undefined} />
      <button type="submit" className="button primary" disabled={create.busy}>
        Create list
      </button>
    </form>
  );
}

/** One list opened: its items (replace them all by pasting), used-by, delete. */
function ListEditor({ list, onClose }: { list: FraudListView; onClose: () => void }) {
  const client = useQueryClient();
  const [items, setItems] = useState(list.items.join('\n'));
  const [description, setDescription] = useState(list.description);
  const save = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save.run(async () => {
      const saved = await fraudApi.updateList(list.name, { description, items: itemsOf(items) });
      client.setQueryData(fraudListQuery(list.name).queryKey, saved);
      void client.invalidateQueries({ queryKey: fraudListsQuery.queryKey });
      void client.invalidateQueries({ queryKey: ['fraud', 'schema'] });
    });
  };
  const remove = () => {
    const users = list.used_by.map((c) => c.name).join(', ');
    if (!window.confirm(users ? `Delete the list "${list.name}"? The criteria ${users} use it.` : `Delete the list "${list.name}"?`)) return;
    void save.run(async () => {
      await fraudApi.deleteList(list.name);
      void client.invalidateQueries({ queryKey: ['fraud'] });
      onClose();
    });
  };
  const count = itemsOf(items).length;
  return (
    <form className="card list-form" onSubmit={submit} aria-label={`List ${list.name}`} noValidate>
      <h2 className="mono">lists.{list.name}</h2>
      <p className="muted">
        Used by:{' '}
        {list.used_by.length === 0
          ? 'no criterion'
          : list.used_by.map((c, i) => (
              <span key={c.id}>
                {i > 0 && ', '}
                <Link to="/fraud/criteria/$id" params={{ id: c.id }}>
                  {c.name}
                </Link>
              </span>
            ))}
      </p>
      <Field id="edit-list-description" label="Description">
        <input id="edit-list-description" value={description} onChange={(e) => setDescription(e.target.value)} />
      </Field>
      <Field id="edit-list-items" label={`Items (${count})`} hint="One a line; saving replaces every item with these." error={refusal(save.error, 'items')}>
        <textarea id="edit-list-items" className="mono" rows={Math.min(20, Math.max(4, count + 1))} value={items} onChange={(e) => setItems(e.target.value)} />
      </Field>
      <ErrorNote message={save.error && !refusal(save.error, 'items') ? save.error.message : undefined} />
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={save.busy}>
          Save items
        </button>
        <button type="button" className="button" onClick={onClose}>
          Close
        </button>
        <button type="button" className="button danger" onClick={remove} disabled={save.busy}>
          Delete list
        </button>
      </div>
    </form>
  );
}

function OpenList({ name, onClose }: { name: string; onClose: () => void }) {
  const list = useQuery(fraudListQuery(name));
  if (list.error) return <ErrorNote message={errorMessage(list.error)} />;
  if (!list.data) return <p className="muted">Loading…</p>;
  return <ListEditor key={list.data.updated_at} list={list.data} onClose={onClose} />;
}

/** The organisation's lists (blocked senders, watched addresses, high-risk HS codes…) that criteria read as `lists.<name>`. */
export function FraudListsPage() {
  const lists = useQuery(fraudListsQuery);
  const [open, setOpen] = useState<string>();
  return (
    <section>
      <FraudTabs />
      <header className="page-head">
        <h1>Lists</h1>
      </header>
      <p className="muted page-help">
        Criteria test a value against a list with <code>shipment.sender_id in lists.blocked_senders</code>.
      </p>
      <ErrorNote message={loadErrorMessage(lists.error, 'Lists')} />
      {lists.data && lists.data.length > 0 && (
        <table className="lists-table">
          <TableHead columns={['List', 'Items', 'Used by', 'Updated']} />
          <tbody>
            {lists.data.map((l) => (
              <tr key={l.name} data-list={l.name}>
                <td>
                  <span className="mono">{l.name}</span>
                  {l.description && <div className="muted">{l.description}</div>}
                </td>
                <td className="num">{l.item_count}</td>
                <td>{l.used_by.map((c) => c.name).join(', ') || <span className="muted">—</span>}</td>
                <td>
                  <RelativeTime iso={l.updated_at} past />
                  {l.updated_by && <span className="muted"> by {l.updated_by}</span>}
                </td>
                <td className="alert-actions">
                  <button type="button" className="button small" onClick={() => setOpen(l.name)}>
                    Edit
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {lists.data?.length === 0 && <p className="muted">No lists yet.</p>}
      {open && <OpenList key={open} name={open} onClose={() => setOpen(undefined)} />}
      <NewList />
    </section>
  );
}
