/**
 * The cross-engine determinism suite: the same cases run in Node (V8), in
 * headless Chromium (V8, in a browser) and in Bun (JavaScriptCore), and every
 * engine must record the same outcome, gas, memory hash and snapshot hash,
 * case by case. Portable: only the public packages and web-platform APIs.
 */
import type { SandboxConfigInput } from '@ri-sandbox/core';
import { createWasmSandbox } from '@ri-sandbox/sandbox';
import { decodeSnapshot } from '@ri-sandbox/snapshot';
import { type FixtureName, fixture } from '@ri-sandbox/test-fixtures';
import { sha256Hex } from '../support/digest';

/** One step: an action and its payload. */
type Step = readonly [action: string, payload?: unknown];

interface Case {
  readonly name: string;
  readonly fixture: FixtureName;
  readonly config?: SandboxConfigInput;
  readonly steps: readonly Step[];
}

/** What one engine recorded for one case. */
export interface CaseRecord {
  readonly name: string;
  /** Each step's outcome: its value written exactly, or its error code (and trap kind). */
  readonly outcomes: readonly string[];
  /** `gasUsed` of each step. */
  readonly gas: readonly number[];
  /** SHA-256 of linear memory after the last step. */
  readonly memoryHash: string;
  /** SHA-256 of the snapshot taken after the last step (memory, globals, PRNG, gas). */
  readonly snapshotHash: string;
}

const TRAPS = [
  'unreachable',
  'out_of_bounds_memory',
  'divide_by_zero',
  'integer_overflow',
  'invalid_conversion',
  'indirect_call_mismatch',
  'null_reference',
  'out_of_bounds_table',
  'stack_overflow',
  'uncaught_exception',
];

export const CASES: readonly Case[] = [
  {
    name: 'integers and floats',
    fixture: 'add',
    steps: [
      ['add', [2, 3]],
      ['add_i64', [2n ** 40n, -5n]],
      ['add_f32', [0.1, 0.2]],
      ['add_f64', [0.1, 0.2]],
      ['swap', [1, 2]],
    ],
  },
  {
    name: 'fibonacci',
    fixture: 'fibonacci',
    config: { maxGas: 1e8 },
    steps: [
      ['fib', 20],
      ['fib_iter', 80],
    ],
  },
  { name: 'hidden global', fixture: 'counter', steps: [['add', 5], ['increment'], ['add', -3], ['get']] },
  {
    name: 'sha256 (clang)',
    fixture: 'sha256',
    config: { maxGas: 1e9 },
    steps: [
      ['sha256', 'hello, sandbox'],
      ['sha256_pattern', 5000],
    ],
  },
  {
    name: 'qsort over JSON (clang)',
    fixture: 'sort',
    config: { maxGas: 1e9 },
    steps: [
      ['sort', { values: [5, -3, 9, 0, 2147483647] }],
      ['sort_random', [1000, 42]],
    ],
  },
  {
    name: 'matrix multiply (clang, f64)',
    fixture: 'matmul',
    config: { maxGas: 1e9 },
    steps: [['matmul', 24]],
  },
  {
    name: 'NaN producers',
    fixture: 'nan',
    steps: [
      ['f32_div_zero'],
      ['f64_sqrt_negative'],
      ['f32_payload_add'],
      ['f64_payload_mul'],
      ['f32x4_div_zero'],
      ['fill', 4096],
    ],
  },
  {
    name: 'PRNG and time',
    fixture: 'random',
    config: { deterministicSeed: 12345, eventTimestamp: 1_700_000_000_000 },
    steps: [['random'], ['fill', 1000], ['random'], ['time']],
  },
  {
    name: 'recursion to maxCallDepth 500',
    fixture: 'recursion',
    config: { maxCallDepth: 500 },
    steps: [
      ['down', 400],
      ['down', 600],
    ],
  },
  {
    name: 'recursion to the default depth',
    fixture: 'recursion',
    steps: [
      ['down', 999],
      ['down', 100000],
    ],
  },
  { name: 'gas exhaustion', fixture: 'infinite-loop', config: { maxGas: 123_457 }, steps: [['run']] },
  {
    name: 'memory limit',
    fixture: 'memory-hog',
    config: { maxMemoryBytes: 5 * 65536 },
    steps: [['hog'], ['fill', 7], ['pages']],
  },
  {
    name: 'traps',
    fixture: 'traps',
    steps: TRAPS.map((t): Step => [t, t === 'divide_by_zero' || t === 'stack_overflow' ? 0 : undefined]),
  },
  {
    name: 'JSON ABI',
    fixture: 'json-echo',
    steps: [['echo', { text: 'ü€𝄞', list: [1, 2.5, null, true] }], ['bad_utf8']],
  },
];

/** A value written exactly: bigints with `n`, -0, NaN and infinities by name, the rest as JSON. */
function exact(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (Array.isArray(value)) return `[${value.map(exact).join(',')}]`;
  return value === undefined ? 'undefined' : JSON.stringify(value);
}

/** The whole linear memory a snapshot describes (empty without one). */
export function memoryOf(snapshot: Uint8Array): Uint8Array {
  const decoded = decodeSnapshot(snapshot);
  if (!decoded.ok) throw new Error(decoded.error.message);
  const image = decoded.value.memory;
  const memory = new Uint8Array((image?.pages ?? 0) * 65536);
  for (const chunk of image?.chunks ?? []) memory.set(chunk.bytes, chunk.offset);
  return memory;
}

