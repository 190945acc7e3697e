import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteWriter, decodeInstructions, decodeModule } from '@ri-sandbox/core';
import { wat } from '../../core/test/wat';
import { walkFunction } from '../test/loops';
import { type MeteringOptions, instrument } from './instrument';
import { Meter, type MeterLimits } from './meter';
import { Charger } from './charger';
import { UNROLL_COPIES, UNROLL_MAX_LOOP, unrollHotLoop } from './unroll';

/** The charger of a body whose balance is local 2 (counter: global 0), keeping the counter lazily. */
const CHARGER = new Charger(0, 1, 2, true);

/** A writer holding `bytes`. */
function written(bytes: number[]): ByteWriter {
  return new ByteWriter().bytes(new Uint8Array(bytes));
}

describe('unrollHotLoop', () => {
  // loop; the header's charge (a `nop` standing for it); br 0 (to the loop); br 1 (outside it); end.
  const LOOP = [0x03, 0x40, 0x01, 0x0c, 0x00, 0x0c, 0x01, 0x0b];
  const AT = {
    sourceSize: 6,
    start: 0,
    chargeStart: 2,
    chargeEnd: 3,
    headerCost: 3,
    headerStore: false,
    iterationCost: 5,
  };
  /** `$balance -= 3`, unchecked, the counter not stored. */
  const CHARGE = [0x20, 0x02, 0x42, 0x03, 0x7d, 0x21, 0x02];

  it('puts a fast version before the loop: a check for all copies, then the copies', () => {
    const w = written(LOOP);
    expect(unrollHotLoop(w, AT, CHARGER)).toBe(true);
    // Each copy: block; charge; br 0 (ends the copy: the next iteration); br 3 (outside moves by 2); br 5; end.
    const copy = [0x02, 0x40, ...CHARGE, 0x0c, 0x00, 0x0c, 0x03, 0x0c, 0x05, 0x0b];
    expect([...w.view()]).toEqual([
      ...[0x02, 0x40, 0x03, 0x40],
      // br_if $slow when $balance < copies × 5
      ...[0x20, 0x02, 0x42, 5 * UNROLL_COPIES, 0x53, 0x0d, 0x01],
      ...Array.from({ length: UNROLL_COPIES }, () => copy).flat(),
      ...[0x0c, 0x00, 0x0b, 0x0b],
      ...LOOP,
    ]);
  });

  it('renumbers every label of a br_table and leaves nested constructs alone', () => {
    // loop; charge; block; br_table 0 1 2 (the block, the loop, outside); end; end.
    const w = written([0x03, 0x40, 0x01, 0x02, 0x40, 0x0e, 0x02, 0x00, 0x01, 0x02, 0x0b, 0x0b]);
    expect(unrollHotLoop(w, AT, CHARGER)).toBe(true);
    const out = [...w.view()];
    expect(out.slice(11, 11 + 17)).toEqual([
      0x02,
      0x40,
      ...CHARGE,
      0x02,
      0x40,
      0x0e,
      0x02,
      0x00,
      0x01,
      0x04,
      0x0b,
    ]);
  });

  it('stores the counter in each copy where the header does, even with nothing to charge', () => {
    const stored = written(LOOP);
    expect(unrollHotLoop(stored, { ...AT, headerStore: true }, CHARGER)).toBe(true);
    // local.get 2; i64.const 3; i64.sub; local.tee 2; global.set 0
    expect([...stored.view()].slice(13, 13 + 9)).toEqual([
      0x20, 0x02, 0x42, 0x03, 0x7d, 0x22, 0x02, 0x24, 0x00,
    ]);
    const free = written(LOOP);
    expect(unrollHotLoop(free, { ...AT, headerCost: 0, headerStore: true }, CHARGER)).toBe(true);
    // local.get 2; global.set 0
    expect([...free.view()].slice(13, 13 + 4)).toEqual([0x20, 0x02, 0x24, 0x00]);
  });

  it.each([
    ['a loop larger than the limit', LOOP, { ...AT, sourceSize: UNROLL_MAX_LOOP + 1 }],
    ['iterations that charge nothing', LOOP, { ...AT, iterationCost: 0 }],
    ['a budget past 2^53', LOOP, { ...AT, iterationCost: Number.MAX_SAFE_INTEGER }],
    ['something other than a loop', [0x02, ...LOOP.slice(1)], AT],
    ['a loop not yet closed', [...LOOP, 0x01], AT],
    ['a charge outside the body', LOOP, { ...AT, chargeStart: 1 }],
    ['a try in the body', [0x03, 0x40, 0x01, 0x06, 0x40, 0x0b, 0x0b], AT],
    [
      'code before the charge that leaves a construct open',
      [0x03, 0x40, 0x02, 0x40, 0x01, 0x0b, 0x0b],
      { ...AT, chargeStart: 4, chargeEnd: 5 },
    ],
    ['an end that closes the loop early', [0x03, 0x40, 0x01, 0x0b, 0x01, 0x0b], AT],
  ])('leaves the writer as it was for %s', (_, bytes, at) => {
    const w = written(bytes);
    expect(unrollHotLoop(w, at, CHARGER)).toBe(false);
    expect([...w.view()]).toEqual(bytes);
  });
});

