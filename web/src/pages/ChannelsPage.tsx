import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Fragment, useEffect, useRef, useState, type FormEvent } from 'react';
import { channelForms, type ChannelKind } from '@contracts/notify.js';
import { api, type Channel, type ChannelInput } from '../api';
import { CopyButton } from '../components/CopyButton';
import { ErrorNote } from '../components/ErrorNote';
import { RelativeTime } from '../components/RelativeTime';
import { formatDateTime } from '../format';
import { useAction } from '../hooks';
import { useLiveEvent } from '../live';
import { channelsQuery, deliveriesQuery } from '../queries';
import { channelOfEvent, deliveryOfEvent, patchDelivery, replaceChannel, resendable } from '../channels';

/** The kinds and their forms come from the server's contract: a new kind shows up here without a change. */
const KINDS = Object.keys(channelForms) as ChannelKind[];

/** Where a channel delivers, for the list. */
const target = (channel: Channel): string => channel.to?.join(', ') ?? channel.url ?? '';

function AddChannel({ onAdded }: { onAdded: (channel: Channel) => void }) {
  const [kind, setKind] = useState<ChannelKind>('webhook');
  const [name, setName] = useState('');
  // Values by field key; a key shared by two kinds (url) keeps its value when the kind changes.
  const [values, setValues] = useState<Record<string, string>>({});
  const add = useAction();
  const form = channelForms[kind];

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const fields: Record<string, string> = {};
    for (const field of form.fields) {
      const value = (values[field.key] ?? '').trim();
      if (value || field.required) fields[field.key] = value;
    }
    // Assembled from the kind's form fields; the server validates it against the same contract.
    const input = { kind, ...(name.trim() ? { name: name.trim() } : {}), ...fields } as ChannelInput;
    void add.run(async () => {
      onAdded(await api.createChannel(input));
      setName('');
      setValues({});
    });
  };

  return (
    <form className="card channel-form" onSubmit={submit}>
      <h2>Add a channel</h2>
      <div className="field-row">
        <div className="field">
          <label htmlFor="channel-kind">Kind</label>
          <select id="channel-kind" value={kind} onChange={(e) => setKind(e.target.value as ChannelKind)}>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {channelForms[k].label}
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
        {form.fields.map((field, i) => (
          <div key={field.key} className={i === 0 ? 'field grow' : 'field'}>
            <label htmlFor={`channel-${field.key}`}>{field.label}</label>
            <input
              id={`channel-${field.key}`}
              type={field.input}
              className={field.mono ? 'mono' : undefined}
              required={field.required}
              value={values[field.key] ?? ''}
              onChange={(e) => setValues((v) => ({ ...v, [field.key]: e.target.value }))}
              placeholder={field.placeholder}
            />
          </div>
        ))}
      </div>
      {form.hint && <p className="hint">{form.hint}</p>}
      <ErrorNote message={add.error?.message} />
      <div>
        <button type="submit" className="button primary" disabled={add.busy}>
          Add channel
        </button>
      </div>
    </form>
  );
}

/**
 * The last notifications sent to a channel, with each attempt: shows why a delivery failed, when
 * the next attempt is due, and re-sends one (kept up to date by `delivery` live events).
 */
