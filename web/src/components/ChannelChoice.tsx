import type { ChannelSelection } from '@contracts/alerting.js';
import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { errorMessage } from '../api';
import { channelsQuery } from '../queries';
import { ErrorNote } from './ErrorNote';

/**
 * Which channels an alert source notifies — all of the organisation's, or the ones ticked — as the
 * rule editor and the fraud criterion editor ask it (one form, one behaviour).
 */
export function ChannelChoice({ name, value, onChange, error }: { name: string; value: ChannelSelection; onChange: (next: ChannelSelection) => void; error?: string | undefined }) {
  const channels = useQuery(channelsQuery);
  const chosen = value === '*' ? [] : value;
  return (
    <fieldset className="kind">
      <legend>Channels</legend>
      <label className="radio">
        <input type="radio" name={name} checked={value === '*'} onChange={() => onChange('*')} /> All channels
      </label>
      <label className="radio">
        <input type="radio" name={name} checked={value !== '*'} onChange={() => onChange([])} /> Chosen channels
      </label>
      {value !== '*' && (
        <div className="channel-choices">
          {channels.error && <ErrorNote message={`Channels could not be loaded: ${errorMessage(channels.error)}`} />}
          {channels.data?.length === 0 && (
            <p className="muted">
              No channel yet: <Link to="/channels">add one</Link>.
            </p>
          )}
          {channels.data?.map((c) => (
            <label key={c.id} className="checkbox">
              <input type="checkbox" checked={chosen.includes(c.id)} onChange={(e) => onChange(e.target.checked ? [...chosen, c.id] : chosen.filter((x) => x !== c.id))} /> {c.name}{' '}
              <span className="muted">({c.kind})</span>
            </label>
          ))}
        </div>
      )}
      {error && <p className="field-error">{error}</p>}
    </fieldset>
  );
}
