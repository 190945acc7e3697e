import { describe, expect, it } from 'vitest';
import { sandboxError } from '@ri-sandbox/core';
import { FIXTURE_NAMES, fixture, fuzzModules } from '@ri-sandbox/test-fixtures';
import { exportedFunctions, fixtureImports, observe } from '../test/differential';
import { instrument } from './instrument';
import { Meter } from './meter';

const GENEROUS = { maxGas: 1e12, maxExecutionMs: 60_000 };

/** Observations of the original module and of its instrumented version, call by call. */
async function differential(
  bytes: Uint8Array<ArrayBuffer>,
  extraImports: () => WebAssembly.Imports = () => ({}),
  skip: readonly string[] = [],
) {
  const signatures = exportedFunctions(bytes).filter((s) => !skip.includes(s.name));
  const raw = await observe(bytes, signatures, { extraImports });
  // -1 from a failed memory.grow, as the original does; the trapping default is tested on its own.
  const metered = instrument(bytes, { memoryGrowFailure: 'return-minus-one' });
  if (!metered.ok) throw new Error(metered.error.message);
  expect(WebAssembly.validate(metered.value.bytes)).toBe(true);
  const meter = new Meter();
  const instrumented = await observe(metered.value.bytes, signatures, {
    extraImports: () => ({ ...extraImports(), ...meter.imports }),
    beforeInstantiate: () => {
      meter.begin(GENEROUS);
    },
    attach: (instance) => {
      meter.attach(instance);
    },
    wrap: (call) => {
      // The guest's own errors pass through as thrown, to be compared with the original's.
      let thrown: unknown;
      const run = meter.run(GENEROUS, call, (error) => {
        thrown = error;
        return sandboxError.wasmTrap('unknown', 'guest error');
      });
      if (run.ok) return { ok: true, value: run.value };
      return { ok: false, error: run.error.code === 'WASM_TRAP' ? thrown : run.error };
    },
  });
  return { raw, instrumented };
}

function expectSameBehaviour(raw: Awaited<ReturnType<typeof observe>>, instrumented: typeof raw): void {
  expect(instrumented.length).toBe(raw.length);
  raw.forEach((observation, i) => {
    const other = instrumented[i]!;
    if (observation.outcome === 'trap stack_overflow') {
      // Frames are larger once instrumented, so the stack overflows at another depth,
      // after a different number of side effects; only the outcome must agree.
      expect(other.outcome).toBe(observation.outcome);
    } else {
      expect(other).toEqual(observation);
    }
  });
}

describe('instrumentation preserves behaviour (differential)', () => {
  it.each(FIXTURE_NAMES.filter((name) => name !== 'infinite-loop'))('on the %s fixture', async (name) => {
    // Unbounded, `hog` would grow the raw module's memory to 4 GiB one page at a time.
    const { raw, instrumented } = await differential(
      fixture(name),
      fixtureImports,
      name === 'memory-hog' ? ['hog'] : [],
    );
    // Every fixture links and starts with these imports: the calls themselves are compared.
    expect(raw[0]?.call).not.toBe('start');
    expectSameBehaviour(raw, instrumented);
  });

  it.each(fuzzModules().map((m) => [m.name, m.bytes] as const))(
    'on the generated module %s',
    async (_name, bytes) => {
      const { raw, instrumented } = await differential(bytes);
      expectSameBehaviour(raw, instrumented);
    },
  );
});
