import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { useEffect, useState, type FormEvent } from 'react';
import { formatDateTime } from '../format';
import { api, fieldMessage, type CheckInput, type CheckView } from '../api';
import { DurationInput } from '../components/DurationInput';
import { ErrorNote } from '../components/ErrorNote';
import { Field } from '../components/Field';
import { TimeZoneSelect } from '../components/TimeZoneSelect';
import { EXACT } from '../router-links';
import { useAction } from '../hooks';
import { channelsQuery, checkQuery, storeCheck } from '../queries';
import { channelChoiceValue, parseChannelChoice, toggleChannel } from '../check-channels';
import { channelForms } from '@contracts/notify.js';
import { browserZone } from '../zones';

const DEFAULTS: CheckInput = {
  name: '',
  tags: [],
  description: '',
  kind: 'simple',
  timeout: 86400,
  grace: 3600,
  schedule: '0 2 * * *',
  tz: browserZone,
  max_runtime: null,
  min_runtime: null,
  failure_threshold: 1,
  realert: null,
  manual_resume: false,
  channels: '*',
};

function draftOf(check: CheckView): CheckInput {
  const { name, slug, tags, description, kind, timeout, grace, schedule, tz, max_runtime, min_runtime, failure_threshold, realert, manual_resume, channels } = check;
  return { name, slug, tags, description, kind, timeout, grace, schedule, tz, max_runtime, min_runtime, failure_threshold, realert, manual_resume, channels };
}

