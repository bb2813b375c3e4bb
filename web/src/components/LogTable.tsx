import { UI_LOCALE, formatDuration } from '../format';
import { useToggleSet } from '../hooks';
import type { StoredEvent } from '../logs';
import { browserZone } from '../zones';

/**
 * What a row shows: a hot event, or an archived one (whose id is null when it was archived from
 * elsewhere, and which says whether it came too late for the traffic statistics).
 */
export type ShownEvent = Omit<StoredEvent, 'id'> & { id: string | null; too_late?: boolean };

// In the dashboard's language and a 24-hour clock, in the viewer's zone: the column header names it.
const timeFormat = new Intl.DateTimeFormat(UI_LOCALE, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3, hourCycle: 'h23' });
const fullFormat = new Intl.DateTimeFormat(UI_LOCALE, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  fractionalSecondDigits: 3,
  hourCycle: 'h23',
  timeZoneName: 'short',
});
const localTime = (iso: string) => timeFormat.format(new Date(iso));
/** "Mar 1, 2026, 14:00:00.123 GMT+9": the viewer's zone, named. */
const localFull = (iso: string) => fullFormat.format(new Date(iso));
const utcTime = (iso: string) => `${iso.replace('T', ' ').replace('Z', '')} UTC`;

/** `2xx`..`5xx` for colouring; '' for an event without an HTTP status. */
function statusClass(status: number | null): string {
  if (status === null) return '';
  const hundreds = Math.floor(status / 100);
  return hundreds >= 1 && hundreds <= 5 ? `${hundreds}xx` : '';
}

const TOO_LATE = 'Arrived too late to be counted in the traffic statistics';

/**
 * Log events newest first, one line each; clicking a row (or Enter on its message) opens all its
 * fields below it. Which rows are open is kept here: give the table a `key` per search so a new
 * search starts with every row closed.
 */
export function LogTable({ events, utc = false }: { events: readonly ShownEvent[]; utc?: boolean }) {
  const [expanded, toggle] = useToggleSet<string>();
  const columns = [`Time (${utc ? 'UTC' : browserZone})`, 'Level', 'Service', 'Host', 'Method', 'Path', 'Status', 'Duration', 'Message'];
  return (
    <table className="logs-table">
      <thead>
        <tr>
          {columns.map((name) => (
            <th key={name}>{name}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {events.map((event, index) => {
          // Rows without an id only come from the archive, whose pages are only appended to: the position is stable.
          const key = event.id ?? `row-${index}`;
          return <LogRow key={key} event={event} utc={utc} columns={columns.length} open={expanded.has(key)} onToggle={() => toggle(key)} />;
        })}
      </tbody>
    </table>
  );
}

function LogRow({ event, utc, columns, open, onToggle }: { event: ShownEvent; utc: boolean; columns: number; open: boolean; onToggle: () => void }) {
  const klass = statusClass(event.status);
  // The other time zone is a hover away: the archive is cut in UTC days, the live view reads in local time.
  const [time, otherZone] = utc ? [utcTime(event.timestamp), localFull(event.timestamp)] : [localTime(event.timestamp), utcTime(event.timestamp)];
  return (
    <>
      {/* Selecting text in a row (to copy it) is not a click on it. */}
      <tr className={`log-row${open ? ' log-row-open' : ''}`} data-event-id={event.id ?? undefined} onClick={() => !window.getSelection()?.toString() && onToggle()}>
        <td className="log-time num">
          <time dateTime={event.timestamp} title={otherZone}>
            {time}
          </time>
        </td>
        <td>{event.level ? <span className={`log-level level-${event.level}`}>{event.level}</span> : <span className="muted">—</span>}</td>
        <td className="ellipsis log-short">{event.service ?? ''}</td>
        <td className="ellipsis log-short">{event.host ?? ''}</td>
        <td className="mono">{event.method ?? ''}</td>
        <td className="ellipsis mono" title={event.path ?? undefined}>
          {event.path ?? ''}
        </td>
        <td>{event.status !== null && <span className={`http-status${klass ? ` http-${klass}` : ''}`}>{event.status}</span>}</td>
        <td className="num right">{event.duration_ms === null ? '' : formatDuration(event.duration_ms)}</td>
        <td className="log-message-cell">
          <button type="button" className="log-message" aria-expanded={open} title={event.too_late ? TOO_LATE : open ? 'Hide the fields' : 'Show all fields'}>
            {event.message}
          </button>
        </td>
      </tr>
      {open && (
        <tr className="log-detail">
          <td colSpan={columns}>
            <EventDetail event={event} />
          </td>
        </tr>
      )}
    </>
  );
}

function EventDetail({ event }: { event: ShownEvent }) {
  const fields: [string, string | number | null][] = [
    ['Time (UTC)', event.timestamp],
    // A viewer in UTC needs it once.
    [`Time (${browserZone})`, browserZone === 'UTC' ? null : localFull(event.timestamp)],
    ['Received', event.received_at],
    ['Service', event.service],
    ['Host', event.host],
    ['Source', event.source],
    ['Level', event.level],
    ['Method', event.method],
    ['Path', event.path],
    ['Section', event.section],
    ['Status', event.status],
    ['Bytes', event.bytes],
    ['Duration', event.duration_ms === null ? null : `${event.duration_ms} ms`],
    ['Remote address', event.remote_addr],
    ['User agent', event.user_agent],
    ['Event id', event.id],
    ['Traffic statistics', event.too_late ? TOO_LATE : null],
  ];
  return (
    <div className="log-fields">
      <dl className="facts">
        {fields
          .filter(([, value]) => value !== null && value !== '')
          .map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd className="mono">{value}</dd>
            </div>
          ))}
      </dl>
      <h3>Message</h3>
      <pre className="output">{event.message}</pre>
      <h3>Attributes</h3>
      <pre className="output log-attributes">{Object.keys(event.attributes).length ? JSON.stringify(event.attributes, null, 2) : '{}'}</pre>
    </div>
  );
}

/** The button under a table that fetches the next (older) page. */
export function LoadOlder({ busy, onClick }: { busy: boolean; onClick: () => void }) {
  return (
    <p>
      <button type="button" className="button" disabled={busy} onClick={onClick}>
        {busy ? 'Loading…' : 'Load older'}
      </button>
    </p>
  );
}
