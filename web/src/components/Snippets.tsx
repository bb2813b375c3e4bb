import type { CheckView } from '../api';
import { CopyButton } from './CopyButton';

/** A crontab line matching the check's schedule where it is cron, else an example. */
function cronLine(check: CheckView): string {
  if (check.kind === 'cron' && check.schedule_syntax !== 'oncalendar') return check.schedule;
  const minutes = check.timeout / 60;
  if (Number.isInteger(minutes) && minutes >= 1 && minutes < 60 && 60 % minutes === 0) return minutes === 1 ? '* * * * *' : `*/${minutes} * * * *`;
  if (check.timeout === 3600) return '0 * * * *';
  if (check.timeout === 86400) return '0 2 * * *';
  return '*/5 * * * *';
}

/** Copy-paste ways to report to this check: curl, a crontab line, and `vigil run`. */
export function Snippets({ check }: { check: CheckView }) {
  const curl = `curl -fsS -m 10 --retry 5 -o /dev/null ${check.ping_url}`;
  const schedule = cronLine(check);
  const snippets = [
    { title: 'Ping with curl', hint: 'Run after the job succeeds.', text: curl },
    { title: 'Crontab line', hint: 'Pings only when the job succeeds.', text: `${schedule} /path/to/job.sh && ${curl}` },
    {
      title: 'Crontab line with exit status',
      hint: 'Reports success or failure (any non-zero exit status alerts).',
      text: `${schedule} /path/to/job.sh; curl -fsS -m 10 --retry 5 -o /dev/null ${check.ping_url}/$?`,
    },
    {
      title: 'Wrap the command with vigil run',
      hint: 'Sends start and finish, measures the duration, keeps the output tail.',
      text: `vigil run --check ${check.id} --server ${window.location.origin} -- /path/to/job.sh`,
    },
  ];
  return (
    <div className="snippets">
      {snippets.map((s) => (
        <div className="snippet" key={s.title}>
          <div className="snippet-head">
            <strong>{s.title}</strong>
            <span className="muted">{s.hint}</span>
            <CopyButton text={s.text} />
          </div>
          <pre>
            <code>{s.text}</code>
          </pre>
        </div>
      ))}
    </div>
  );
}
