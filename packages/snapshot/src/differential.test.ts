/**
 * `exposeState` is a bytecode transform, so it gets differential tests: the
 * exposed module must behave exactly as the original (results with float
 * bits, traps, host calls, memory) on the fixtures and on binaryen's fuzz
 * corpus; and a state captured from one instance and applied to a fresh one
 * must continue exactly as the original instance does.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { classifyTrap, decodeModule, encodeModule } from '@ri-sandbox/core';
import { FIXTURE_NAMES, fixture, fuzzModules } from '@ri-sandbox/test-fixtures';
import {
  type Observation,
  exportedFunctions,
  fixtureImports,
  fuzzImports,
  observe,
  observeRound,
} from '../../metering/test/differential';
import { captureState } from './capture';
import { exposeState } from './expose';
import type { StateLayout } from './layout';
import { applyState, checkState } from './restore';
import { frozen } from '../test/images';
import { wat } from '../../core/test/wat';

function exposed(bytes: Uint8Array): { bytes: Uint8Array<ArrayBuffer>; layout: StateLayout } {
  const result = exposeState(decodeModule(bytes));
  if (!result.ok) throw new Error(result.error.message);
  return { bytes: new Uint8Array(encodeModule(result.value.module)), layout: result.value.layout };
}

const CORPUS: readonly (readonly [string, Uint8Array<ArrayBuffer>])[] = [
  // (Not the two whose exports run until a limit stops them: unmetered here, nothing would.)
  ...FIXTURE_NAMES.filter((name) => name !== 'infinite-loop' && name !== 'memory-hog').map(
    (name) => [name, fixture(name)] as const,
  ),
  ...fuzzModules().map((m) => [m.name, m.bytes] as const),
];

/** What a run shows when it ends with a trapping start function. */
const startTrap = (error: unknown): Observation[] => [
  {
    call: 'start',
    outcome: `trap ${error instanceof TypeError ? 'TypeError' : classifyTrap(error).trapKind}`,
    log: [],
    memoryHash: 'none',
  },
];
/**
 * The observations to compare: a trapping start shows only its outcome, and
 * memory only where the original exports it (the exposed module always does).
 */
const comparable = (list: readonly Observation[], memoryVisible: boolean) =>
  list.map((o) =>
    o.call === 'start'
      ? { call: o.call, outcome: o.outcome }
      : memoryVisible
        ? o
        : { call: o.call, outcome: o.outcome, log: o.log },
  );

/**
 * A module whose export calls, through binaryen's `call-export-catch`, the export past its own last one
 * and logs whether that threw: there is none in the module (0), but `exposeState` adds accessors of
 * `$g`, whose setter throws when called without its argument (1), if the harness counted the added
 * exports as the module's.
 */
const CALLS_PAST_ITS_EXPORTS = wat(`(module
  (import "fuzzing-support" "log-i32" (func $log (param i32)))
  (import "fuzzing-support" "call-export-catch" (func $call (param i32) (result i32)))
  (global $g (mut f64) (f64.const 1.5))
  (func (export "f") (call $log (call $call (i32.const 2)))))`);

describe('exposeState keeps the behaviour', () => {
  it('of a module calling an export index past its own (the harness calls only the module own exports)', async () => {
    const signatures = exportedFunctions(CALLS_PAST_ITS_EXPORTS);
    const { bytes: rewritten, layout } = exposed(CALLS_PAST_ITS_EXPORTS);
    expect(layout.globals.some((g) => g.access.kind === 'accessors')).toBe(true);
    const before = await observe(CALLS_PAST_ITS_EXPORTS, signatures);
    const after = await observe(rewritten, signatures);
    expect(before[0]?.log).toEqual(['i32(num:0)']);
    expect(comparable(after, false)).toEqual(comparable(before, false));
  });

  it.each(CORPUS)('of %s', async (_name, bytes) => {
    const signatures = exportedFunctions(bytes);
    const { bytes: rewritten, layout } = exposed(bytes);
    const before = await observe(bytes, signatures, { extraImports: fixtureImports });
    const after = await observe(rewritten, signatures, {
      extraImports: fixtureImports,
      // The start function is an export now: run it where instantiation would have.
      attach: (instance) => {
        if (layout.start !== undefined) (instance.exports[layout.start] as () => void)();
      },
    }).catch(startTrap);
    const memoryVisible = before.some((o) => o.memoryHash !== 'none');
    expect(comparable(after, memoryVisible)).toEqual(comparable(before, memoryVisible));
  });
});

/** A fresh instance of a fuzz module with its own imports, or undefined if its start traps. */
function start(bytes: Uint8Array<ArrayBuffer>, layout: StateLayout) {
  const log: string[] = [];
  let exportsRef: WebAssembly.Exports = {};
  const imports = { ...fuzzImports(bytes, log, () => exportsRef), ...fixtureImports() };
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
    exportsRef = instance.exports;
    if (layout.start !== undefined) (instance.exports[layout.start] as () => void)();
    return { instance, log };
  } catch {
    return undefined;
  }
}

describe('a captured state, applied to a fresh instance, continues exactly as the original', () => {
  let compared = 0;
  // The early returns below are for what cannot be compared; they must stay the exception.
  afterAll(() => {
    expect(compared).toBeGreaterThanOrEqual(Math.floor(CORPUS.length * 0.9));
  });

  it.each(CORPUS)('for %s', (_name, bytes) => {
    const signatures = exportedFunctions(bytes);
    const { bytes: rewritten, layout } = exposed(bytes);
    const original = start(rewritten, layout);
    if (original === undefined) return; // A start that traps leaves no state to capture.
    observeRound(original.instance, signatures, 0, original.log);
    const image = captureState(original.instance, layout);
    // Host references (externref values from the imports) cannot be captured: refused, not dropped.
    if (!image.ok) {
      expect(image.error.reason).toMatch(/host reference|cannot name/);
      return;
    }
    const saved = frozen(image.value);
    const continued: Observation[] = [];
    observeRound(original.instance, signatures, 1, original.log, undefined, continued);
    // A stack overflow's depth depends on the JavaScript stack at the time: nothing to compare after it.
    if (continued.some((o) => o.outcome === 'trap stack_overflow')) return;
    const copy = start(rewritten, layout);
    if (copy === undefined) throw new Error('the module started once and not twice');
    const bounds = saved.memory && { initialPages: 0, maximumPages: 65536 };
    expect(checkState(layout, saved, bounds)).toBeUndefined();
    expect(applyState(copy.instance, layout, saved)).toEqual({ ok: true, value: undefined });
    const replayed: Observation[] = [];
    observeRound(copy.instance, signatures, 1, copy.log, undefined, replayed);
    expect(replayed).toEqual(continued);
    const end = (live: typeof copy) => captureState(live.instance, layout);
    expect(end(copy)).toEqual(end(original));
    compared++;
  });
});
