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
import { compare, median, ms, ratio, table, watToBytes } from './lib.mjs';

const PAGE = 65536;
const SUSPENDED = Number(process.env.SUSPENDED ?? 100_000);
const SIZES_ARG = '--sizes';
const COLD_ARG = '--cold';
/** Processes each cold figure is the median of. */
const COLD_RUNS = 5;

/**
 * A module with 16 MiB of initial memory (emscripten's default) and a few bytes of data: what a new
 * process meets loading, snapshotting and restoring a real program's module, most of whose memory no
 * one has written yet (each page the sandbox read or wrote would be faulted in).
 */
const SPARSE = watToBytes(`(module (memory (export "memory") 256 256) (data (i32.const 1024) "static data")
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))`);

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
    // Warm code, as a host that snapshots often runs it: V8 optimizes the snapshot's and the restore's
    // functions only after a few thousand calls, and until then a 1-page snapshot or restore takes about
    // twice as long (a restore 13 to 19 µs over a process's first 1,800, then 6 to 8 µs). The larger
    // sizes are the memory's work, whatever the tier of the code around it.
    const warmup = pages === 1 ? 20 : 3;
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
      { rounds: pages === 256 ? 9 : 15, repeat, warmup },
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

/**
 * In this new process: milliseconds of a first load of {@link SPARSE}, a snapshot right after it, and
 * a restore of that snapshot into a second load (`sandbox`); or of a compilation and instantiation of
 * it (`raw`). With the page faults of each.
 */
async function timeCold(mode) {
  const faults = () => process.resourceUsage().minorPageFault;
  const timed = async (fn) => {
    const [before, started] = [faults(), performance.now()];
    const value = await fn();
    return { value, ms: performance.now() - started, faults: faults() - before };
  };
  if (mode === 'raw') {
    const raw = await timed(() => new WebAssembly.Instance(new WebAssembly.Module(SPARSE)));
    return { raw: raw.ms, rawFaults: raw.faults };
  }
  const sandbox = createWasmSandbox();
  const config = { maxMemoryBytes: 32 << 20 };
  const first = must(sandbox.create(config));
  const load = await timed(async () => must(await sandbox.load(first, SPARSE)));
  const snapshot = await timed(() => must(sandbox.snapshot(first)));
  const second = must(sandbox.create(config));
  must(await sandbox.load(second, SPARSE));
  const restore = await timed(() => must(sandbox.restore(second, snapshot.value)));
  return {
    load: load.ms,
    loadFaults: load.faults,
    snapshot: snapshot.ms,
    snapshotFaults: snapshot.faults,
    restore: restore.ms,
    restoreFaults: restore.faults,
  };
}

/** The median of each figure of {@link timeCold}`(mode)` over {@link COLD_RUNS} new processes. */
function timeColdApart(mode) {
  const runs = Array.from({ length: COLD_RUNS }, () => {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), COLD_ARG, mode], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (child.status !== 0) throw new Error(`cold ${mode} exited with ${child.status ?? child.signal}`);
    return JSON.parse(child.stdout);
  });
  return Object.fromEntries(Object.keys(runs[0]).map((key) => [key, median(runs.map((r) => r[key]))]));
}

export async function run(log) {
  const sandbox = createWasmSandbox();
  const rows = await timeSizes(sandbox, log);
  const keptRows = timeSizesWithHeapKept(log);

  log('snapshot: a module of 16 MiB of memory in new processes');
  const cold = { ...timeColdApart('sandbox'), ...timeColdApart('raw') };

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
    cold,
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
    `A module with 16 MiB of initial memory (emscripten's default) and 11 bytes of data, in new processes ` +
      `(medians of ${COLD_RUNS}): the first load, snapshot and restore each makes, and a raw compilation and ` +
      'instantiation in processes of their own:',
    '',
    table(
      [
        'first load',
        'snapshot right after it',
        'restore of that into a second load',
        'raw compilation and instantiation',
      ],
      [
        [
          `${ms(results.cold.load)} (${results.cold.loadFaults} page faults)`,
          `${ms(results.cold.snapshot)} (${results.cold.snapshotFaults})`,
          `${ms(results.cold.restore)} (${results.cold.restoreFaults})`,
          `${ms(results.cold.raw)} (${results.cold.rawFaults})`,
        ],
      ],
    ),
    '',
    `Snapshot of a freshly loaded 16 MiB instance: ${results.freshSize} bytes (target: a few KB), ` +
      `taken in ${ms(results.freshMs)} against ${ms(results.freshCopyMs)} for a copy of its memory ` +
      `(${ratio(results.freshMs / results.freshCopyMs)}: the scan for zero blocks). ` +
      `Suspended sandboxes held in one process: ${results.suspended.toLocaleString('en-US')}, ` +
      `${results.resumable.toLocaleString('en-US')} resumed with their state (target: 100,000). ` +
      'Targets: snapshot and restore <= 3x the copy at 16 MiB; < 100 µs each at 1 page.',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === COLD_ARG) {
  process.stdout.write(`${JSON.stringify(await timeCold(process.argv[3]))}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === SIZES_ARG) {
  const rows = await timeSizes(createWasmSandbox(), (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`${JSON.stringify(rows)}\n`);
}