function Deliveries({ channel }: { channel: Channel }) {
  const deliveries = useQuery(deliveriesQuery(channel.id));
  const client = useQueryClient();
  const resend = useAction();
  if (deliveries.error) return <ErrorNote message={deliveries.error.message} />;
  if (!deliveries.data) return <p className="muted">Loading…</p>;
  if (deliveries.data.length === 0) return <p className="muted">Nothing sent to this channel yet.</p>;
  const again = (id: string) =>
    void resend.run(async () => {
      const state = await api.resendDelivery(id);
      const key = deliveriesQuery(channel.id).queryKey;
      client.setQueryData(key, (list) => patchDelivery(list, state).list);
    });
  return (
    <div>
      <button type="button" className="button small" onClick={() => void deliveries.refetch()}>
        Refresh
      </button>
      <ErrorNote message={resend.error?.message} />
      <ul className="deliveries">
        {deliveries.data.map((d) => (
          <li key={d.id} data-delivery={d.id}>
            <span className={`delivery delivery-${d.status}`}>{d.status}</span>
            <span>{d.title}</span>
            <span className="muted" title={formatDateTime(d.created_at)}>
              <RelativeTime iso={d.created_at} past />, {d.attempt_count} attempt{d.attempt_count === 1 ? '' : 's'}
              {d.status === 'pending' && d.next_attempt_at && (
                <>
                  , next <RelativeTime iso={d.next_attempt_at} />
                </>
              )}
            </span>
            {d.last_error && <span className="field-error">{d.last_error}</span>}
            {resendable(d) && (
              <button
                type="button"
                className="button small"
                disabled={resend.busy || Boolean(channel.disabled_at)}
                title={channel.disabled_at ? 'Re-enable the channel first' : 'Queue this notification again'}
                onClick={() => again(d.id)}
              >
                Re-send
              </button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Coalesces refetches of a channel's deliveries (with their attempts) after bursts of `delivery` events. */
const DELIVERY_REFETCH_MS = 500;

/** Keeps the channels and their shown deliveries current from `channel` and `delivery` live events. */
function useChannelsLive() {
  const client = useQueryClient();
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  useEffect(() => {
    const pending = timers.current;
    return () => {
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
    };
  }, []);
  useLiveEvent('channel', (data) => {
    const channel = channelOfEvent(data);
    if (channel) client.setQueryData(channelsQuery.queryKey, (list) => replaceChannel(list, channel));
  });
  useLiveEvent('delivery', (data) => {
    const event = deliveryOfEvent(data);
    if (!event) return;
    const key = deliveriesQuery(event.channel_id).queryKey;
    const patched = patchDelivery(client.getQueryData(key), event);
    if (patched.found) client.setQueryData(key, patched.list);
    if (timers.current.has(event.channel_id)) return;
    timers.current.set(
      event.channel_id,
      setTimeout(() => {
        timers.current.delete(event.channel_id);
        void client.invalidateQueries({ queryKey: key, exact: true });
      }, DELIVERY_REFETCH_MS),
    );
  });
}

export function ChannelsPage() {
  const channels = useQuery(channelsQuery);
  const client = useQueryClient();
  const rowAction = useAction();
  const [notice, setNotice] = useState<{ text: string; secret?: string }>();
  const [open, setOpen] = useState<string>();
  useChannelsLive();

  const enable = (channel: Channel) =>
    void rowAction.run(async () => {
      const enabled = await api.enableChannel(channel.id);
      client.setQueryData(channelsQuery.queryKey, (list) => replaceChannel(list, enabled));
      setNotice({ text: `${channel.name || target(channel)} is enabled again. Its skipped notifications can be re-sent under Deliveries.` });
      setOpen(channel.id);
    });

  const remove = (channel: Channel) => {
    if (!window.confirm(`Delete the ${channelForms[channel.kind].label} channel ${channel.name || target(channel)}?`)) return;
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
        <p className="muted">Alerts go to the channels each check names, retried for about a day. A channel that keeps failing is disabled until re-enabled.</p>
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
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {channels.data.map((c) => (
              <Fragment key={c.id}>
                <tr>
                  <td>{channelForms[c.kind].label}</td>
                  <td>{c.name || <span className="muted">—</span>}</td>
                  <td className="mono ellipsis" title={target(c)}>
                    {target(c)}
                  </td>
                  <td>
                    <RelativeTime iso={c.created_at} past />
                  </td>
                  <td>{c.disabled_at ? <span className="delivery channel-disabled">disabled</span> : <span className="muted">enabled</span>}</td>
                  <td className="right">
                    <div className="actions">
                      {c.disabled_at && (
                        <button type="button" className="button small primary" onClick={() => enable(c)}>
                          Re-enable
                        </button>
                      )}
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
                {c.disabled_at && (
                  <tr className="output-row">
                    <td colSpan={6}>
                      <p className="warning" role="note">
                        Disabled <RelativeTime iso={c.disabled_at} past />: {c.disabled_reason ?? 'its deliveries kept failing'}. Nothing is sent to it until it is
                        re-enabled; its notifications are kept as skipped.
                      </p>
                    </td>
                  </tr>
                )}
                {open === c.id && (
                  <tr className="output-row">
                    <td colSpan={6}>
                      <Deliveries channel={c} />
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
