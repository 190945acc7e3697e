// Shared helpers of the benchmark scripts: timing by median of interleaved runs,
// and a record of the machine the figures were taken on.
import { cpus, totalmem } from 'node:os';
import createWabt from 'wabt';

// Timing is shared with the suite `ri-sandbox bench` runs.
export { compare, median, timeAsync, formatMs as ms } from '@ri-sandbox/sandbox/bench';

/** Geometric mean of the numbers. */
export function geometricMean(values) {
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);
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

const wabt = await createWabt();

/** The binary of a module in WebAssembly text. */
export function watToBytes(source) {
  const module = wabt.parseWat('bench.wat', source);
  try {
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}
