import { useEffect, useState } from 'react';
import { errorMessage, request } from '../api';
import { ErrorNote } from './ErrorNote';
import { RelativeTime } from './RelativeTime';

/** One event refused at ingest or set aside by the processor (`GET /api/v1/logs/rejected`). */
export interface Rejection {
  id: string;
  at: string;
  stage: 'ingest' | 'processing';
  protocol: string | null;
  index: number | null;
  line: number | null;
  path: string | null;
  reason: string;
  sample: string | null;
}

/** Where in its request a refused event was: `line 3`, `index 2 streams[0].values[1]` (index 0-based, line 1-based). */
export function positionOf(r: Pick<Rejection, 'index' | 'line' | 'path'>): string {
  if (r.line !== null) return `line ${r.line}`;
  const parts = [r.index === null ? null : `index ${r.index}`, r.path].filter((p) => p !== null);
  return parts.length > 0 ? parts.join(' ') : 'whole request';
}

/**
 * The Logs page's note of recently refused events: closed by default, and absent when there are
 * none. Senders over Datadog or Loki get no reasons in their answers; this is where they are.
 */
export function RejectedEvents() {
  const [rows, setRows] = useState<Rejection[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const abort = new AbortController();
    request<{ rejections: Rejection[] }>('GET', '/api/v1/logs/rejected?limit=20', undefined, abort.signal)
      .then((answer) => setRows(answer.rejections))
      .catch((e: unknown) => {
        if (!abort.signal.aborted) setError(errorMessage(e));
      });
    return () => abort.abort();
  }, []);
  if (error) return <ErrorNote message={`Refused events: ${error}`} />;
  if (!rows || rows.length === 0) return null;
  return (
    <details className="rejected-events">
      <summary>
        Refused events: the {rows.length === 20 ? '20 latest' : rows.length} that could not be stored
      </summary>
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Where</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id}>
              <td>
                <RelativeTime iso={r.at} past />
              </td>
              <td>
                {r.stage === 'processing' ? 'set aside by the processor' : `${r.protocol ?? 'ingest'} ${positionOf(r)}`}
              </td>
              <td title={r.sample ?? undefined}>{r.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
