import type { CheckStatus, RunOutcome } from '../api';

/** The check's state as a coloured pill; `running` adds a pulsing marker. */
export function StatusBadge({ status, running = false, large = false }: { status: CheckStatus; running?: boolean; large?: boolean }) {
  return (
    <span className={`status status-${status}${large ? ' status-large' : ''}`} data-status={status} title={running ? `${status}, a run is in progress` : status}>
      <span className="status-dot" aria-hidden="true" />
      <span className="status-label">{status}</span>
      {running && <span className="status-running">running</span>}
    </span>
  );
}

const OUTCOME_LABEL: Record<RunOutcome, string> = {
  running: 'running',
  success: 'success',
  fail: 'failed',
  too_long: 'too long',
  too_short: 'too short',
};

export function OutcomeBadge({ outcome }: { outcome: RunOutcome }) {
  return <span className={`outcome outcome-${outcome}`}>{OUTCOME_LABEL[outcome] ?? outcome}</span>;
}
