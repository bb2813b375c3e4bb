/**
 * Mergeable summaries for what cannot be added up per dimension row: distinct remote hosts
 * (HyperLogLog) and request latency (a log-scale histogram). Both merge by a cheap element-wise
 * operation, so a 10-second bucket, a 1-hour rollup and a 30-day range all come from the same rows.
 */

/** 2^10 registers: ~3 % standard error, 1 KiB per bucket. */
const HLL_PRECISION = 10;
export const HLL_REGISTERS = 1 << HLL_PRECISION;

export function emptyHosts(): Uint8Array {
  return new Uint8Array(HLL_REGISTERS);
}

/** FNV-1a over UTF-16 code units, finished with murmur3's avalanche so all 32 bits mix. */
function hash32(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Records one value in the registers (in place). */
export function addHost(registers: Uint8Array, value: string): void {
  const h = hash32(value);
  const index = h >>> (32 - HLL_PRECISION);
  // Rank of the first 1 bit in the remaining bits; the sentinel bit caps it when they are all 0.
  const rank = Math.clz32(((h << HLL_PRECISION) | (1 << (HLL_PRECISION - 1))) >>> 0) + 1;
  if (rank > registers[index]!) registers[index] = rank;
}

/** Union of two sketches (in place into `into`). */
export function mergeHosts(into: Uint8Array, other: Uint8Array): void {
  for (let i = 0; i < HLL_REGISTERS; i++) if (other[i]! > into[i]!) into[i] = other[i]!;
}

/** Estimated number of distinct values (HyperLogLog with linear counting for small sets). */
export function estimateHosts(registers: Uint8Array): number {
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < HLL_REGISTERS; i++) {
    const r = registers[i]!;
    sum += 2 ** -r;
    if (r === 0) zeros++;
  }
  const m = HLL_REGISTERS;
  const alpha = 0.7213 / (1 + 1.079 / m);
  const raw = (alpha * m * m) / sum;
  if (raw <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
  return Math.round(raw);
}

/** Slots of the latency histogram: slot i holds durations in [2^(i/4) − 1, 2^((i+1)/4) − 1) ms (~19 % wide). */
export const LATENCY_SLOTS = 128;

export function emptyLatency(): number[] {
  return new Array<number>(LATENCY_SLOTS).fill(0);
}

export function latencySlot(durationMs: number): number {
  if (!(durationMs > 0)) return 0;
  return Math.min(LATENCY_SLOTS - 1, Math.floor(4 * Math.log2(1 + durationMs)));
}

export function addLatency(histogram: number[], durationMs: number, count = 1): void {
  const slot = latencySlot(durationMs);
  histogram[slot] = (histogram[slot] ?? 0) + count;
}

export function mergeLatency(into: number[], other: readonly (number | string)[]): void {
  for (let i = 0; i < LATENCY_SLOTS; i++) into[i] = (into[i] ?? 0) + Number(other[i] ?? 0);
}

/**
 * The duration below which `quantile` (0..1) of the recorded requests fall, as the geometric middle
 * of the slot it lands in; null when nothing was recorded.
 */
export function latencyQuantile(histogram: readonly number[], quantile: number): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(quantile * total));
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= rank) {
      const low = 2 ** (i / 4) - 1;
      const high = 2 ** ((i + 1) / 4) - 1;
      return Math.sqrt(Math.max(low, 0.01) * high);
    }
  }
  return null;
}
