// Snapshot benchmarks (issue #5): snapshot and restore time at 1 page, 1 MiB and
// 16 MiB of memory that is not zero anywhere (so nothing compresses), each against
// a plain Uint8Array copy of the same bytes in the same run; the size of a snapshot
// of a fresh 16 MiB instance; and how many suspended sandboxes one process holds.
// The sizes are timed twice: as a host with glibc's default heap runs them, and in a
// process whose heap glibc keeps (see HEAP_KEPT).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createWasmSandbox } from '@ri-sandbox/sandbox';
import { fixture } from '@ri-sandbox/test-fixtures';
import { compare, ms, ratio, table } from './lib.mjs';

const PAGE = 65536;
const SUSPENDED = Number(process.env.SUSPENDED ?? 100_000);
const SIZES_ARG = '--sizes';

/**
 * The environment of a process whose heap glibc keeps: no buffer gets pages of its own (`mmap`), and
 * the heap is not given back to the system when buffers are freed. By default a snapshot's new buffer,
 * and the copy's, find their pages given back (by the last collection) in some rounds and not in
 * others: on this machine a page faults in at 12 to 17 µs, all 16 of a 64 KiB buffer's in about
 * 200 µs, and the figures followed the heap rather than the code (a 16 MiB snapshot 2.3 ms or 49 ms).
 */
const HEAP_KEPT = { MALLOC_MMAP_THRESHOLD_: String(64 << 20), MALLOC_TRIM_THRESHOLD_: String(256 << 20) };

function must(result) {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

/** An instance of the memory-hog fixture grown to `pages`, filled with `fill` (0 leaves it zero). */
async function instanceWith(sandbox, pages, fill) {
  const instance = must(sandbox.create({ maxMemoryBytes: 32 << 20, maxGas: 1e12 }));
  must(await sandbox.load(instance, fixture('memory-hog')));
  if (pages > 1) must(sandbox.execute(instance, 'grow', pages - 1));
  if (fill !== 0) must(sandbox.execute(instance, 'fill', fill));
  return instance;
}

/** Snapshot, restore and copy times at each size, as table rows. */
async function timeSizes(sandbox, log) {
  const rows = [];
  for (const [label, pages] of [
    ['1 page', 1],
    ['1 MiB', 16],
    ['16 MiB', 256],
  ]) {
    log(`snapshot: ${label}`);
    const instance = await instanceWith(sandbox, pages, 0x5a);
    const bytes = new Uint8Array(pages * PAGE).fill(0x5a);
    const snapshot = must(sandbox.snapshot(instance));
    const repeat = pages === 1 ? 100 : 1;
    // Buffers kept from call to call: what a host that snapshots often does with `snapshot(instance, { into })`.
    const into = new Uint8Array(snapshot.length);
    const copiedInto = new Uint8Array(bytes.length);
    const times = compare(
      {
        snapshot: () => must(sandbox.snapshot(instance)),
        restore: () => must(sandbox.restore(instance, snapshot)),
        copy: () => new Uint8Array(bytes.length).set(bytes),
        snapshotInto: () => must(sandbox.snapshot(instance, { into })),
        copyInto: () => copiedInto.set(bytes),
      },
      { rounds: pages === 256 ? 9 : 15, repeat },
    );
    rows.push([
      label,
      ms(times.snapshot),
      ms(times.restore),
      ms(times.copy),
      ratio(times.snapshot / times.copy),
      ratio(times.restore / times.copy),
      `${(snapshot.length / 1024).toFixed(1)} KB`,
      ms(times.snapshotInto),
      ms(times.copyInto),
      ratio(times.snapshotInto / times.copyInto),
    ]);
    sandbox.destroy(instance);
  }
  return rows;
}

/** {@link timeSizes} in a process of its own whose heap glibc keeps (see HEAP_KEPT). */
function timeSizesWithHeapKept(log) {
  log('snapshot: the sizes again, with the heap kept');
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), SIZES_ARG], {
    env: { ...process.env, ...HEAP_KEPT },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (child.status !== 0) throw new Error(`snapshot sizes exited with ${child.status ?? child.signal}`);
  return JSON.parse(child.stdout);
}

export async function run(log) {
  const sandbox = createWasmSandbox();
  const rows = await timeSizes(sandbox, log);
  const keptRows = timeSizesWithHeapKept(log);

  log('snapshot: fresh 16 MiB instance');
  const fresh = await instanceWith(sandbox, 256, 0);
  const freshSize = must(sandbox.snapshot(fresh)).length;
  // A memory that is almost all zeros: the time is the scan for zero blocks, against a copy of the memory.
  const zeros = new Uint8Array(256 * PAGE);
  const freshTimes = compare(
    {
      snapshot: () => must(sandbox.snapshot(fresh)),
      copy: () => new Uint8Array(zeros.length).set(zeros),
    },
    { rounds: 9 },
  );
  sandbox.destroy(fresh);

  log(`snapshot: ${SUSPENDED} suspended sandboxes`);
  const many = createWasmSandbox();
  const counter = fixture('counter');
  const suspended = [];
  for (let i = 0; i < SUSPENDED; i++) {
    const instance = must(many.create());
    must(await many.load(instance, counter));
    must(many.execute(instance, 'add', i));
    must(many.suspend(instance));
    suspended.push(instance);
  }
  let resumable = 0;
  for (const [i, instance] of suspended.entries()) {
    const resumed = many.resume(instance);
    const value = resumed.ok ? many.execute(instance, 'get') : resumed;
    if (value.ok && value.value === i) resumable++;
    many.destroy(instance);
  }
  return {
    rows,
    keptRows,
    freshSize,
    freshMs: freshTimes.snapshot,
    freshCopyMs: freshTimes.copy,
    suspended: SUSPENDED,
    resumable,
  };
}

const SIZE_HEADER = [
  'memory',
  'snapshot',
  'restore',
  'Uint8Array copy',
  'snapshot / copy',
  'restore / copy',
  'snapshot size',
  'snapshot into a buffer kept',
  'copy into a buffer kept',
  'ratio',
];

export function report(results) {
  return [
    '### Snapshots (memory filled with non-zero bytes; ratios against a copy of the same bytes)',
    '',
    table(SIZE_HEADER, results.rows),
    '',
    `The same in a process whose heap glibc keeps (${Object.entries(HEAP_KEPT)
      .map(([name, value]) => `\`${name}=${value}\``)
      .join(', ')}): ` +
      "each new buffer, the snapshot's and the copy's, then rarely finds its pages given back to the system " +
      'by the last collection, to be faulted in again (see the snapshot README):',
    '',
    table(SIZE_HEADER, results.keptRows),
    '',
    `Snapshot of a freshly loaded 16 MiB instance: ${results.freshSize} bytes (target: a few KB), ` +
      `taken in ${ms(results.freshMs)} against ${ms(results.freshCopyMs)} for a copy of its memory ` +
      `(${ratio(results.freshMs / results.freshCopyMs)}: the scan for zero blocks). ` +
      `Suspended sandboxes held in one process: ${results.suspended.toLocaleString('en-US')}, ` +
      `${results.resumable.toLocaleString('en-US')} resumed with their state (target: 100,000). ` +
      'Targets: snapshot and restore <= 3x the copy at 16 MiB; < 100 µs each at 1 page.',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === SIZES_ARG) {
  const rows = await timeSizes(createWasmSandbox(), (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`${JSON.stringify(rows)}\n`);
}
