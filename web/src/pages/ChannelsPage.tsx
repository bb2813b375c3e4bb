import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Fragment, useState, type FormEvent } from 'react';
import { api, type Channel, type ChannelInput } from '../api';
import { CopyButton } from '../components/CopyButton';
import { ErrorNote } from '../components/ErrorNote';
import { RelativeTime } from '../components/RelativeTime';
import { formatDateTime } from '../format';
import { useAction } from '../hooks';
import { channelsQuery, deliveriesQuery } from '../queries';

type Kind = ChannelInput['kind'];

const KIND_LABEL: Record<Kind, string> = { webhook: 'Webhook', email: 'E-mail', slack: 'Slack-compatible' };

/** Where a channel delivers, for the list. */
const target = (channel: Channel): string => channel.to?.join(', ') ?? channel.url ?? '';

function AddChannel({ onAdded }: { onAdded: (channel: Channel) => void }) {
  const [kind, setKind] = useState<Kind>('webhook');
  const [name, setName] = useState('');
  const [address, setAddress] = useState('');
  const [secret, setSecret] = useState('');
  const add = useAction();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const value = address.trim();
    const named = name.trim() ? { name: name.trim() } : {};
    const input: ChannelInput =
      kind === 'email'
        ? { kind, ...named, to: value }
        : kind === 'slack'
          ? { kind, ...named, url: value }
          : { kind, ...named, url: value, ...(secret.trim() ? { secret: secret.trim() } : {}) };
    void add.run(async () => {
      onAdded(await api.createChannel(input));
      setName('');
      setAddress('');
      setSecret('');
    });
  };

  return (
    <form className="card channel-form" onSubmit={submit}>
      <h2>Add a channel</h2>
      <div className="field-row">
        <div className="field">
          <label htmlFor="channel-kind">Kind</label>
          <select id="channel-kind" value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
            {(Object.keys(KIND_LABEL) as Kind[]).map((k) => (
              <option key={k} value={k}>
                {KIND_LABEL[k]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="channel-name">Name</label>
          <input id="channel-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="optional" maxLength={100} />
        </div>
      </div>
      <div className="field-row">
        <div className="field grow">
          <label htmlFor="channel-address">{kind === 'email' ? 'E-mail addresses' : kind === 'slack' ? 'Incoming webhook URL' : 'URL'}</label>
          <input
            id="channel-address"
            type={kind === 'email' ? 'text' : 'url'}
            required
            value={address}
            onChange={(e) => setAddress(e.target.value)}
            placeholder={kind === 'email' ? 'ops@example.com, oncall@example.com' : kind === 'slack' ? 'https://hooks.slack.com/services/…' : 'https://example.com/vigil-hook'}
          />
        </div>
        {kind === 'webhook' && (
          <div className="field">
            <label htmlFor="channel-secret">Signing secret</label>
            <input id="channel-secret" className="mono" value={secret} onChange={(e) => setSecret(e.target.value)} placeholder="whsec_… (generated when empty)" />
          </div>
        )}
      </div>
      {kind === 'webhook' && (
        <p className="hint">
          Deliveries are signed the Standard Webhooks way (<code>webhook-id</code>, <code>webhook-timestamp</code>, <code>webhook-signature</code>), so any Standard
          Webhooks library verifies them.
        </p>
      )}
      <ErrorNote message={add.error?.message} />
      <div>
        <button type="submit" className="button primary" disabled={add.busy}>
          Add channel
        </button>
      </div>
    </form>
  );
}

/** The last notifications sent to a channel, with each attempt: shows why a delivery failed. */
function Deliveries({ channelId }: { channelId: string }) {
  const deliveries = useQuery(deliveriesQuery(channelId));
  if (deliveries.error) return <ErrorNote message={deliveries.error.message} />;
  if (!deliveries.data) return <p className="muted">Loading…</p>;
  if (deliveries.data.length === 0) return <p className="muted">Nothing sent to this channel yet.</p>;
  return (
    <div>
      <button type="button" className="button small" onClick={() => void deliveries.refetch()}>
        Refresh
      </button>
      <ul className="deliveries">
        {deliveries.data.map((d) => (
          <li key={d.id}>
            <span className={`delivery delivery-${d.status}`}>{d.status}</span>
            <span>{d.title}</span>
            <span className="muted" title={formatDateTime(d.created_at)}>
              <RelativeTime iso={d.created_at} past />, {d.attempt_count} attempt{d.attempt_count === 1 ? '' : 's'}
            </span>
            {d.last_error && <span className="field-error">{d.last_error}</span>}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function ChannelsPage() {
  const channels = useQuery(channelsQuery);
  const client = useQueryClient();
  const rowAction = useAction();
  const [notice, setNotice] = useState<{ text: string; secret?: string }>();
  const [open, setOpen] = useState<string>();

  const remove = (channel: Channel) => {
    if (!window.confirm(`Delete the ${KIND_LABEL[channel.kind]} channel ${channel.name || target(channel)}?`)) return;
    void rowAction.run(async () => {
      await api.deleteChannel(channel.id);
      client.setQueryData(channelsQuery.queryKey, (list) => list?.filter((c) => c.id !== channel.id));
    });
  };

  const test = (channel: Channel) =>
    void rowAction.run(async () => {
      await api.testChannel(channel.id);
      void client.invalidateQueries({ queryKey: deliveriesQuery(channel.id).queryKey });
      setNotice({ text: `A test notification is queued for ${channel.name || target(channel)}; its delivery shows under Deliveries.` });
      setOpen(channel.id);
    });

  return (
    <section>
      <header className="page-head">
        <h1>Channels</h1>
        <p className="muted">Every alert of this organisation is sent to each channel below, with retries until delivered.</p>
      </header>
      <ErrorNote message={channels.error?.message ?? rowAction.error?.message} />
      {notice && (
        <div className="notice" role="status">
          <p>{notice.text}</p>
          {notice.secret && (
            <p>
              Signing secret (shown once, keep it for verifying deliveries): <code>{notice.secret}</code> <CopyButton text={notice.secret} />
            </p>
          )}
        </div>
      )}
      {channels.data && channels.data.length === 0 && <p className="muted">No channel yet: alerts are recorded but nobody is told.</p>}
      {channels.data && channels.data.length > 0 && (
        <table className="channels-table">
          <thead>
            <tr>
              <th>Kind</th>
              <th>Name</th>
              <th>Delivers to</th>
              <th>Added</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {channels.data.map((c) => (
              <Fragment key={c.id}>
                <tr>
                  <td>{KIND_LABEL[c.kind]}</td>
                  <td>{c.name || <span className="muted">—</span>}</td>
                  <td className="mono ellipsis" title={target(c)}>
                    {target(c)}
                  </td>
                  <td>
                    <RelativeTime iso={c.created_at} past />
                  </td>
                  <td className="right">
                    <div className="actions">
                      <button type="button" className="button small" aria-expanded={open === c.id} onClick={() => setOpen(open === c.id ? undefined : c.id)}>
                        Deliveries
                      </button>
                      <button type="button" className="button small" onClick={() => test(c)}>
                        Send test
                      </button>
                      <button type="button" className="button small danger" onClick={() => remove(c)}>
                        Delete
                      </button>
                    </div>
                  </td>
                </tr>
                {open === c.id && (
                  <tr className="output-row">
                    <td colSpan={5}>
                      <Deliveries channelId={c.id} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      <AddChannel
        onAdded={(channel) => {
          void client.invalidateQueries({ queryKey: channelsQuery.queryKey });
          setNotice({ text: `Channel added: ${channel.name || target(channel)}.`, secret: channel.kind === 'webhook' ? channel.secret : undefined });
        }}
      />
    </section>
  );
}
