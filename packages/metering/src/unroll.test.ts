import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeInstructions, decodeModule } from '@ri-sandbox/core';
import { wat } from '../../core/test/wat';
import { walkFunction } from '../test/loops';
import { type MeteringOptions, instrument } from './instrument';
import { Meter, type MeterLimits } from './meter';

/** How many copies of a small hot loop's body run per check, and the largest such loop (c/write.c). */
const UNROLL_COPIES = 2;
const UNROLL_MAX_LOOP = 96;

/** The opcodes and immediates of the first function of `bytes`, one string per instruction. */
function listing(bytes: Uint8Array): string[] {
  const body = decodeModule(bytes).code[0];
  return decodeInstructions(body?.code ?? new Uint8Array()).map(({ op, immediate }) =>
    immediate === undefined
      ? op.name
      : `${op.name} ${typeof immediate === 'object' ? JSON.stringify(immediate) : String(immediate)}`,
  );
}

describe('the fast version of a hot loop', () => {
  // A loop whose header costs 3 (the default costs: local.get, br_if and the loop's own block), no other block.
  const source = wat(`(module (func (param $n i32)
    (loop $next (br_if $next (local.get $n)))))`);
  /** The balance local: after the parameter. */
  const BALANCE = 1;

  it('goes before the loop: a check for all copies, then the copies, each ending the iteration', () => {
    const code = listing(instrumented(source));
    // The fast version's check: the first `br_if 1` on a comparison (the entry's check is an `if`).
    const check = code.findIndex((line, i) => line === 'br_if 1' && code[i - 1] === 'i64.lt_s');
    const fast = code.slice(check - 5, code.indexOf('br 0', check) + 3);
    // The header's charge, in the original loop after the fast version.
    const charge = code.indexOf('i64.sub', code.indexOf('br 0', check));
    const cost = Number((code[charge - 1] as string).split(' ')[1]);
    expect(fast.slice(0, 6)).toEqual([
      'block -64',
      'loop -64',
      `local.get ${BALANCE}`,
      `i64.const ${cost * UNROLL_COPIES}`,
      'i64.lt_s',
      'br_if 1',
    ]);
    // Each copy: block; the header's charge, unchecked and not stored; the body (its branch to the
    // loop ends the copy); a branch past the hot loop's wrapping.
    const copy = [
      'block -64',
      `local.get ${BALANCE}`,
      `i64.const ${cost}`,
      'i64.sub',
      `local.set ${BALANCE}`,
      'local.get 0',
      'br_if 0',
      'br 5',
      'end',
    ];
    expect(fast.slice(6, 6 + UNROLL_COPIES * copy.length)).toEqual(
      Array.from({ length: UNROLL_COPIES }, () => copy).flat(),
    );
    expect(fast.slice(6 + UNROLL_COPIES * copy.length)).toEqual(['br 0', 'end', 'end']);
  });

  it('renumbers the labels past the loop in every copy, and leaves nested constructs alone', () => {
    const table = wat(`(module (func (param $n i32)
      (block $out (loop $next (block $in (br_table $in $next $out (local.get $n)))))))`);
    const code = listing(instrumented(table));
    // br_table's labels: the inner block, the copy (the next iteration), and past the loop (moved by 2).
    const copies = code.filter((line) => line.startsWith('br_table'));
    // Past the loop: 2 from the inner block, 3 more for the hot loop's wrapping, 2 more in a copy.
    const renumbered = 'br_table {"targets":[0,1],"defaultTarget":7}';
    expect(copies).toEqual([
      ...Array.from({ length: UNROLL_COPIES }, () => renumbered),
      'br_table {"targets":[0,1],"defaultTarget":5}',
    ]);
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
