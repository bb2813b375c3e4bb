import { useState, type FormEvent } from 'react';
import { adminApi, invitationToken } from '../admin';
import { ErrorNote } from '../components/ErrorNote';
import { useAction } from '../hooks';

/**
 * `/accept-invitation#token=…`: the invited person chooses a password; the server signs them in
 * (sets the session cookies) and `onAccepted` shows the dashboard. Shown whether or not someone is
 * signed in on this browser: accepting replaces that session.
 */
export function AcceptInvitationPage({ onAccepted }: { onAccepted: () => void }) {
  const [token] = useState(() => invitationToken(window.location.hash));
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const accept = useAction();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    if (password !== repeat) {
      accept.setError(new Error('The two passwords differ.'));
      return;
    }
    void accept.run(async () => {
      await adminApi.acceptInvitation(token, password);
      // The token is used up: keep it out of the address bar and the history.
      window.history.replaceState(null, '', '/checks');
      onAccepted();
    });
  };

  return (
    <main className="login">
      <form className="card login-card" onSubmit={submit}>
        <h1>
          <span className="logo-dot" aria-hidden="true" /> Vigil
        </h1>
        {!token ? (
          <p className="error-note" role="alert">
            This invitation link is incomplete: open the whole link from your invitation e-mail.
          </p>
        ) : (
          <>
            <p className="muted">You are invited. Choose a password to sign in.</p>
            <label htmlFor="invite-password">Password (at least 8 characters)</label>
            <input id="invite-password" type="password" autoComplete="new-password" minLength={8} required value={password} onChange={(e) => setPassword(e.target.value)} autoFocus />
            <label htmlFor="invite-repeat">Password again</label>
            <input id="invite-repeat" type="password" autoComplete="new-password" minLength={8} required value={repeat} onChange={(e) => setRepeat(e.target.value)} />
            <ErrorNote message={accept.error?.message} />
            <button type="submit" className="button primary" disabled={accept.busy}>
              {accept.busy ? 'Joining…' : 'Join and sign in'}
            </button>
          </>
        )}
      </form>
    </main>
  );
}
