import { timeZones } from '../zones';

/** Every IANA time zone the browser knows, UTC first; the current value stays listed even if this browser lacks it. */
export function TimeZoneSelect({ id, value, onChange }: { id: string; value: string; onChange: (zone: string) => void }) {
  return (
    <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
      {timeZones(value).map((zone) => (
        <option key={zone} value={zone}>
          {zone}
        </option>
      ))}
    </select>
  );
}