/** How many `loop`s the first function of `bytes` has. */
function loopsIn(bytes: Uint8Array): number {
  const body = decodeModule(bytes).code[0];
  return decodeInstructions(body?.code ?? new Uint8Array()).filter(({ op }) => op.name === 'loop').length;
}

function instrumented(source: Uint8Array, options: MeteringOptions = {}): Uint8Array<ArrayBuffer> {
  const result = instrument(source, options);
  if (!result.ok) throw new Error(result.error.message);
  return result.value.bytes;
}

// Each `f(n)` runs a small innermost loop that calls nothing about n times, keeping in `$seen` how
// many iterations started: on the way out of a run stopped for gas, that tells where it stopped.
const LOOPS: Record<string, string> = {
  // The benchmark's counting loop: a br_if out to a block, and a br back.
  counting: `(func (export "f") (param $n i32) (result i32) (local $i i32) (local $sum i32)
    (block $done (loop $next
      (global.set $seen (local.get $i))
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $sum (i32.add (local.get $sum) (i32.xor (local.get $i) (i32.const 0x5bd1e995))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $sum))`,
  // See walkFunction.
  walk: walkFunction('f', '(global.set $seen (local.get $i))'),
  // Arms of different costs, a value carried out by br_if, and the loop left by falling off its end.
  arms: `(func (export "f") (param $n i32) (result i32) (local $i i32)
    (block $out (result i32)
      (loop $next
        (global.set $seen (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.and (local.get $i) (i32.const 1))
          (then (local.set $n (i32.sub (local.get $n) (i32.const 1))))
          (else (nop)))
        (drop (br_if $out (i32.mul (local.get $i) (i32.const 3)) (i32.ge_s (local.get $i) (local.get $n))))
        (br_if $next (i32.lt_s (local.get $i) (i32.const 1000000))))
      (i32.const -1)))`,
  // A return from inside the loop.
  early: `(func (export "f") (param $n i32) (result i32) (local $i i32)
    (loop $next
      (global.set $seen (local.get $i))
      (if (i32.ge_u (local.get $i) (local.get $n)) (then (return (i32.add (local.get $i) (i32.const 100)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))
    (unreachable))`,
  // A trap in the loop once i reaches n (a division by zero).
  trap: `(func (export "f") (param $n i32) (result i32) (local $i i32) (local $q i32)
    (loop $next
      (global.set $seen (local.get $i))
      (local.set $q (i32.add (local.get $q) (i32.div_u (i32.const 1) (i32.sub (local.get $n) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))
    (unreachable))`,
};

/** A module with one of {@link LOOPS}. */
const moduleOf = (name: string) =>
  wat(`(module (global $seen (export "seen") (mut i32) (i32.const -1)) ${LOOPS[name] as string})`);

const LIMITS: MeterLimits = { maxGas: 1e12, maxExecutionMs: 1e15 };

/**
 * A runner for `f` of `bytes` metered with `options`; its meter's clock moves `step` ms per reading
 * (5: grants of about a thousand, so refills happen inside the loop; 0.001: grants of millions).
 */
async function runner(bytes: Uint8Array, options: MeteringOptions, step = 0.001) {
  let clock = 0;
  const meter = new Meter({ now: () => (clock += step) });
  const { instance } = await WebAssembly.instantiate(instrumented(bytes, options), meter.imports);
  meter.attach(instance);
  const f = instance.exports['f'] as (n: number) => number;
  const seen = instance.exports['seen'] as WebAssembly.Global;
  return (n: number, limits: MeterLimits = LIMITS) => {
    seen.value = -1;
    const run = meter.run(limits, () => f(n));
    const iterations = seen.value as number;
    return run.ok
      ? { ok: true, value: run.value, gasUsed: run.gasUsed, iterations }
      : { ok: false, code: run.error.code, gasUsed: run.gasUsed, iterations };
  };
}

