import { describe, expect, it } from 'vitest';
import { OPCODES, decodeModule, importedFunctionCount } from '@ri-sandbox/core';
import { fixture } from '@ri-sandbox/test-fixtures';
import { wat } from '../../core/test/wat';
import { DEFAULT_COST_MODEL, resolveCostModel } from './cost-model';
import type { NumberList } from './lists';
import { type BodyScan, ScanLists, costLookup, planCharges, scanBody } from './scan';

const COSTS = costLookup(DEFAULT_COST_MODEL);

/** The code of the first function of `source`. */
function firstBody(source: string): Uint8Array {
  const body = decodeModule(wat(source)).code[0];
  if (body === undefined) throw new Error('no function');
  return body.code;
}

/** The scan of the first function of `source` (of a module without imports), with its tables' calls checked or not. */
function scanFirst(source: string, ownTables: ReadonlySet<number> = new Set()): BodyScan {
  const module = decodeModule(wat(source));
  const body = module.code[0];
  const type = module.types[module.functions[0] as number];
  if (body === undefined || type === undefined) throw new Error('no function');
  return scanBody(
    body.code,
    COSTS,
    { importedFunctions: 0, ownTables },
    { types: module.types, results: type.results.length },
  );
}

/** `count` instructions of cost 2 each. */
const drops = (count: number) => '(drop (i32.const 0)) '.repeat(count);

/** A list's numbers. */
const numbers = (list: NumberList) => list.toArray();
/** A list of whether-flags (1 or 0), as booleans. */
const flags = (list: NumberList) => list.toArray().map((flag) => flag === 1);

/** The charges that are emitted (not zero), in order. */
const paid = (charges: NumberList) => numbers(charges).filter((c) => c !== 0);

describe('costLookup', () => {
  it("gives every opcode its model's cost: its own where the model names it, the default elsewhere", () => {
    const model = resolveCostModel({
      defaultCost: 3,
      instructions: { select: 7, 'i32.add': 2, 'memory.fill': 11, 'i32x4.add': 5 },
    });
    if (!model.ok) throw new Error(model.error.message);
    const { instructions, defaultCost } = model.value;
    const lookup = costLookup(model.value);
    for (const op of OPCODES) {
      const cost =
        op.prefix === undefined ? lookup.single[op.code] : (lookup.prefixed.get(op.key) ?? lookup.fallback);
      expect(cost, op.name).toBe(instructions[op.name] ?? defaultCost);
    }
  });
});

