import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Instruction,
  ValType,
  decodeInstructions,
  decodeModule,
  derivedModule,
  encodeInstructions,
  encodeModule,
  instruction,
  localCount,
} from '@ri-sandbox/core';
import { FIXTURE_NAMES, fixture, fuzzModules } from '@ri-sandbox/test-fixtures';
import { wat } from '../../core/test/wat';
import { exportedFunctions, fixtureImports, observe } from '../../metering/test/differential';
import { canonicalizeNaNs } from './nan';
import { NAN_PRODUCERS } from './nan-flow';

/** The checks a reference inserts after a producer of `lane`, with its scratch local of that type. */
function check(lane: string, local: number): Instruction[] {
  const get = instruction('local.get', local);
  const steps: Instruction[] = [instruction('local.set', local)];
  switch (lane) {
    case 'f32':
      return [
        ...steps,
        get,
        instruction('f32.const', 0x7fc00000),
        get,
        get,
        instruction('f32.eq'),
        instruction('select'),
      ];
    case 'f64':
      return [
        ...steps,
        get,
        instruction('f64.const', 0x7ff8000000000000n),
        get,
        get,
        instruction('f64.eq'),
        instruction('select'),
      ];
    default: {
      const canonical = new Uint8Array(16);
      const view = new DataView(canonical.buffer);
      for (let at = 0; at < 16; at += lane === 'f32x4' ? 4 : 8)
        if (lane === 'f32x4') view.setUint32(at, 0x7fc00000, true);
        else view.setBigUint64(at, 0x7ff8000000000000n, true);
      const ne = lane === 'f32x4' ? 'f32x4.ne' : 'f64x2.ne';
      return [
        ...steps,
        instruction('v128.const', canonical),
        get,
        get,
        get,
        instruction(ne),
        instruction('v128.bitselect'),
      ];
    }
  }
}

/**
 * The plainest canonicalization, written apart from the transform: every producer's result is checked
 * where it is made. `canonicalizeNaNs` leaves out the checks it can prove unneeded, and moves those of
 * locals to their reads: whatever it leaves out or moves, it must behave exactly as this, float bits and
 * memory included (the canonical NaN is the same everywhere, unlike the NaNs the raw module makes).
 */
function everyResultChecked(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const module = decodeModule(bytes);
  const code = module.code.map((body, i) => {
    const first = localCount(module, i);
    const local: Record<string, number> = { f32: first, f64: first + 1, f32x4: first + 2, f64x2: first + 2 };
    const checked: Instruction[] = [];
    for (const step of decodeInstructions(body.code)) {
      checked.push(step);
      const lane = NAN_PRODUCERS.get(step.op.name);
      if (lane !== undefined) checked.push(...check(lane, local[lane] as number));
    }
    const scratch = [ValType.f32, ValType.f64, ValType.v128].map((type) => ({ count: 1, type }));
    return { locals: [...body.locals, ...scratch], code: encodeInstructions(checked) };
  });
  return encodeModule(derivedModule(module, { code }));
}

const transformed = (bytes: Uint8Array) => encodeModule(canonicalizeNaNs(decodeModule(bytes)));

describe('canonicalizeNaNs against a check after every producer', () => {
  it('checks after every producer in the reference (which would catch a transform checking nothing)', async () => {
    const nan = fixture('nan');
    const signatures = exportedFunctions(nan);
    const raw = await observe(nan, signatures);
    const reference = await observe(everyResultChecked(nan), signatures);
    expect(reference).not.toEqual(raw);
    expect(await observe(transformed(nan), signatures)).toEqual(reference);
  });

  it.each(FIXTURE_NAMES.filter((name) => !['infinite-loop', 'memory-hog'].includes(name)))(
    'behaves exactly as the reference on the %s fixture',
    async (name) => {
      const bytes = fixture(name);
      const signatures = exportedFunctions(bytes);
      const options = { extraImports: fixtureImports };
      expect(await observe(transformed(bytes), signatures, options)).toEqual(
        await observe(everyResultChecked(bytes), signatures, options),
      );
    },
  );

  // Results, host calls and memory, bit for bit.
  it.each(fuzzModules().map((m) => [m.name, m.bytes] as const))(
    'behaves exactly as the reference on %s',
    async (_name, bytes) => {
      const signatures = exportedFunctions(bytes);
      const after = await observe(transformed(bytes), signatures);
      const reference = await observe(everyResultChecked(bytes), signatures);
      expect(after.length).toBe(reference.length);
      reference.forEach((observation, i) => {
        // Each side's own checks use the stack differently: only where an engine's stack overflowed
        // may the rest of the round differ.
        if (observation.outcome === 'trap stack_overflow')
          expect(after[i]?.outcome).toBe(observation.outcome);
        else expect(after[i]).toEqual(observation);
      });
    },
  );
});