/**
 * The time limit of every case: none is about time (a timeout's moment differs from run to run), and a
 * cold module on a busy machine (a browser compiling lazily, say) must not turn a result into TIMEOUT.
 */
export const GENEROUS_MS = 60_000;

async function runCase(testCase: Case): Promise<CaseRecord> {
  const sandbox = createWasmSandbox();
  // A fixed time: the default is the wall clock, which the snapshot would record.
  const created = sandbox.create({
    eventTimestamp: 1_600_000_000_000,
    maxExecutionMs: GENEROUS_MS,
    ...testCase.config,
  });
  if (!created.ok) throw new Error(created.error.message);
  const instance = created.value;
  const loaded = await sandbox.load(instance, fixture(testCase.fixture));
  if (!loaded.ok) throw new Error(`${testCase.name}: ${loaded.error.message}`);
  const outcomes: string[] = [];
  const gas: number[] = [];
  for (const [action, payload] of testCase.steps) {
    const result = sandbox.execute(instance, action, payload);
    outcomes.push(
      result.ok
        ? exact(result.value)
        : `${result.error.code}${result.error.code === 'WASM_TRAP' ? ` ${result.error.trapKind}` : ''}`,
    );
    gas.push(instance.metrics.gasUsed);
  }
  const snapshot = sandbox.snapshot(instance);
  if (!snapshot.ok) throw new Error(snapshot.error.message);
  sandbox.destroy(instance);
  return {
    name: testCase.name,
    outcomes,
    gas,
    memoryHash: await sha256Hex(memoryOf(snapshot.value)),
    snapshotHash: await sha256Hex(snapshot.value),
  };
}

/** A snapshot taken in the middle, restored after more work: the continuation must be the same everywhere. */
async function snapshotCase(): Promise<CaseRecord> {
  const sandbox = createWasmSandbox();
  const created = sandbox.create({ deterministicSeed: 9, eventTimestamp: 1, maxExecutionMs: GENEROUS_MS });
  if (!created.ok) throw new Error(created.error.message);
  const instance = created.value;
  await sandbox.load(instance, fixture('random'));
  sandbox.execute(instance, 'fill', 100);
  // Written into a buffer kept, past its start: the same bytes as into a new one, on every engine.
  const frame = new Uint8Array(new ArrayBuffer(1 << 20), 8);
  const saved = sandbox.snapshot(instance, { into: frame });
  if (!saved.ok) throw new Error(saved.error.message);
  sandbox.execute(instance, 'fill', 5000);
  const restored = sandbox.restore(instance, saved.value);
  if (!restored.ok) throw new Error(restored.error.message);
  const next = sandbox.execute(instance, 'fill', 200);
  const after = sandbox.snapshot(instance);
  if (!after.ok) throw new Error(after.error.message);
  return {
    name: 'snapshot, more work, restore, continue',
    outcomes: [
      next.ok ? exact(next.value) : next.error.code,
      await sha256Hex(saved.value),
      `written into the buffer given: ${saved.value.buffer === frame.buffer}`,
    ],
    gas: [instance.metrics.gasUsed],
    memoryHash: await sha256Hex(memoryOf(after.value)),
    snapshotHash: await sha256Hex(after.value),
  };
}

/**
 * A module loaded through a store of prepared modules by a second factory: the key and the artifact
 * the first load made must be the same bytes on every engine, and so must what the second load runs.
 */
async function preparedCase(): Promise<CaseRecord> {
  const store = new Map<string, Uint8Array>();
  const config = { eventTimestamp: 1, maxExecutionMs: GENEROUS_MS, maxGas: 1e9 };
  const first = createWasmSandbox({ preparedModules: store });
  const made = first.create(config);
  if (!made.ok) throw new Error(made.error.message);
  const loaded = await first.load(made.value, fixture('sha256'));
  if (!loaded.ok) throw new Error(loaded.error.message);
  const [[key, artifact] = ['none', new Uint8Array()]] = [...store];
  const second = createWasmSandbox({ preparedModules: store });
  const created = second.create(config);
  if (!created.ok) throw new Error(created.error.message);
  const reloaded = await second.load(created.value, fixture('sha256'));
  if (!reloaded.ok) throw new Error(reloaded.error.message);
  const result = second.execute(created.value, 'sha256_pattern', 5000);
  const snapshot = second.snapshot(created.value);
  if (!snapshot.ok) throw new Error(snapshot.error.message);
  return {
    name: 'a prepared module, made by one factory and loaded by another',
    outcomes: [
      result.ok ? exact(result.value) : result.error.code,
      key,
      await sha256Hex(artifact),
      String(store.size),
    ],
    gas: [created.value.metrics.gasUsed],
    memoryHash: await sha256Hex(memoryOf(snapshot.value)),
    snapshotHash: await sha256Hex(snapshot.value),
  };
}

/** Runs every case, in order. */
export async function runDeterminismSuite(): Promise<CaseRecord[]> {
  const records: CaseRecord[] = [];
  for (const testCase of CASES) records.push(await runCase(testCase));
  records.push(await snapshotCase());
  records.push(await preparedCase());
  return records;
}