describe('planCharges', () => {
  it('pays a spine of blocks and ifs once, at its start', () => {
    const scan = scanFirst(`(module (func (param i32) (result i32)
      (block (drop (i32.const 1)))
      (if (local.get 0) (then (drop (i32.const 2))))
      (i32.add (i32.const 3) (i32.const 4))))`);
    // Blocks: entry and the block | after it, to the if | the then-body | after the if.
    expect(numbers(scan.blockCosts)).toEqual([1 + 2, 2, 2, 3]);
    const plan = planCharges(scan, true);
    expect(numbers(plan.charges)).toEqual([3 + 2 + 3, 0, 2, 0]);
    // The body's last `end` is an exit where the counter is stored; nothing is given back.
    expect(numbers(plan.refunds)).toEqual([0]);
    expect(flags(plan.exitLeaves)).toEqual([true]);
    // Planned again (into the same lists), without paying ahead.
    expect(paid(planCharges(scan, false).charges)).toEqual([3, 2, 2, 3]);
  });

  it('pays what both arms of an if-else cost before the if, and each arm only the rest', () => {
    const scan = scanFirst(`(module (func (param i32) (result i32)
      (if (result i32) (local.get 0)
        (then (i32.add (i32.const 1) (i32.const 2)))
        (else (i32.const 3)))))`);
    // Blocks: entry (1 + local.get + if) | then (3) | else (1) | the body's end, after the if.
    expect(numbers(scan.blockCosts)).toEqual([1 + 2, 3, 1, 0]);
    expect(numbers(scan.constructs.elses)).toEqual([0, 2]);
    // The else arm costs less: its 1 is paid with the entry, the then arm pays its other 2.
    expect(numbers(planCharges(scan, true).charges)).toEqual([3 + 1, 2, 0, 0]);
    // Block by block, each pays its own.
    expect(numbers(planCharges(scan, false).charges)).toEqual([3, 3, 1, 0]);

    // Nested: the inner if's cheaper arm moves to the outer then arm's first block, and from there
    // the outer arms' common part to the entry. An if without an else keeps its arm's charge.
    const nested = scanFirst(`(module (func (param i32)
      (if (local.get 0)
        (then (if (local.get 0) (then ${drops(1)}) (else ${drops(2)})))
        (else ${drops(3)}))
      (if (local.get 0) (then ${drops(1)}))))`);
    // Blocks: entry 3 | outer then: local.get + if 2 | inner then 2 | inner else 4 | after the inner if
    // (the outer else) | outer else 6 | after the outer if: local.get + if 2 | the last then 2 | after it.
    expect(numbers(nested.blockCosts)).toEqual([3, 2, 2, 4, 0, 6, 2, 2, 0]);
    // The inner then's 2 moves to the outer then's first block (now 4), the outer arms' common 4 to the
    // entry, which also pays the join after the outer if (2). Every path costs what it did.
    expect(numbers(planCharges(nested, true).charges)).toEqual([3 + 4 + 2, 0, 0, 2, 0, 2, 0, 2, 0]);
  });

  it('gives back what an early return or an outward br skips', () => {
    const scan = scanFirst(`(module (func (param i32)
      (block $out
        (if (local.get 0) (then (br $out)))
        (drop (i32.const 1)) (drop (i32.const 2)))
      (if (local.get 0) (then (return)))
      (drop (i32.const 3))))`);
    const plan = planCharges(scan, true);
    // Entry pays: entry 1, local.get + if 2, then (after the if) 4 + the second if's 2 + 2 after it.
    expect(plan.charges.at(0)).toBe(1 + 2 + 4 + 2 + 2);
    // The br skips the 4 left in the block (the code after it was paid by the entry too, and runs).
    // The return skips the last 2, and leaves.
    expect(numbers(plan.refunds).slice(0, 2)).toEqual([4, 2]);
    expect(flags(plan.exitLeaves).slice(0, 2)).toEqual([false, true]);
  });

  it('turns a forward br_if into a give-back on its taken edge', () => {
    const scan = scanFirst(`(module (func (param i32)
      (block $done
        (br_if $done (local.get 0))
        (drop (i32.const 1)) (drop (i32.const 2)))))`);
    const plan = planCharges(scan, true);
    expect(paid(plan.charges)).toEqual([1 + 2 + 4]);
    const at = numbers(plan.exitLabel).findIndex((label) => label >= 0);
    expect(plan.exitLabel.at(at)).toBe(0);
    expect(plan.refunds.at(at)).toBe(4);
    expect(plan.exitEnd.at(at)).toBeGreaterThan(plan.exitAt.at(at));
  });

  it('keeps what a br_if to a loop, a br_if with a value or a br_table jumps past out of it', () => {
    const loop = scanFirst(`(module (func (param i32)
      (loop $again
        (block (br_if $again (local.get 0)))
        (drop (i32.const 1)))))`);
    expect(flags(loop.constructs.hoistable)).toEqual([true, false]);
    expect(numbers(planCharges(loop, true).exitLabel).every((label) => label < 0)).toBe(true);

    const valued = scanFirst(`(module (func (param i32) (result i32)
      (block (result i32)
        (block (drop (br_if 1 (i32.const 7) (local.get 0))))
        (i32.const 1))))`);
    expect(flags(valued.constructs.hoistable)).toEqual([true, false]);

    const table = scanFirst(`(module (func (param i32)
      (block $a (block $b (br_table $a $b (local.get 0))) (drop (i32.const 1)))))`);
    expect(flags(table.constructs.hoistable)).toEqual([true, false]);
  });

  it('finds the loops that cannot trap or call, and where control goes when they end', () => {
    const exits = scanFirst(`(module (func (param i32) (result i32) (local i32)
      (block $done
        (loop $next
          (br_if $done (i32.ge_u (local.get 1) (local.get 0)))
          (local.set 1 (i32.add (local.get 1) (i32.const 1)))
          (br $next)))
      (local.get 1)))`);
    // Blocks: entry | header | after the br_if | the loop's end (after the br) | after the loop (its
    // join, where it falls out) | after the block (where the br_if leaves it for).
    expect(numbers(exits.quiet.headers)).toEqual([1]);
    expect([...new Set(numbers(exits.quiet.stores))].sort()).toEqual([4, 5]);

    for (const body of [
      '(loop (drop (i32.load (i32.const 0))))',
      '(loop (drop (i32.div_u (local.get 0) (local.get 0))))',
      '(loop (br_if 1 (local.get 0)))',
      '(block (loop (loop (br_if 1 (local.get 0)))))',
      '(loop (call 0 (local.get 0)))',
    ]) {
      const noisy = scanFirst(`(module (memory 1) (func (param i32) ${body}))`);
      // A branch to an outer loop leaves the inner one, which then stores as usual; the outer stays quiet.
      expect(numbers(noisy.quiet.headers), body).toEqual(body.includes('(loop (loop') ? [1] : []);
    }
  });

  it('finds the innermost loops that call nothing, and the branches that leave them', () => {
    const source = `(module (type $take (func (param i32))) (memory 1) (func (param i32) (result i32)
      (block $out
        (loop $a
          (br_if $out (local.get 0))
          (block $in (br_table $in $a $out (local.get 0)))
          (br $a))
        (loop $b (call 0 (local.get 0)) (br $b))
        (loop $c (loop $d (br_if $c (local.get 0)) (br $d)))
        (i32.const 0)
        (loop $e (type $take) (drop))
        (loop $f (drop (memory.grow (i32.const 0))))
        (loop $g (memory.fill (i32.const 0) (i32.const 0) (i32.const 0))))
      (i32.const 5)))`;
    const scan = scanFirst(source);
    const code = firstBody(source);
    // $a and $d: $b calls, $c holds a loop, $e takes a parameter, $f grows memory, $g fills it.
    expect(numbers(scan.hot.start).map((at) => code[at])).toEqual([0x03, 0x03]);
    expect(numbers(scan.hot.end).map((at) => code[at - 1])).toEqual([0x0b, 0x0b]);
    // Each header is the block that starts right after its loop's block type.
    expect(numbers(scan.hot.header).map((b) => scan.blockStarts.at(b))).toEqual(
      numbers(scan.hot.start).map((at) => at + 2),
    );
    // The br_if to $out (labels from 1 leave $a), the br_table in $in (from 2), the br_if to $c (from 1);
    // not the br to $a or to $d.
    const relabels = [];
    for (let i = 0; i < scan.hot.relabels.length; i += 2)
      relabels.push([code[scan.hot.relabels.at(i)], scan.hot.relabels.at(i + 1)]);
    expect(relabels).toEqual([
      [0x0d, 1],
      [0x0e, 2],
      [0x0d, 1],
    ]);
  });

  it('checks before an indirect call unless its table is one of the own tables, and reports table writes', () => {
    const source = `(module (type $t (func)) (table $a 1 funcref) (table $b 1 funcref) (func (param i32)
      (if (local.get 0) (then (call_indirect $a (type $t) (i32.const 0))))
      (if (local.get 0) (then (call_indirect $b (type $t) (i32.const 0))))))`;
    // Blocks: entry | first then | after it | second then | after it.
    expect(flags(scanFirst(source, new Set([0])).blockChecks)).toEqual([true, false, false, true, false]);
    expect(flags(scanFirst(source, new Set([0, 1])).blockChecks)).toEqual([true, false, false, false, false]);
    expect(scanFirst(source).writesTables).toBe(false);
    for (const write of [
      '(table.set $b (i32.const 0) (ref.null func))',
      '(drop (table.grow $b (ref.null func) (i32.const 1)))',
      '(table.fill $b (i32.const 0) (ref.null func) (i32.const 1))',
      '(table.copy $a $b (i32.const 0) (i32.const 0) (i32.const 1))',
    ])
      expect(scanFirst(source.replace('(param i32)', `(param i32) ${write}`)).writesTables, write).toBe(true);
  });

  it('has no hot loops where an exception may be caught', () => {
    const scan = scanFirst(`(module (tag $e) (func (param i32)
      (loop $l (br_if $l (local.get 0)))
      (try (do (nop)) (catch_all))))`);
    expect(numbers(scan.hot.start)).toEqual([]);
  });

  it('pays each block itself where an exception may be caught', () => {
    const scan = scanFirst(`(module (tag $e) (func
      (try (do (block (drop (i32.const 1)))) (catch_all))
      (drop (i32.const 2))))`);
    expect(scan.catches).toBe(true);
  });
});

