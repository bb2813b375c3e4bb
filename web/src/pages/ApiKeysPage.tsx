import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { adminApi, type ApiKeyView, type CreatedApiKey, type MemberRole } from '../admin';
import { CopyButton } from '../components/CopyButton';
import { ErrorNote } from '../components/ErrorNote';
import { RelativeTime } from '../components/RelativeTime';
import { useAction } from '../hooks';

const keysKey = ['api-keys'] as const;
const KEY_ROLES: { id: MemberRole; label: string }[] = [
  { id: 'admin', label: 'Admin' },
  { id: 'member', label: 'Analyst (member)' },
  { id: 'read-only', label: 'Read-only' },
];

/** The organisation's API keys (its admins): created with the secret shown once, listed by prefix, revoked. */
export function ApiKeysPage() {
  const client = useQueryClient();
  const keys = useQuery({ queryKey: keysKey, queryFn: adminApi.listApiKeys });
  const [name, setName] = useState('');
  const [role, setRole] = useState<MemberRole>('member');
  const [created, setCreated] = useState<CreatedApiKey>();
  const create = useAction();
  const row = useAction();
  const refresh = () => client.invalidateQueries({ queryKey: keysKey });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void create.run(async () => {
      setCreated(await adminApi.createApiKey(name.trim(), role));
      setName('');
      await refresh();
    });
  };
  const revoke = (key: ApiKeyView) => {
    if (!window.confirm(`Revoke ${key.name}? Anything using it stops working at once.`)) return;
    void row.run(async () => {
      await adminApi.revokeApiKey(key.id);
      if (created?.id === key.id) setCreated(undefined);
      await refresh();
    });
  };

  return (
    <section>
      <header className="page-head">
        <h1>API keys</h1>
        <p className="muted">Keys let scripts, agents and CI use the API as this organisation. A key is shown once, when it is created.</p>
      </header>
      <form className="card" onSubmit={submit}>
        <h2>Create a key</h2>
        <div className="field-row">
          <div className="field grow">
            <label htmlFor="key-name">Name</label>
            <input id="key-name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. ci, log shipper" />
          </div>
          <div className="field">
            <label htmlFor="key-role">Role</label>
            <select id="key-role" value={role} onChange={(e) => setRole(e.target.value as MemberRole)}>
              {KEY_ROLES.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.label}
                </option>
              ))}
            </select>
          </div>
        </div>
        <ErrorNote message={create.error?.message} />
        <button type="submit" className="button primary" disabled={create.busy}>
          Create key
        </button>
      </form>
      {created && (
        <div className="notice" role="status">
          <p>Key {created.name} created. Copy it now: it is not shown again.</p>
          <p>
            <code className="new-api-key">{created.key}</code> <CopyButton text={created.key} />
          </p>
        </div>
      )}
      <ErrorNote message={keys.error?.message ?? row.error?.message} />
      {keys.data && keys.data.length === 0 && <p className="muted">No API key yet.</p>}
      {keys.data && keys.data.length > 0 && (
        <table className="api-keys-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Key</th>
              <th>Role</th>
              <th>Created</th>
              <th>Last used</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.id} data-key-name={k.name}>
                <td>{k.name}</td>
                <td className="mono">{k.prefix}…</td>
                <td>{k.role === 'member' ? 'analyst' : k.role}</td>
                <td>
                  <RelativeTime iso={k.created_at} past />
                </td>
                <td>
                  <RelativeTime iso={k.last_used_at} past />
                </td>
                <td className="right">
                  <button type="button" className="button small danger" disabled={row.busy} onClick={() => revoke(k)}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
