import { formatDuration } from '../format';

const MIN_SLOTS = 20;

/**
 * Durations of the last runs as a small line (oldest left). The vertical scale starts at zero so
 * a run twice as long looks twice as high; the last run is marked with a dot.
 */
export function Sparkline({
  values,
  width = 120,
  height = 28,
  minSlots = MIN_SLOTS,
}: {
  values: number[];
  width?: number;
  height?: number;
  /** Horizontal positions at least; 2 stretches any number of runs across the width. */
  minSlots?: number;
}) {
  // One point is no trend: drawn, it was a lone dot above a stray baseline. Say so in words instead.
  if (values.length < 2) {
    return (
      <span className="muted sparkline-empty" title="A trend shows from two timed runs on">
        —
      </span>
    );
  }
  const max = Math.max(...values, 1);
  const pad = 3;
  // Fixed slots, newest at the right edge: in the checks list a check with few runs draws a short
  // line on the right rather than stretching two points across the whole width, so rows compare.
  const slots = Math.max(values.length, minSlots);
  const step = (width - 2 * pad) / (slots - 1);
  const points = values.map((v, i) => [width - pad - (values.length - 1 - i) * step, height - pad - (v / max) * (height - 2 * pad)] as const);
  const last = points[points.length - 1] ?? [pad, height - pad];
  const min = Math.min(...values);
  const label = `Last ${values.length} runs: ${formatDuration(min)} to ${formatDuration(max)}, latest ${formatDuration(values[values.length - 1])}`;
  return (
    <svg className="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <title>{label}</title>
      <line x1={pad} x2={width - pad} y1={height - pad} y2={height - pad} className="sparkline-base" />
      <polyline points={points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')} className="sparkline-line" />
      <circle cx={last[0]} cy={last[1]} r={2.5} className="sparkline-dot" />
    </svg>
  );
}