describe('scan lists', () => {
  /** Every field of a scan and its plans, as plain values. */
  const snapshotOf = (scan: BodyScan) => {
    const { constructs, exits, quiet, hot } = scan;
    const lists_ = (record: Record<string, NumberList>) =>
      Object.fromEntries(Object.entries(record).map(([name, list]) => [name, numbers(list)]));
    const planOf = (hoist: boolean) => lists_({ ...planCharges(scan, hoist) });
    return {
      blocks: lists_({ starts: scan.blockStarts, costs: scan.blockCosts, checks: scan.blockChecks }),
      specials: numbers(scan.specials),
      flags: [scan.needsScratch, scan.catches, scan.writesTables],
      constructs: lists_({ ...constructs }),
      exits: lists_({ ...exits }),
      quiet: lists_({ ...quiet }),
      hot: lists_({ ...hot }),
      hoisted: planOf(true),
      blockByBlock: planOf(false),
    };
  };

  it('give each body, scanned after others with the same lists, the scan it has on fresh ones', () => {
    const loops = wat(`(module (memory 1) (tag $e)
      (func (param i32) (result i32) (local i32)
        (block $done (loop $next
          (br_if $done (i32.ge_u (local.get 1) (local.get 0)))
          (local.set 1 (i32.add (local.get 1) (i32.const 1)))
          (br $next)))
        (if (result i32) (local.get 0) (then (i32.const 1)) (else (local.get 1))))
      (func (param i32) (loop $l (br_if $l (local.get 0))) (try (do (nop)) (catch_all)))
      (func (param i32) (block $a (block $b (br_table $a $b (local.get 0))) (memory.fill (i32.const 0) (i32.const 0) (i32.const 1)))))`);
    const shared = new ScanLists();
    let bodies = 0;
    for (const bytes of [fixture('sort'), fixture('sha256'), fixture('matmul'), loops, fixture('sort')]) {
      const module = decodeModule(bytes);
      const callees = { importedFunctions: importedFunctionCount(module), ownTables: new Set<number>() };
      module.code.forEach((body, i) => {
        const labels = {
          types: module.types,
          results: module.types[module.functions[i] as number]?.results.length ?? 0,
        };
        const fresh = snapshotOf(scanBody(body.code, COSTS, callees, labels));
        expect(snapshotOf(scanBody(body.code, COSTS, callees, labels, [], shared))).toEqual(fresh);
        bodies++;
      });
    }
    expect(bodies).toBeGreaterThan(20);
  });
});