/** The schedule as the server reads it, in words with its next run, while it is typed (debounced). */
function SchedulePreviewLine({ schedule, tz }: { schedule: string; tz: string }) {
  const [preview, setPreview] = useState<{ text: string; next?: string; error?: boolean }>();
  useEffect(() => {
    const text = schedule.trim();
    if (!text) return setPreview(undefined);
    const abort = new AbortController();
    const timer = setTimeout(() => {
      api.previewSchedule(text, tz, abort.signal).then(
        (p) => setPreview({ text: p.text, next: p.next[0] }),
        (error: unknown) => {
          if (!abort.signal.aborted) setPreview({ text: fieldMessage(error, 'schedule', 'tz') ?? 'Not a valid schedule.', error: true });
        },
      );
    }, 300);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [schedule, tz]);
  if (!preview) return null;
  return (
    <p className={preview.error ? 'field-error schedule-preview' : 'schedule-preview'} aria-live="polite">
      {preview.text}
      {preview.next && <> — next: {formatDateTime(preview.next)}</>}
    </p>
  );
}

/**
 * Which channels the check's alerts go to: all of the organisation's (now and later) or a
 * checklist. With no channel at all, says so and links to the channels page.
 */
function ChannelsField({ value, onChange, error }: { value: string; onChange: (value: string) => void; error?: string | undefined }) {
  const channels = useQuery(channelsQuery);
  const choice = parseChannelChoice(value);
  const chosen = new Set(choice.all ? [] : choice.ids);
  return (
    <fieldset className="check-channels">
      <legend>Notifications</legend>
      <ErrorNote message={channels.error?.message} />
      {channels.data?.length === 0 && (
        <p className="warning" role="note">
          This organisation has no channel yet: this check's alerts are recorded but nobody is told. <Link to="/channels">Add a channel</Link>.
        </p>
      )}
      <label className="radio">
        <input type="radio" name="channels" checked={choice.all} onChange={() => onChange('*')} />
        All channels (those added later too)
      </label>
      <label className="radio">
        <input type="radio" name="channels" checked={!choice.all} onChange={() => onChange(channelChoiceValue({ all: false, ids: [] }))} />
        Only these channels:
      </label>
      {channels.data && channels.data.length > 0 && (
        <ul className="channel-checklist">
          {channels.data.map((c) => (
            <li key={c.id}>
              <label className="checkbox">
                <input
                  type="checkbox"
                  checked={chosen.has(c.id)}
                  onChange={(e) => onChange(channelChoiceValue(toggleChannel(choice, c.id, e.target.checked)))}
                />
                {c.name || 'unnamed channel'} <span className="muted">({channelForms[c.kind].label})</span>
              </label>
            </li>
          ))}
        </ul>
      )}
      {!choice.all && chosen.size === 0 && <p className="hint">No channel chosen: alerts of this check are recorded but not sent.</p>}
      {error && <p className="field-error">{error}</p>}
    </fieldset>
  );
}

function CheckForm({ initial, check }: { initial: CheckInput; check?: CheckView }) {
  const [draft, setDraft] = useState(initial);
  const [tagsText, setTagsText] = useState(initial.tags.join(' '));
  const save = useAction();
  const client = useQueryClient();
  const navigate = useNavigate();
  const set = <K extends keyof CheckInput>(key: K, value: CheckInput[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const fieldError = (...fields: string[]) => fieldMessage(save.error, ...fields);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const input: CheckInput = {
      ...draft,
      name: draft.name.trim(),
      tags: tagsText.split(/[\s,]+/).filter(Boolean),
      schedule: draft.schedule.trim(),
    };
    const slug = draft.slug?.trim();
    if (slug) input.slug = slug;
    else delete input.slug;
    void save.run(async () => {
      const saved = check ? await api.updateCheck(check.id, input) : await api.createCheck(input);
      storeCheck(client, saved);
      void navigate({ to: '/checks/$id', params: { id: saved.id } });
    });
  };

  return (
    <form className="card check-form" onSubmit={submit} noValidate>
      <Field id="check-name" label="Name" error={fieldError('name')}>
        <input id="check-name" required maxLength={100} value={draft.name} onChange={(e) => set('name', e.target.value)} placeholder="Nightly export" autoFocus />
      </Field>
      <div className="field-row">
        <Field id="check-slug" label="Slug" hint="For /ping/<ping-key>/<slug> URLs. Made from the name when empty." error={fieldError('slug')}>
          <input id="check-slug" value={draft.slug ?? ''} onChange={(e) => set('slug', e.target.value)} placeholder="nightly-export" />
        </Field>
        <Field id="check-tags" label="Tags" hint="Separated by spaces." error={fieldError('tags')}>
          <input id="check-tags" value={tagsText} onChange={(e) => setTagsText(e.target.value)} placeholder="prod etl" />
        </Field>
      </div>
      <Field id="check-description" label="Description" error={fieldError('description')}>
        <textarea id="check-description" rows={2} value={draft.description} onChange={(e) => set('description', e.target.value)} />
      </Field>

      <fieldset className="kind">
        <legend>Schedule</legend>
        <label className="radio">
          <input type="radio" name="kind" value="simple" checked={draft.kind === 'simple'} onChange={() => set('kind', 'simple')} />
          At a fixed period
        </label>
        <label className="radio">
          <input type="radio" name="kind" value="cron" checked={draft.kind === 'cron'} onChange={() => set('kind', 'cron')} />
          On a schedule (cron or OnCalendar)
        </label>
      </fieldset>

      {draft.kind === 'simple' ? (
        <Field id="check-period" label="Period" hint="How often the job runs: a ping is expected this long after the previous one." error={fieldError('timeout')}>
          <DurationInput id="check-period" label="Period" value={draft.timeout} onChange={(v) => set('timeout', v ?? 0)} invalid={Boolean(fieldError('timeout'))} />
        </Field>
      ) : (
        <div className="field-row">
          <Field
            id="check-schedule"
            label="Cron or OnCalendar expression"
            hint={
              <>
                Cron, five fields (minute hour day-of-month month day-of-week): <code>0 2 * * *</code>, <code>*/15 * * * 1-5</code>. Or systemd
                OnCalendar: <code>Mon..Fri 09:00</code>, <code>*-*-01 02:30</code>, <code>daily</code>.
              </>
            }
            error={fieldError('schedule')}
          >
            <input id="check-schedule" className="mono" value={draft.schedule} onChange={(e) => set('schedule', e.target.value)} aria-invalid={Boolean(fieldError('schedule')) || undefined} />
            <SchedulePreviewLine schedule={draft.schedule} tz={draft.tz} />
          </Field>
          <Field id="check-tz" label="Time zone" hint="Daylight saving time is followed." error={fieldError('tz')}>
            <TimeZoneSelect id="check-tz" value={draft.tz} onChange={(tz) => set('tz', tz)} />
          </Field>
        </div>
      )}
      <Field id="check-grace" label="Grace" hint="How late a ping may be before the check goes down (it shows as late meanwhile)." error={fieldError('grace')}>
        <DurationInput id="check-grace" label="Grace" value={draft.grace} onChange={(v) => set('grace', v ?? 0)} invalid={Boolean(fieldError('grace'))} />
      </Field>

      <fieldset>
        <legend>Runs and alerts</legend>
        <div className="field-row">
          <Field id="check-max-runtime" label="Max run time" hint="Alert when a started run has not finished after this long (empty: the grace period)." error={fieldError('max_runtime')}>
            <DurationInput id="check-max-runtime" label="Max run time" optional placeholder="the grace" value={draft.max_runtime} onChange={(v) => set('max_runtime', v)} />
          </Field>
          <Field id="check-min-runtime" label="Min run time" hint={'Alert when a run finishes faster ("too short").'} error={fieldError('min_runtime')}>
            <DurationInput id="check-min-runtime" label="Min run time" optional value={draft.min_runtime} onChange={(v) => set('min_runtime', v)} />
          </Field>
        </div>
        <div className="field-row">
          <Field id="check-threshold" label="Failures before alert" hint="Consecutive failed runs needed to go down." error={fieldError('failure_threshold')}>
            <input
              id="check-threshold"
              type="number"
              min={1}
              step={1}
              value={draft.failure_threshold}
              onChange={(e) => set('failure_threshold', Math.max(1, Math.round(Number(e.target.value) || 1)))}
            />
          </Field>
          <Field id="check-realert" label="Re-alert every" hint="Repeat the alert while the check stays down. Empty: alert once." error={fieldError('realert')}>
            <DurationInput id="check-realert" label="Re-alert every" optional value={draft.realert} onChange={(v) => set('realert', v)} />
          </Field>
        </div>
        <label className="checkbox">
          <input type="checkbox" checked={draft.manual_resume} onChange={(e) => set('manual_resume', e.target.checked)} />
          Manual resume: once paused, pings do not resume the check; resume it here.
        </label>
      </fieldset>

      <ChannelsField value={draft.channels ?? '*'} onChange={(v) => set('channels', v)} error={fieldError('channels')} />

      <ErrorNote message={save.error?.message} />
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={save.busy}>
          {save.busy ? 'Saving…' : check ? 'Save changes' : 'Create check'}
        </button>
        <Link to={check ? '/checks/$id' : '/checks'} params={check ? { id: check.id } : {}} className="button" activeOptions={EXACT}>
          Cancel
        </Link>
      </div>
    </form>
  );
}

function NewCheckPage() {
  return (
    <section>
      <Link to="/checks" className="back" activeOptions={EXACT}>
        ← Checks
      </Link>
      <h1>New check</h1>
      <CheckForm initial={DEFAULTS} />
    </section>
  );
}

function EditCheckPage({ id }: { id: string }) {
  const check = useQuery(checkQuery(id));
  // The form takes its initial values once: from the check as the server has it now, not from
  // what another page cached earlier.
  const fresh = check.isFetchedAfterMount ? check.data : undefined;
  return (
    <section>
      <Link to="/checks/$id" params={{ id }} className="back" activeOptions={EXACT}>
        ← {check.data?.name ?? 'Check'}
      </Link>
      <h1>Edit check</h1>
      <ErrorNote message={check.error?.message} />
      {/* Keyed by id: the form takes its initial values once, from the loaded check. */}
      {fresh && <CheckForm key={fresh.id} initial={draftOf(fresh)} check={fresh} />}
    </section>
  );
}

/** `/checks/new` without an id, `/checks/:id/edit` with one. */
export function CheckFormPage({ id }: { id?: string }) {
  return id ? <EditCheckPage key={id} id={id} /> : <NewCheckPage />;
}