/** Generated float code over three locals, for the property below: one statement as WebAssembly text. */
const LOCALS = ['$a', '$b', '$c'] as const;
const local = fc.constantFrom(...LOCALS);
const slot = fc.integer({ min: 0, max: 7 }).map((n) => n * 8);
const binary = fc.constantFrom('f64.add', 'f64.sub', 'f64.mul', 'f64.div', 'f64.min', 'f64.max');
const unary = fc.constantFrom('f64.sqrt', 'f64.ceil', 'f64.nearest');
/** A float computed from the locals: the arithmetic whose NaNs are canonicalized. */
const arithmetic = fc.oneof(
  fc.tuple(binary, local, local).map(([op, x, y]) => `(${op} (local.get ${x}) (local.get ${y}))`),
  fc.tuple(unary, local).map(([op, x]) => `(${op} (local.get ${x}))`),
  fc.tuple(binary, local, slot).map(([op, x, at]) => `(${op} (local.get ${x}) (f64.load (i32.const ${at})))`),
);
/** Arithmetic over arithmetic, the second operand kept in a local on the way (`(a * b) + (d = x - y)`). */
const nested = fc
  .tuple(binary, arithmetic, local, arithmetic)
  .map(([op, first, x, second]) => `(${op} ${first} (local.tee ${x} ${second}))`);
const constant = fc.constantFrom('0', '-1.5', '1e308', 'inf', 'nan:0x4000000000001', '-nan:0x8000000000001');
const statement = fc.oneof(
  fc.tuple(local, arithmetic).map(([x, value]) => `(local.set ${x} ${value})`),
  fc.tuple(local, nested).map(([x, value]) => `(local.set ${x} ${value})`),
  fc.tuple(slot, nested).map(([at, value]) => `(f64.store (i32.const ${at}) ${value})`),
  fc.tuple(local, local).map(([x, y]) => `(local.set ${x} (local.get ${y}))`),
  fc.tuple(local, slot).map(([x, at]) => `(local.set ${x} (f64.load (i32.const ${at})))`),
  fc.tuple(local, constant).map(([x, value]) => `(local.set ${x} (f64.const ${value}))`),
  fc.tuple(slot, local).map(([at, x]) => `(f64.store (i32.const ${at}) (local.get ${x}))`),
  fc.tuple(slot, arithmetic).map(([at, value]) => `(f64.store (i32.const ${at}) ${value})`),
  fc
    .tuple(slot, local, arithmetic)
    .map(([at, x, value]) => `(f64.store (i32.const ${at}) (local.tee ${x} ${value}))`),
  fc.tuple(local, local).map(([x, y]) => `(local.set ${x} (f64.neg (local.get ${y})))`),
  // A value kept in a local while the result waits under it, then the result written.
  fc.tuple(local, arithmetic).map(([x, value]) => `${value} (local.set $k (i32.const 5)) (local.set ${x})`),
  fc
    .tuple(local, local, local, arithmetic)
    .map(
      ([x, y, z, value]) =>
        `(if (f64.lt (local.get ${x}) (local.get ${y})) (then (local.set ${z} ${value})))`,
    ),
);
/**
 * A function of generated statements: before a loop, in it (run `n` times, the fourth argument) and
 * after it, with `locals` declared; the three i64 arguments are stored at 0, 8 and 16 first, and
 * `last` ends it (storing or returning what the locals hold).
 */
function program(statement: fc.Arbitrary<string>, locals: string, last: string): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.array(statement, { maxLength: 4 }),
      fc.array(statement, { maxLength: 6 }),
      fc.array(statement, { maxLength: 4 }),
    )
    .map(
      ([before, inLoop, after]) => `(module (memory (export "memory") 1)
  (func (export "run") (param i64 i64 i64 i32) (result i64) ${locals}
    (i64.store (i32.const 0) (local.get 0)) (i64.store (i32.const 8) (local.get 1)) (i64.store (i32.const 16) (local.get 2))
    ${before.join(' ')}
    (block (loop (br_if 1 (i32.eqz (local.get 3))) ${inLoop.join(' ')}
      (local.set 3 (i32.sub (local.get 3) (i32.const 1))) (br 0)))
    ${after.join(' ')}
    ${last}))`,
    );
}
const scalarProgram = program(
  statement,
  '(local $a f64) (local $b f64) (local $c f64) (local $k i32)',
  '(f64.store (i32.const 40) (local.get $a)) (f64.store (i32.const 48) (local.get $b)) (i64.reinterpret_f64 (local.get $c))',
);

