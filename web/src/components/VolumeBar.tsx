import { UI_LOCALE, formatCount, shortZone } from '../format';
import type { LogVolume } from '../logs';

const dayTime = new Intl.DateTimeFormat(UI_LOCALE, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const timeOnly = new Intl.DateTimeFormat(UI_LOCALE, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });

const formatOf = (step: number) => (step < 60 ? timeOnly : dayTime);

/** A bucket's bounds in the viewer's zone, named: "Mar 1, 14:00 – 14:01 GMT+9" (seconds for sub-minute buckets). */
function bucketLabel(startS: number, step: number): string {
  const from = new Date(startS * 1000);
  return `${formatOf(step).formatRange(from, new Date((startS + step) * 1000))} ${shortZone(from.getTime())}`;
}

/** An instant on the axis, named the same way: "Mar 1, 14:00 GMT+9". */
const pointLabel = (s: number, step: number) => `${formatOf(step).format(new Date(s * 1000))} ${shortZone(s * 1000)}`;

const stepLabel = (step: number) => (step < 60 ? `${step} s` : step < 3600 ? `${step / 60} min` : step < 86_400 ? `${step / 3600} h` : `${step / 86_400} d`);

/**
 * Matching events over time, one bar per bucket, above the Logs list. Buckets the count did not
 * reach (more matches than the server counts) are drawn hatched and say so, rather than as zero.
 */
export function VolumeBar({ volume }: { volume: LogVolume }) {
  const highest = Math.max(0, ...volume.counts.map((n) => n ?? 0));
  const max = Math.max(1, highest);
  const first = volume.timestamps[0];
  const last = volume.timestamps.at(-1);
  return (
    <figure className="volume" aria-label="Matching events over time">
      <div className="volume-bars">
        {volume.counts.map((n, i) => {
          const start = volume.timestamps[i] ?? 0;
          const label = `${bucketLabel(start, volume.step)}: ${n === null ? 'not counted' : `${formatCount(n)} event${n === 1 ? '' : 's'}`}`;
          return (
            <span key={start} className={`volume-slot${n === null ? ' volume-unknown' : ''}`} title={label} data-count={n ?? undefined}>
              {n !== null && n > 0 && <span className="volume-bar" style={{ height: `${Math.max(4, (n / max) * 100)}%` }} />}
            </span>
          );
        })}
      </div>
      {first !== undefined && last !== undefined && (
        <figcaption className="volume-axis">
          <span>{pointLabel(first, volume.step)}</span>
          <span>
            one bar per {stepLabel(volume.step)}, highest {formatCount(highest)}
          </span>
          <span>{pointLabel(last + volume.step, volume.step)}</span>
        </figcaption>
      )}
    </figure>
  );
}
