import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState, type FormEvent } from 'react';
import { adminApi, type OrgView } from '../admin';
import { ErrorNote } from '../components/ErrorNote';
import { RelativeTime } from '../components/RelativeTime';
import { ShipmentWatchers } from '../components/ShipmentWatchers';
import { useAction } from '../hooks';
import { meQuery } from '../queries';

const orgsKey = ['orgs'] as const;

/** Platform administrators: the customer organisations, created, renamed and removed here; each one's members a click away. */
export function OrganisationsPage() {
  const client = useQueryClient();
  const me = useQuery(meQuery).data;
  const orgs = useQuery({ queryKey: orgsKey, queryFn: adminApi.listOrgs, enabled: me?.platform_admin === true });
  const [name, setName] = useState('');
  const create = useAction();
  const row = useAction();
  const refresh = () => client.invalidateQueries({ queryKey: orgsKey });

  if (me && !me.platform_admin) return <p className="muted">Only platform administrators manage organisations.</p>;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void create.run(async () => {
      await adminApi.createOrg(name.trim());
      setName('');
      await refresh();
    });
  };
  const rename = (org: OrgView) => {
    const next = window.prompt(`New name for ${org.name}`, org.name)?.trim();
    if (!next || next === org.name) return;
    void row.run(async () => {
      await adminApi.renameOrg(org.id, next);
      await refresh();
    });
  };
  const remove = (org: OrgView) => {
    if (!window.confirm(`Remove ${org.name} and everything in it (checks, logs, alerts, members)? This cannot be undone.`)) return;
    void row.run(async () => {
      await adminApi.removeOrg(org.id);
      await refresh();
    });
  };

  return (
    <section>
      <header className="page-head">
        <h1>Organisations</h1>
        <p className="muted">Each customer is an organisation: its users, keys and data are its own.</p>
      </header>
      <form className="card" onSubmit={submit}>
        <h2>Create an organisation</h2>
        <div className="field-row">
          <div className="field grow">
            <label htmlFor="org-name">Name</label>
            <input id="org-name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
          </div>
        </div>
        <ErrorNote message={create.error?.message} />
        <button type="submit" className="button primary" disabled={create.busy}>
          Create
        </button>
      </form>
      <ErrorNote message={orgs.error?.message ?? row.error?.message} />
      {orgs.data && (
        <table className="orgs-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Members</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {orgs.data.map((o) => (
              <tr key={o.id} data-org-id={o.id}>
                <td>
                  {o.name} {o.id === me?.org.id && <span className="muted">(yours)</span>}
                </td>
                <td>{o.members}</td>
                <td>
                  <RelativeTime iso={o.created_at} past />
                </td>
                <td className="right">
                  <div className="actions">
                    <Link className="button small" to="/orgs/$id/members" params={{ id: o.id }}>
                      Members
                    </Link>
                    <button type="button" className="button small" disabled={row.busy} onClick={() => rename(o)}>
                      Rename
                    </button>
                    {o.id !== me?.org.id && (
                      <button type="button" className="button small danger" disabled={row.busy} onClick={() => remove(o)}>
                        Remove
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {me?.platform_admin && <ShipmentWatchers orgNames={new Map((orgs.data ?? []).map((o) => [o.id, o.name]))} />}
    </section>
  );
}
