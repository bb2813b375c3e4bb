import { formatDateTime, formatRange } from '../format';
import { formatValue } from '../alerts';
import { previewGeometry, type RulePreview } from '../rules';

const WIDTH = 720;
const HEIGHT = 160;
const PAD = 28;
/** More groups than this would be a wall of charts: the first ones are drawn, the rest counted. */
const MAX_CHARTS = 12;

/**
 * The rule's metric over the preview range, one small chart per group on one shared scale (so
 * groups compare), with the threshold as a dashed line and the spans where the rule would have
 * fired shaded. Plain SVG: a handful of lines needs no chart library.
 */
export function PreviewChart({ preview }: { preview: RulePreview }) {
  const geometry = previewGeometry(preview, WIDTH, HEIGHT, PAD);
  const firings = preview.series.reduce((n, s) => n + s.firings.length, 0);
  const shown = geometry.series.slice(0, MAX_CHARTS);
  return (
    <div className="preview">
      <p className="preview-sub" role="status">
        {formatRange(preview.from, preview.to)}, one point per {preview.step_seconds} s: {preview.series.length === 1 ? 'one series' : `${preview.series.length} series (one per group)`},{' '}
        <strong className="preview-firings" data-firings={firings}>
          {firings === 0 ? 'would not have fired' : `would have fired ${firings} ${firings === 1 ? 'time' : 'times'}`}
        </strong>
        .
      </p>
      {preview.series.length === 0 && <p className="muted">No data in this range: no event matched the rule's filters.</p>}
      {shown.map((series, i) => (
        <figure key={series.label + String(i)} className="preview-chart" aria-label={`Preview of ${series.label}`}>
          <figcaption className="mono">{series.label}</figcaption>
          <svg width="100%" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" role="img" aria-label={`${series.label}: ${series.spans.length} firing span(s)`}>
            {series.spans.map((span) => (
              <rect key={span.firedAt} className="preview-span" x={span.x1} y={PAD} width={Math.max(span.x2 - span.x1, 1.5)} height={HEIGHT - 2 * PAD}>
                <title>{`fired ${formatDateTime(span.firedAt)}${span.resolvedAt ? `, resolved ${formatDateTime(span.resolvedAt)}` : ', still firing at the end'}`}</title>
              </rect>
            ))}
            <line className="preview-axis" x1={PAD} x2={WIDTH - PAD} y1={HEIGHT - PAD} y2={HEIGHT - PAD} />
            {series.runs.map((points, j) => (
              <polyline key={j} className="preview-line" points={points} />
            ))}
            <line className="preview-threshold" x1={PAD} x2={WIDTH - PAD} y1={geometry.thresholdY} y2={geometry.thresholdY} />
            <text className="preview-tick" x={WIDTH - PAD} y={geometry.thresholdY - 4} textAnchor="end">
              {preview.op} {formatValue(preview.threshold)}
            </text>
            <text className="preview-tick" x={2} y={PAD + 4}>
              {formatValue(geometry.yMax)}
            </text>
            <text className="preview-tick" x={2} y={HEIGHT - PAD}>
              {formatValue(geometry.yMin)}
            </text>
          </svg>
        </figure>
      ))}
      {geometry.series.length > MAX_CHARTS && <p className="muted">…and {geometry.series.length - MAX_CHARTS} more groups.</p>}
    </div>
  );
}