describe('unrolled hot loops', () => {
  it('are small loops only, and only when asked', () => {
    // The hot loop's wrapping has a loop of its own (see `HotLoops`); the fast version adds one.
    const counting = moduleOf('counting');
    const wrapped = loopsIn(instrumented(counting, { unrollLoops: false }));
    expect(wrapped).toBe(2);
    expect(loopsIn(instrumented(counting))).toBe(wrapped + 1);
    // Iterations that cost nothing need no check to save.
    expect(loopsIn(instrumented(counting, { costs: { defaultCost: 0, instructions: {} } }))).toBe(wrapped);
    // A body past the limit is not copied (a chain of adds makes it long).
    const adds = '(local.set $i (i32.add (local.get $i) (i32.const 1)))'.repeat(
      Math.ceil(UNROLL_MAX_LOOP / 7),
    );
    const long = wat(`(module (func (export "f") (param $n i32) (result i32) (local $i i32)
      (loop $next ${adds} (br_if $next (i32.lt_u (local.get $i) (local.get $n)))) (local.get $i)))`);
    expect(loopsIn(instrumented(long))).toBe(wrapped);
  });

  describe.each(Object.keys(LOOPS))('%s', (name) => {
    const bytes = moduleOf(name);
    const raw = async () =>
      (await WebAssembly.instantiate(bytes)).instance.exports['f'] as (n: number) => number;
    const NS = [0, 1, 2, 3, 4, 5, 17, 1000];

    it.each([true, false])(
      'gives the results and gas of the loop it copies (charging ahead: %s)',
      async (ahead) => {
        const f = await raw();
        const outcome = (n: number) => {
          try {
            return f(n);
          } catch {
            return 'trap';
          }
        };
        for (const step of [0.001, 5]) {
          const copied = await runner(bytes, { chargeAhead: ahead }, step);
          const original = await runner(bytes, { chargeAhead: ahead, unrollLoops: false }, step);
          for (const n of [...NS, 20_000]) {
            const run = copied(n);
            expect(run).toEqual(original(n));
            expect(run.ok ? run.value : 'trap').toBe(outcome(n));
          }
        }
      },
    );

    it.each([true, false])(
      'runs out of gas where the loop it copies does (charging ahead: %s)',
      async (ahead) => {
        const copied = await runner(bytes, { chargeAhead: ahead });
        const original = await runner(bytes, { chargeAhead: ahead, unrollLoops: false });
        const whole = original(40).gasUsed;
        // Every limit from a few iterations short of the whole run to past it: each stops (or not) at
        // the same point, and reports the same gas.
        let exhausted = 0;
        for (let maxGas = Math.max(1, whole - 120); maxGas <= whole + 2; maxGas++) {
          const limits = { maxGas, maxExecutionMs: 1e15 };
          const run = copied(40, limits);
          expect(run).toEqual(original(40, limits));
          if (!run.ok && run.code === 'GAS_EXHAUSTED') exhausted++;
        }
        expect(exhausted).toBeGreaterThan(0);
      },
    );
  });
});

/** A statement of a generated loop body (see {@link loopModule}). */
type Statement =
  | { readonly kind: 'add'; readonly value: number }
  | { readonly kind: 'mix' }
  | { readonly kind: 'block'; readonly body: readonly Statement[] }
  | {
      readonly kind: 'if';
      readonly mask: number;
      readonly then: readonly Statement[];
      readonly else: readonly Statement[];
    }
  | { readonly kind: 'br_if'; readonly target: number; readonly mask: number }
  | { readonly kind: 'br_table'; readonly targets: readonly number[]; readonly mask: number };

