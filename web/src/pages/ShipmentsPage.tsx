import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { loadErrorMessage } from '../alerts';
import { ErrorNote } from '../components/ErrorNote';
import { Field } from '../components/Field';
import { TableHead } from '../components/TableHead';
import { formatDateTime } from '../format';
import { shipmentsQuery } from '../fraud-queries';
import { useAction } from '../hooks';
import { detectFormat, FORMAT_LABEL, intakeSummary, uploadShipments, type IntakeAnswer, type ShipmentFormat } from '../shipments';
import { FraudTabs } from './FraudTabs';

/** Upload a CSV / NDJSON / JSON file (or paste it) to the bulk intake; see what was stored and each refused row. */
export function ShipmentsPage() {
  const client = useQueryClient();
  const shipments = useQuery(shipmentsQuery);
  const [text, setText] = useState('');
  const [fileName, setFileName] = useState<string>();
  const [format, setFormat] = useState<ShipmentFormat | 'auto'>('auto');
  const [answer, setAnswer] = useState<IntakeAnswer>();
  const upload = useAction();
  const effective = format === 'auto' ? detectFormat(text, fileName) : format;

  const choose = async (file: File | undefined) => {
    if (!file) return;
    setFileName(file.name);
    setText(await file.text());
    setAnswer(undefined);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void upload.run(async () => {
      setAnswer(undefined);
      if (!text.trim()) throw new Error('Choose a file or paste shipments first.');
      setAnswer(await uploadShipments(text, effective));
      void client.invalidateQueries({ queryKey: shipmentsQuery.queryKey });
    });
  };

  return (
    <section>
      <FraudTabs />
      <header className="page-head">
        <h1>Shipments</h1>
      </header>
      <form className="card upload-form" onSubmit={submit} aria-label="Upload shipments" noValidate>
        <p className="hint">Up to 100,000 shipments at a time; each one's external_id makes uploading the same file twice harmless. New shipments are checked against the active criteria.</p>
        <div className="field-row">
          <Field id="shipments-file" label="File" hint={fileName ? `${fileName}: ${text.length.toLocaleString('en-US')} characters` : 'CSV with a header row, NDJSON, or a JSON array'}>
            <input id="shipments-file" type="file" accept=".csv,.ndjson,.jsonl,.json,text/csv,application/json" onChange={(e) => void choose(e.target.files?.[0])} />
          </Field>
          <Field id="shipments-format" label="Format" hint={format === 'auto' ? `Detected: ${FORMAT_LABEL[effective]}` : undefined}>
            <select id="shipments-format" value={format} onChange={(e) => setFormat(e.target.value as ShipmentFormat | 'auto')}>
              <option value="auto">Detect</option>
              <option value="csv">{FORMAT_LABEL.csv}</option>
              <option value="ndjson">{FORMAT_LABEL.ndjson}</option>
              <option value="json">{FORMAT_LABEL.json}</option>
            </select>
          </Field>
        </div>
        <Field id="shipments-text" label="Or paste">
          <textarea
            id="shipments-text"
            className="mono"
            rows={6}
            value={text.length > 200_000 ? `${text.slice(0, 200_000)}\n…` : text}
            readOnly={text.length > 200_000}
            onChange={(e) => {
              setText(e.target.value);
              setFileName(undefined);
            }}
            placeholder={'external_id,created_at,declared_value,currency,sender_id,destination_country\nS-1,2026-05-01T12:00:00Z,6000,USD,snd-1,NG'}
          />
        </Field>
        <ErrorNote message={upload.error?.message} />
        <button type="submit" className="button primary" disabled={upload.busy}>
          {upload.busy ? 'Uploading…' : 'Upload'}
        </button>
      </form>

      {answer && (
        <div className="card intake-answer" role="status" aria-label="Upload result" data-stored={answer.stored} data-rejected={answer.rejected}>
          <p>
            <strong>{intakeSummary(answer)}</strong>
          </p>
          {answer.errors.length > 0 && (
            <table className="intake-errors" aria-label="Refused rows">
              <TableHead columns={['Line', 'Field', 'Problem']} actions={false} />
              <tbody>
                {answer.errors.map((e, i) => (
                  <tr key={i} data-line={e.line}>
                    <td className="num">{e.line}</td>
                    <td className="mono">{e.field || <span className="muted">(row)</span>}</td>
                    <td>{e.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}

      <h2>Recent shipments</h2>
      <ErrorNote message={loadErrorMessage(shipments.error, 'Shipments')} />
      {shipments.data?.length === 0 && <p className="muted">No shipments yet.</p>}
      {shipments.data && shipments.data.length > 0 && (
        <table className="shipments-table">
          <TableHead columns={['External id', 'Created', 'Value (USD)', 'Sender', 'Route', 'Recipient']} actions={false} />
          <tbody>
            {shipments.data.map((s) => (
              <tr key={s.external_id} data-external-id={s.external_id}>
                <td className="mono">{s.external_id}</td>
                <td>{formatDateTime(s.created_at)}</td>
                <td className="num">{s.declared_value_usd === null ? '—' : s.declared_value_usd.toLocaleString('en-US', { maximumFractionDigits: 2 })}</td>
                <td className="mono">{s.sender_id ?? '—'}</td>
                <td>
                  {s.origin_country ?? '?'} → {s.destination_country ?? '?'}
                </td>
                <td>{s.recipient_address ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
