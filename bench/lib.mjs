// Shared helpers of the benchmark scripts: timing by median of interleaved runs,
// and a record of the machine the figures were taken on.
import { cpus, totalmem } from 'node:os';

/** Median of the numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Geometric mean of the numbers. */
export function geometricMean(values) {
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);
}

/**
 * Times each of `candidates` (name -> function) `rounds` times, interleaved
 * so that machine noise hits them alike, after `warmup` untimed rounds.
 * Returns the median milliseconds per candidate.
 */
export function compare(candidates, { rounds = 15, warmup = 3, repeat = 1 } = {}) {
  const names = Object.keys(candidates);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < warmup + rounds; round++) {
    for (const name of names) {
      const started = performance.now();
      for (let i = 0; i < repeat; i++) candidates[name]();
      const took = (performance.now() - started) / repeat;
      if (round >= warmup) samples[name].push(took);
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n])]));
}

/** One line describing this machine. */
export function machine() {
  const cpu = cpus();
  return `${cpu[0]?.model ?? 'unknown CPU'} x${cpu.length}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/** A Markdown table from a header row and rows. */
export function table(header, rows) {
  const lines = [header, header.map(() => '---'), ...rows];
  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** Formats a ratio with two decimals and an x. */
export const ratio = (value) => `${value.toFixed(2)}x`;
/** Formats milliseconds. */
export const ms = (value) =>
  value < 0.001
    ? `${(value * 1e6).toFixed(0)} ns`
    : value < 1
      ? `${(value * 1000).toFixed(1)} µs`
      : `${value.toFixed(2)} ms`;