const statement: fc.Arbitrary<Statement> = fc.letrec<{ statement: Statement; body: Statement[] }>((tie) => ({
  statement: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ kind: fc.constant('add' as const), value: fc.integer({ min: 1, max: 99 }) }),
    fc.record({ kind: fc.constant('mix' as const) }),
    fc.record({
      kind: fc.constant('br_if' as const),
      target: fc.nat(6),
      mask: fc.integer({ min: 1, max: 7 }),
    }),
    fc.record({
      kind: fc.constant('br_table' as const),
      targets: fc.array(fc.nat(6), { minLength: 1, maxLength: 3 }),
      mask: fc.integer({ min: 1, max: 3 }),
    }),
    fc.record({ kind: fc.constant('block' as const), body: tie('body') }),
    fc.record({
      kind: fc.constant('if' as const),
      mask: fc.integer({ min: 1, max: 7 }),
      then: tie('body'),
      else: tie('body'),
    }),
  ),
  body: fc.array(tie('statement'), { maxLength: 3 }),
})).statement;

/**
 * `f(n)`: a loop that counts `$i` up, runs `body`, and goes round again while `$i < n`; the body's
 * branches go to the label their target names among those open (blocks and ifs in it, the loop, and
 * two blocks outside it), by `target` modulo their number. Conditions test bits of `$i`.
 */
function loopModule(body: readonly Statement[]): Uint8Array<ArrayBuffer> {
  let fresh = 0;
  const render = (statements: readonly Statement[], labels: readonly string[]): string =>
    statements
      .map((st): string => {
        const pick = (target: number) => labels[target % labels.length] as string;
        const bits = (mask: number) => `(i32.and (local.get $i) (i32.const ${mask}))`;
        switch (st.kind) {
          case 'add':
            return `(local.set $acc (i32.add (local.get $acc) (i32.const ${st.value})))`;
          case 'mix':
            return '(local.set $acc (i32.xor (i32.mul (local.get $acc) (i32.const 31)) (local.get $i)))';
          case 'br_if':
            return `(br_if ${pick(st.target)} (i32.eqz ${bits(st.mask)}))`;
          case 'br_table':
            return `(br_table ${st.targets.map(pick).join(' ')} ${bits(st.mask)})`;
          case 'block': {
            const label = `$b${fresh++}`;
            return `(block ${label} ${render(st.body, [label, ...labels])})`;
          }
          case 'if': {
            const label = `$b${fresh++}`;
            const inner = [label, ...labels];
            return `(if ${label} ${bits(st.mask)} (then ${render(st.then, inner)}) (else ${render(st.else, inner)}))`;
          }
        }
      })
      .join(' ');
  return wat(`(module (global $seen (export "seen") (mut i32) (i32.const -1))
    (func (export "f") (param $n i32) (result i32) (local $i i32) (local $acc i32)
      (block $outer (block $exit
        (loop $loop
          (global.set $seen (local.get $i))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          ${render(body, ['$loop', '$exit', '$outer'])}
          (br_if $loop (i32.lt_u (local.get $i) (local.get $n)))))
        (local.set $acc (i32.add (local.get $acc) (i32.const 1000))))
      (local.get $acc)))`);
}

describe('unrolled hot loops (property)', () => {
  it('give generated loops the results, gas and exhaustion points of the loops they copy', async () => {
    let unrolled = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(statement, { minLength: 1, maxLength: 4 }), async (body) => {
        const bytes = loopModule(body);
        runs++;
        if (instrumented(bytes).length > instrumented(bytes, { unrollLoops: false }).length) unrolled++;
        const tight = { maxGas: 20_000, maxExecutionMs: 1e15 };
        for (const chargeAhead of [true, false]) {
          for (const step of [0.001, 5]) {
            const copied = await runner(bytes, { chargeAhead }, step);
            const original = await runner(bytes, { chargeAhead, unrollLoops: false }, step);
            for (const n of [0, 1, 2, 7, 300]) expect(copied(n, tight)).toEqual(original(n, tight));
          }
          // Limits around the end of a run (or of the gas, for a loop that does not end).
          const copied = await runner(bytes, { chargeAhead });
          const original = await runner(bytes, { chargeAhead, unrollLoops: false });
          const whole = Math.min(original(25, tight).gasUsed, tight.maxGas);
          for (let maxGas = Math.max(1, whole - 40); maxGas <= whole + 1; maxGas++) {
            const limits = { maxGas, maxExecutionMs: 1e15 };
            expect(copied(25, limits)).toEqual(original(25, limits));
          }
        }
      }),
      { numRuns: 60 },
    );
    // Most generated bodies are small enough to be copied: the property is about the copies.
    expect(unrolled).toBeGreaterThan(runs / 2);
  });
});
