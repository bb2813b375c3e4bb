import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { alertsApi, loadErrorMessage, matcherText, silenceLength, sortSilences, type SilenceView } from '../alerts';
import { ErrorNote } from '../components/ErrorNote';
import { MuteWindows } from '../components/MuteWindows';
import { RelativeTime } from '../components/RelativeTime';
import { SilenceForm } from '../components/SilenceForm';
import { formatDateTime, formatRange } from '../format';
import { useAction } from '../hooks';
import { silencesQuery } from '../queries';
import { TableHead } from '../components/TableHead';

type Tab = SilenceView['state'];
const TABS: { id: Tab; label: string }[] = [
  { id: 'active', label: 'Active' },
  { id: 'pending', label: 'Pending' },
  { id: 'expired', label: 'Expired' },
];

function SilenceRow({ silence, onExpire, busy }: { silence: SilenceView; onExpire: (s: SilenceView) => void; busy: boolean }) {
  return (
    <tr data-silence-id={silence.id} data-state={silence.state}>
      <td>
        <ul className="matchers">
          {silence.matchers.map((m, i) => (
            <li key={i} className="mono label-chip">
              {matcherText(m)}
            </li>
          ))}
        </ul>
      </td>
      <td>
        <span title={formatRange(silence.starts_at, silence.ends_at)}>
          {silence.state === 'pending' ? (
            <>
              starts <RelativeTime iso={silence.starts_at} />
            </>
          ) : silence.state === 'active' ? (
            <>
              ends <RelativeTime iso={silence.ends_at} />
            </>
          ) : (
            <>
              ended <RelativeTime iso={silence.ends_at} past />
            </>
          )}
        </span>
        <p className="muted small">
          {formatDateTime(silence.starts_at)}, for {silenceLength(silence)}
        </p>
      </td>
      <td>{silence.comment || <span className="muted">no comment</span>}</td>
      <td className="muted">{silence.created_by ?? '—'}</td>
      <td>
        {silence.state !== 'expired' && (
          <button type="button" className="button small" disabled={busy} onClick={() => onExpire(silence)}>
            Expire
          </button>
        )}
      </td>
    </tr>
  );
}

/** Silences: which alerts are not notified, and until when; created here or in one click from an alert. */
export function SilencesPage() {
  const client = useQueryClient();
  const silences = useQuery(silencesQuery);
  const [tab, setTab] = useState<Tab>('active');
  const [notice, setNotice] = useState<string>();
  const [created, setCreated] = useState(0);
  const expire = useAction();
  const sorted = sortSilences(silences.data ?? []);
  const shown = sorted.filter((s) => s.state === tab);
  const count = (state: Tab) => sorted.filter((s) => s.state === state).length;

  const onExpire = (silence: SilenceView) => {
    if (!window.confirm(`Expire the silence ${silence.matchers.map(matcherText).join(', ')}? Matching alerts will be notified again.`)) return;
    setNotice(undefined);
    void expire.run(async () => {
      await alertsApi.expireSilence(silence.id);
      await client.invalidateQueries({ queryKey: silencesQuery.queryKey });
      void client.invalidateQueries({ queryKey: ['alerts'] });
    });
  };

  return (
    <section>
      <header className="page-head">
        <h1>Silences</h1>
      </header>
      <p className="muted page-help">
        A silence stops notifications for the alerts whose labels match all of its matchers, between its start and its end. Alerts still change state and show on the Alerts page, marked silenced.
      </p>
      <ErrorNote message={loadErrorMessage(silences.error, 'Silences') ?? expire.error?.message} />
      {notice && (
        <div className="notice" role="status">
          <p>{notice}</p>
        </div>
      )}
      <div className="chips" role="group" aria-label="Silence state">
        {TABS.map((t) => (
          <button type="button" key={t.id} className={`chip${t.id === tab ? ' chip-on' : ''}`} aria-pressed={t.id === tab} onClick={() => setTab(t.id)}>
            {t.label} ({count(t.id)})
          </button>
        ))}
      </div>
      {silences.data && shown.length === 0 && <p className="muted">No {tab} silence.</p>}
      {shown.length > 0 && (
        <table className="silences-table">
          <TableHead columns={['Matchers', 'When', 'Comment', 'By']} />
          <tbody>
            {shown.map((s) => (
              <SilenceRow key={s.id} silence={s} onExpire={onExpire} busy={expire.busy} />
            ))}
          </tbody>
        </table>
      )}
      <div className="card silence-new">
        <h2>New silence</h2>
        {/* Keyed by the number created: after one is created the form starts empty again. */}
        <SilenceForm
          key={created}
          idPrefix="new-silence"
          onCreated={(s) => {
            client.setQueryData(silencesQuery.queryKey, (list) => (list ? [...list.filter((x) => x.id !== s.id), s] : [s]));
            void client.invalidateQueries({ queryKey: ['alerts'] });
            setTab(s.state);
            setNotice('Silence created.');
            setCreated((n) => n + 1);
          }}
        />
      </div>
      <MuteWindows />
    </section>
  );
}
