import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { USER_ROLES, adminApi, type CreatedInvitation, type MemberView, type UserRole } from '../admin';
import { CopyButton } from '../components/CopyButton';
import { ErrorNote } from '../components/ErrorNote';
import { RelativeTime } from '../components/RelativeTime';
import { useAction } from '../hooks';
import { meQuery } from '../queries';

function RoleSelect({ id, value, onChange, disabled }: { id: string; value: UserRole; onChange: (r: UserRole) => void; disabled?: boolean }) {
  return (
    <select id={id} value={value} disabled={disabled} onChange={(e) => onChange(e.target.value as UserRole)}>
      {USER_ROLES.map((r) => (
        <option key={r.id} value={r.id} title={r.help}>
          {r.label}
        </option>
      ))}
    </select>
  );
}

/**
 * An organisation's users and pending invitations: invite by e-mail (the link is shown when it
 * could not be e-mailed), or add with an initial password; change roles; remove. `orgId` absent:
 * the signed-in user's own organisation.
 */
export function MembersPage({ orgId }: { orgId?: string }) {
  const client = useQueryClient();
  const me = useQuery(meQuery).data;
  const id = orgId ?? me?.org.id;
  const key = ['members', id] as const;
  const members = useQuery({ queryKey: key, queryFn: () => adminApi.members(id ?? ''), enabled: Boolean(id) });
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<UserRole>('analyst');
  const [password, setPassword] = useState('');
  const [invited, setInvited] = useState<CreatedInvitation>();
  const add = useAction();
  const row = useAction();
  const refresh = () => client.invalidateQueries({ queryKey: key });
  if (!id) return null;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setInvited(undefined);
    void add.run(async () => {
      if (password) await adminApi.addMember(id, { email, role, password });
      else setInvited(await adminApi.invite(id, { email, role }));
      setEmail('');
      setPassword('');
      await refresh();
    });
  };
  const changeRole = (m: MemberView, next: UserRole) =>
    void row.run(async () => {
      await adminApi.changeRole(id, m.user_id, next);
      await refresh();
    });
  const remove = (m: MemberView) => {
    if (!window.confirm(`Remove ${m.email} from this organisation?`)) return;
    void row.run(async () => {
      await adminApi.removeMember(id, m.user_id);
      await refresh();
    });
  };
  const revoke = (invitationId: string) =>
    void row.run(async () => {
      await adminApi.revokeInvitation(id, invitationId);
      await refresh();
    });

  return (
    <section>
      <header className="page-head">
        <h1>Members{orgId && orgId !== me?.org.id ? '' : ` of ${me?.org.name ?? ''}`}</h1>
        <p className="muted">Admins manage members and API keys; analysts read and change monitoring; read-only users read.</p>
      </header>
      <form className="card" onSubmit={submit}>
        <h2>Invite someone</h2>
        <div className="field-row">
          <div className="field grow">
            <label htmlFor="member-email">E-mail</label>
            <input id="member-email" type="email" required maxLength={320} value={email} onChange={(e) => setEmail(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="member-role">Role</label>
            <RoleSelect id="member-role" value={role} onChange={setRole} />
          </div>
          <div className="field">
            <label htmlFor="member-password">Initial password</label>
            <input
              id="member-password"
              type="password"
              autoComplete="new-password"
              minLength={8}
              placeholder="empty: send an invitation link"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </div>
        </div>
        <ErrorNote message={add.error?.message} />
        <button type="submit" className="button primary" disabled={add.busy}>
          {password ? 'Add with this password' : 'Send invitation'}
        </button>
      </form>
      {invited && (
        <div className="notice" role="status">
          {invited.emailed ? (
            <p>Invitation e-mailed to {invited.email}.</p>
          ) : (
            <>
              <p>
                Invitation for {invited.email} not e-mailed ({invited.email_error}). Pass this link on; it works once, until {new Date(invited.expires_at).toLocaleString()}:
              </p>
              <p>
                <code className="invitation-url">{invited.url}</code> {invited.url && <CopyButton text={invited.url} />}
              </p>
            </>
          )}
        </div>
      )}
      <ErrorNote message={members.error?.message ?? row.error?.message} />
      {members.data && (
        <>
          <table className="members-table">
            <thead>
              <tr>
                <th>E-mail</th>
                <th>Role</th>
                <th>Since</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {members.data.members.map((m) => (
                <tr key={m.user_id} data-member={m.email}>
                  <td>
                    {m.email} {m.platform_admin && <span className="muted">(platform admin)</span>}
                  </td>
                  <td>
                    <RoleSelect id={`role-${m.user_id}`} value={m.role} disabled={row.busy} onChange={(r) => changeRole(m, r)} />
                  </td>
                  <td>
                    <RelativeTime iso={m.created_at} past />
                  </td>
                  <td className="right">
                    <button type="button" className="button small danger" disabled={row.busy} onClick={() => remove(m)}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {members.data.invitations.length > 0 && (
            <>
              <h2>Pending invitations</h2>
              <table className="invitations-table">
                <thead>
                  <tr>
                    <th>E-mail</th>
                    <th>Role</th>
                    <th>Invited by</th>
                    <th>Expires</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {members.data.invitations.map((i) => (
                    <tr key={i.id} data-invitation={i.email}>
                      <td>{i.email}</td>
                      <td>{i.role}</td>
                      <td className="muted">{i.invited_by}</td>
                      <td>
                        <RelativeTime iso={i.expires_at} />
                      </td>
                      <td className="right">
                        <button type="button" className="button small" disabled={row.busy} onClick={() => revoke(i.id)}>
                          Revoke
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}
    </section>
  );
}