/** The same for 128-bit locals, computed as f32x4 and as f64x2, and with integers too. */
const VECTORS = ['$va', '$vb'] as const;
const vector = fc.constantFrom(...VECTORS);
const vectorSlot = fc.integer({ min: 0, max: 3 }).map((n) => n * 16);
const vectorOp = fc
  .tuple(fc.constantFrom('f32x4', 'f64x2'), fc.constantFrom('add', 'sub', 'mul', 'div', 'min', 'max'))
  .map(([shape, op]) => `${shape}.${op}`);
const vectorArithmetic = fc
  .tuple(vectorOp, vector, vector)
  .map(([op, x, y]) => `(${op} (local.get ${x}) (local.get ${y}))`);
const vectorStatement = fc.oneof(
  fc.tuple(vector, vectorArithmetic).map(([x, value]) => `(local.set ${x} ${value})`),
  fc.tuple(vector, vector).map(([x, y]) => `(local.set ${x} (local.get ${y}))`),
  fc.tuple(vector, vectorSlot).map(([x, at]) => `(local.set ${x} (v128.load (i32.const ${at})))`),
  fc
    .tuple(vector, vector, vector)
    .map(([x, y, z]) => `(local.set ${x} (i32x4.add (local.get ${y}) (local.get ${z})))`),
  fc.tuple(vectorSlot, vector).map(([at, x]) => `(v128.store (i32.const ${at}) (local.get ${x}))`),
  fc.tuple(vectorSlot, vectorArithmetic).map(([at, value]) => `(v128.store (i32.const ${at}) ${value})`),
  fc
    .tuple(vectorSlot, vector, vectorArithmetic)
    .map(([at, x, value]) => `(v128.store (i32.const ${at}) (local.tee ${x} ${value}))`),
  fc
    .tuple(vectorSlot, vector)
    .map(([at, x]) => `(f32.store (i32.const ${at}) (f32x4.extract_lane 1 (local.get ${x})))`),
);
const vectorProgram = program(
  vectorStatement,
  '(local $va v128) (local $vb v128)',
  '(v128.store (i32.const 32) (local.get $va)) (i64x2.extract_lane 1 (local.get $vb))',
);

/** Arguments: NaNs with payloads (positive and negative), numbers, and loop counts. */
const ARGUMENTS: readonly (readonly [bigint, bigint, bigint, number])[] = [
  [0x7ff4000000000001n, 0x3ff0000000000000n, 0xfff8000000000007n, 0],
  [0x7ff4000000000001n, 0x3ff0000000000000n, 0xfff8000000000007n, 3],
  [0x4000000000000000n, 0xbff8000000000000n, 0x7ff0000000000000n, 2],
];

async function runAll(bytes: Uint8Array<ArrayBuffer>): Promise<string[]> {
  const { instance } = await WebAssembly.instantiate(bytes);
  const run = instance.exports['run'] as (...args: unknown[]) => bigint;
  const memory = new Uint8Array((instance.exports['memory'] as WebAssembly.Memory).buffer, 0, 64);
  return ARGUMENTS.map((args) => `${BigInt.asUintN(64, run(...args)).toString(16)} ${memory.join(',')}`);
}

/** Whether every program `programs` makes behaves exactly as {@link everyResultChecked} makes it. */
async function matchesReference(programs: fc.Arbitrary<string>): Promise<void> {
  await fc.assert(
    fc.asyncProperty(programs, async (source) => {
      const bytes = wat(source);
      expect(await runAll(transformed(bytes))).toEqual(await runAll(everyResultChecked(bytes)));
    }),
    { numRuns: 500 },
  );
}

describe('canonicalizeNaNs on generated float code through locals', () => {
  it('behaves exactly as a check after every producer: results and memory, bit for bit', async () => {
    await matchesReference(scalarProgram);
  });

  it('behaves exactly as a check after every producer on 128-bit locals, f32x4, f64x2 and integers mixed', async () => {
    await matchesReference(vectorProgram);
  });
});
