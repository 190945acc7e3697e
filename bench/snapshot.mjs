// Snapshot benchmarks (issue #5): snapshot and restore time at 1 page, 1 MiB and
// 16 MiB of memory that is not zero anywhere (so nothing compresses), each against
// a plain Uint8Array copy of the same bytes in the same run; the size of a snapshot
// of a fresh 16 MiB instance; and how many suspended sandboxes one process holds.
import { createWasmSandbox } from '@ri-sandbox/sandbox';
import { fixture } from '@ri-sandbox/test-fixtures';
import { compare, ms, ratio, table } from './lib.mjs';

const PAGE = 65536;
const SUSPENDED = Number(process.env.SUSPENDED ?? 100_000);

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

export async function run(log) {
  const sandbox = createWasmSandbox();
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
    const times = compare(
      {
        snapshot: () => must(sandbox.snapshot(instance)),
        restore: () => must(sandbox.restore(instance, snapshot)),
        copy: () => new Uint8Array(bytes.length).set(bytes),
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
    ]);
    sandbox.destroy(instance);
  }

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
    freshSize,
    freshMs: freshTimes.snapshot,
    freshCopyMs: freshTimes.copy,
    suspended: SUSPENDED,
    resumable,
  };
}

export function report(results) {
  return [
    '### Snapshots (memory filled with non-zero bytes; ratios against a copy of the same bytes)',
    '',
    table(
      [
        'memory',
        'snapshot',
        'restore',
        'Uint8Array copy',
        'snapshot / copy',
        'restore / copy',
        'snapshot size',
      ],
      results.rows,
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
