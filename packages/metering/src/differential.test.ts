import { describe, expect, it } from 'vitest';
import { decodeModule, sandboxError } from '@ri-sandbox/core';
import { FIXTURE_NAMES, fixture, fuzzModules } from '@ri-sandbox/test-fixtures';
import { exportedFunctions, fixtureImports, observe } from '../test/differential';
import { type MeteringOptions, instrument } from './instrument';
import { Meter } from './meter';

const GENEROUS = { maxGas: 1e12, maxExecutionMs: 60_000 };

/** Observations of the original module and of its instrumented version, call by call. */
async function differential(
  bytes: Uint8Array<ArrayBuffer>,
  extraImports: () => WebAssembly.Imports = () => ({}),
  skip: readonly string[] = [],
  options: MeteringOptions = {},
) {
  const signatures = exportedFunctions(bytes).filter((s) => !skip.includes(s.name));
  const raw = await observe(bytes, signatures, { extraImports });
  // -1 from a failed memory.grow, as the original does; the trapping default is tested on its own.
  const metered = instrument(bytes, { ...options, memoryGrowFailure: 'return-minus-one' });
  /** The gas of each call that succeeded, -1 for the others. */
  const gas: number[] = [];
  /** The gas each call reported, whatever its outcome. */
  const spent: number[] = [];
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
      gas.push(run.ok ? run.gasUsed : -1);
      spent.push(run.gasUsed);
      if (run.ok) return { ok: true, value: run.value };
      return { ok: false, error: run.error.code === 'WASM_TRAP' ? thrown : run.error };
    },
  });
  return { raw, instrumented, gas, spent };
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

/**
 * Whether the host catches traps of calls back into the module (binaryen's `call-export-catch`,
 * `call-ref-catch`): the run then goes on after a trap, whose gas is what was charged up to the
 * counter's last store point, not the cost of the blocks entered.
 */
function catchesTraps(bytes: Uint8Array): boolean {
  return decodeModule(bytes).imports.some(
    (i) => i.name === 'call-export-catch' || i.name === 'call-ref-catch',
  );
}

describe('charging ahead (differential)', () => {
  // The same modules metered block by block: behaviour and the gas of every successful call agree.
  const cases: [string, Uint8Array<ArrayBuffer>, () => WebAssembly.Imports, string[]][] = [
    ...FIXTURE_NAMES.filter((name) => name !== 'infinite-loop').map(
      (name): [string, Uint8Array<ArrayBuffer>, () => WebAssembly.Imports, string[]] => [
        name,
        fixture(name),
        fixtureImports,
        name === 'memory-hog' ? ['hog'] : [],
      ],
    ),
    ...fuzzModules().map((m): [string, Uint8Array<ArrayBuffer>, () => WebAssembly.Imports, string[]] => [
      m.name,
      m.bytes,
      () => ({}),
      [],
    ]),
  ];
  it.each(cases)('charges %s exactly as paying block by block does', async (_name, bytes, imports, skip) => {
    const ahead = await differential(bytes, imports, skip);
    const strict = await differential(bytes, imports, skip, { chargeAhead: false });
    expectSameBehaviour(ahead.raw, ahead.instrumented);
    expectSameBehaviour(strict.raw, strict.instrumented);
    if (!catchesTraps(bytes)) expect(ahead.gas).toEqual(strict.gas);
  });

  it('compares the gas of many successful calls', async () => {
    let compared = 0;
    for (const [, bytes, imports, skip] of cases) {
      if (catchesTraps(bytes)) continue;
      compared += (await differential(bytes, imports, skip)).gas.filter((gas) => gas > 0).length;
    }
    expect(compared).toBeGreaterThan(100);
  });
});

describe('unrolled loops (differential)', () => {
  const cases = [
    ...FIXTURE_NAMES.filter((name) => name !== 'infinite-loop').map(
      (name) => [name, fixture(name), fixtureImports, name === 'memory-hog' ? ['hog'] : []] as const,
    ),
    ...fuzzModules().map((m) => [m.name, m.bytes, () => ({}), []] as const),
  ];

  it.each(cases)(
    'give %s the behaviour and gas of the loops they copy',
    async (_name, bytes, imports, skip) => {
      for (const chargeAhead of [true, false]) {
        const copied = await differential(bytes, imports, skip, { chargeAhead });
        const original = await differential(bytes, imports, skip, { chargeAhead, unrollLoops: false });
        expectSameBehaviour(copied.raw, copied.instrumented);
        expect(copied.instrumented).toEqual(original.instrumented);
        // Traps and exhaustion included: every call reports the same gas.
        expect(copied.spent).toEqual(original.spent);
      }
    },
  );

  it('cover many modules with loops copied', () => {
    const copied = cases.filter(([, bytes]) => {
      const on = instrument(bytes);
      const off = instrument(bytes, { unrollLoops: false });
      return on.ok && off.ok && on.value.bytes.length > off.value.bytes.length;
    });
    expect(copied.length).toBeGreaterThan(30);
  });
});
