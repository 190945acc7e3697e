// Shared helpers of the benchmark scripts: timing by median of interleaved runs,
// and a record of the machine the figures were taken on.
import { cpus, totalmem } from 'node:os';
import createWabt from 'wabt';

// Timing is shared with the suite `ri-sandbox bench` runs.
import { median } from '@ri-sandbox/sandbox/bench';

export { compare, median, timeAsync, formatMs as ms } from '@ri-sandbox/sandbox/bench';

/** Geometric mean of the numbers. */
export function geometricMean(values) {
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);
}

/**
 * Microseconds the first write to a page of fresh memory costs here (the fault that maps it), the
 * median of three 32 MiB buffers written one byte per 4 KiB. On bare metal it is a fraction of a
 * microsecond; on some virtual machines 50 times that, and then every figure that touches new memory
 * (a first load, a cold transform, a snapshot into a buffer the allocator did not recycle) follows it.
 */
export function pageFaultMicroseconds() {
  const costs = [];
  for (let i = 0; i < 3; i++) {
    const before = process.resourceUsage().minorPageFault;
    const start = performance.now();
    const fresh = new Uint8Array(32 << 20);
    for (let at = 0; at < fresh.length; at += 4096) fresh[at] = 1;
    const faults = process.resourceUsage().minorPageFault - before;
    costs.push(((performance.now() - start) * 1000) / Math.max(1, faults));
  }
  return median(costs);
}

/** One line describing this machine: processors, memory, Node, and what a page fault costs. */
export function machine() {
  const cpu = cpus();
  const fault = pageFaultMicroseconds().toFixed(1);
  return `${cpu[0]?.model ?? 'unknown CPU'} x${cpu.length}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, a page fault ${fault} µs`;
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
