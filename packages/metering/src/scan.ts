/**
 * A fast scan of a function body for the instrumenter: block boundaries with
 * their static costs, and the few instructions that must be rewritten. It
 * runs on bytes that already passed validation. This module classifies the
 * opcodes (lookup tables by opcode) and plans the charges; the walk itself
 * runs in WebAssembly (c/scan.c, through `./scan-kernel`), which reads those
 * tables.
 */
import {
  type InstructionVisitor,
  OPCODES,
  type RiderInsertions,
  Visitors,
  type Opcode,
  PREFIX_ATOMIC,
  PREFIX_MISC,
  PREFIX_SIMD,
  WasmDecodeError,
  instructionEnd,
  walkEnd,
} from '@ri-sandbox/core';
import type { FuncType } from '@ri-sandbox/core';
import type { CostModel } from './cost-model';
import { NumberList } from './lists';
import { BLOCK, BR, BR_IF, BR_TABLE, DELEGATE, ELSE, END, IF, LOOP, TRY } from './opcodes';
import { type IndexBounds, ScanKernel, type ScanTables, UNKNOWN_INDEX, UNKNOWN_OPCODE } from './scan-kernel';

/** Instructions after which a new straight-line block starts: branch targets and branches. */
export const SPLIT_AFTER: ReadonlySet<string> = new Set([
  'loop',
  'if',
  'else',
  'end',
  'try',
  'catch',
  'catch_all',
  'delegate',
  'br',
  'br_if',
  'br_table',
  'return',
  'unreachable',
  'throw',
  'rethrow',
  'return_call',
  'return_call_indirect',
]);

/** Bulk operations whose size operand (on top of the stack) is charged per unit. */
const BULK_MEMORY: ReadonlySet<string> = new Set(['memory.fill', 'memory.copy', 'memory.init']);
const BULK_TABLE: ReadonlySet<string> = new Set(['table.fill', 'table.copy', 'table.init', 'table.grow']);

/** Instructions the rewriter must change. */
const CALL = 1; // a function index immediate: call, return_call, ref.func
const GROW = 2; // memory.grow
const BULK_MEMORY_OP = 3;
const BULK_TABLE_OP = 4;
/** After it, the counter may have changed behind the function's back: call_indirect, catch, catch_all. */
const RELOAD = 5;

const SPLITS = new Uint8Array(256);
const SPECIAL = new Uint8Array(256);
/**
 * Calls that need a check before them, so that the host is never called on a
 * negative balance: indirect ones (1), which may reach an import unless their
 * table holds only the module's own functions, and direct ones (2), which do
 * when their target is imported. A defined function checks at its own entry.
 */
const CALLS = new Uint8Array(256);
const INDIRECT = 1;
const DIRECT = 2;
const TABLE_SET = 0x26;

// Control opcodes the construct tracking follows.
const OPENS = new Uint8Array(256);
for (const code of [BLOCK, LOOP, IF, TRY]) OPENS[code] = 1;
/**
 * Instructions that can neither trap nor call nor leave the function: control,
 * locals and globals, constants, and the numeric instructions other than
 * integer division and remainder and the trapping float-to-integer
 * conversions. A loop made only of them cannot be stopped part-way but by its
 * own check (see {@link QuietLoops}).
 */
const QUIET = new Uint8Array(256);
for (const code of [0x01, 0x02, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x1a, 0x1b, 0x1c, 0x3f])
  QUIET[code] = 1;
for (let code = 0x20; code <= 0x24; code++) QUIET[code] = 1;
for (let code = 0x41; code <= 0xc4; code++) QUIET[code] = 1;
for (const code of [
  0x6d, 0x6e, 0x6f, 0x70, 0x7f, 0x80, 0x81, 0x82, 0xa8, 0xa9, 0xaa, 0xab, 0xae, 0xaf, 0xb0, 0xb1,
])
  QUIET[code] = 0;

/** Instructions that leave the function: return, return_call, return_call_indirect. */
const LEAVES = new Uint8Array(256);
for (const code of [0x0f, 0x12, 0x13]) LEAVES[code] = 1;
for (const op of OPCODES) {
  if (op.prefix !== undefined) continue;
  if (SPLIT_AFTER.has(op.name)) SPLITS[op.code] = 1;
  if (op.immediate === 'function') SPECIAL[op.code] = CALL;
  if (op.name === 'memory.grow') SPECIAL[op.code] = GROW;
  if (op.name === 'call_indirect' || op.name === 'catch' || op.name === 'catch_all')
    SPECIAL[op.code] = RELOAD;
  if (op.name === 'call_indirect' || op.name === 'return_call_indirect') CALLS[op.code] = INDIRECT;
  if (op.name === 'call' || op.name === 'return_call') CALLS[op.code] = DIRECT;
}
/** Instructions the scan's structure follows (see `control` in c/scan.c): constructs, their ends, branches, exits. */
const CONTROL = new Uint8Array(256);
for (let code = 0; code < 256; code++) if (OPENS[code] === 1 || LEAVES[code] === 1) CONTROL[code] = 1;
for (const code of [END, DELEGATE, ELSE, BR, BR_IF, BR_TABLE]) CONTROL[code] = 1;
const PREFIXES = new Uint8Array(256);
for (const prefix of [PREFIX_MISC, PREFIX_SIMD, PREFIX_ATOMIC]) PREFIXES[prefix] = 1;
/**
 * Single-byte instructions that only add their cost: no split, no rewrite, no
 * call, no construct or branch. `PLAIN_QUIET` for those that can neither trap
 * nor call (see `QUIET`), `PLAIN_TRAPS` for the others; 0 for the rest.
 */
const PLAIN = new Uint8Array(256);
const PLAIN_QUIET = 1;
const PLAIN_TRAPS = 2;
for (const op of OPCODES) {
  const { code } = op;
  if (op.prefix !== undefined || PREFIXES[code] === 1) continue;
  if (SPLITS[code] === 1 || SPECIAL[code] !== 0 || CALLS[code] !== 0 || CONTROL[code] === 1) continue;
  PLAIN[code] = QUIET[code] === 1 ? PLAIN_QUIET : PLAIN_TRAPS;
}
// Writes a table: the scan reports it (see `BodyScan.writesTables`).
PLAIN[TABLE_SET] = 0;

/** The classes of each opcode, as the compiled scan reads them (see `ScanTables`). */
const SCAN_TABLES: ScanTables = {
  singleClass: Uint8Array.from(
    { length: 256 },
    (_, code) =>
      (SPLITS[code] === 1 ? 1 : 0) |
      (OPENS[code] === 1 ? 2 : 0) |
      (LEAVES[code] === 1 ? 4 : 0) |
      (CONTROL[code] === 1 ? 8 : 0) |
      (QUIET[code] === 1 ? 16 : 0) |
      (PREFIXES[code] === 1 ? 32 : 0),
  ),
  singleSpecial: SPECIAL,
  singleCalls: CALLS,
  prefixedSpecial: new Map(
    [PREFIX_MISC, PREFIX_SIMD, PREFIX_ATOMIC].map((prefix) => {
      const kinds = new Uint8Array(512);
      for (const op of OPCODES)
        if (op.prefix === prefix)
          kinds[op.code] = BULK_MEMORY.has(op.name)
            ? BULK_MEMORY_OP
            : BULK_TABLE.has(op.name)
              ? BULK_TABLE_OP
              : 0;
      return [prefix, kinds];
    }),
  ),
};

/** The last table {@link plainUnwanted} made, and the visitors' table it was made for. */
let lastWanted: Uint8Array | undefined;
let lastPlainUnwanted = PLAIN;

/**
 * `PLAIN`, but 0 at the instructions some visitor must be shown (`wanted`): the scan's fast path,
 * which shows nothing. (Those take the general path, which shows them.) Bodies of one module are
 * scanned with the same visitors' table: the last one made is kept.
 */
function plainUnwanted(wanted: Uint8Array): Uint8Array {
  if (wanted !== lastWanted) {
    lastPlainUnwanted = PLAIN.map((plain, byte) => (wanted[byte] === 1 ? 0 : plain));
    lastWanted = wanted;
  }
  return lastPlainUnwanted;
}

/** Costs by opcode, as lookups the scan can afford per instruction. */
export interface CostLookup {
  readonly entry: number;
  readonly single: Float64Array;
  readonly prefixed: ReadonlyMap<number, number>;
  readonly fallback: number;
}

/** The opcodes of each instruction name (`select` has two encodings). */
const OPCODES_BY_NAME = new Map<string, Opcode[]>();
for (const op of OPCODES) OPCODES_BY_NAME.set(op.name, [...(OPCODES_BY_NAME.get(op.name) ?? []), op]);

/**
 * Builds the lookup for `model`: the default cost everywhere, then the
 * model's own costs (a handful), rather than a look-up per opcode.
 */
export function costLookup(model: CostModel): CostLookup {
  const single = new Float64Array(256).fill(model.defaultCost);
  const prefixed = new Map<number, number>();
  for (const [name, cost] of Object.entries(model.instructions)) {
    for (const op of OPCODES_BY_NAME.get(name) ?? []) {
      if (op.prefix === undefined) single[op.code] = cost;
      else prefixed.set(op.key, cost);
    }
  }
  return { entry: model.functionEntry, single, prefixed, fallback: model.defaultCost };
}

/**
 * The result of scanning one body: its lists are those of the {@link ScanLists}
 * it was made with (whether-flags are 1 or 0), and so is the record itself,
 * good until their next scan.
 */
export interface BodyScan {
  /** Offset where each straight-line block starts, in order (the first is 0). */
  readonly blockStarts: NumberList;
  /** Static cost of each block. */
  readonly blockCosts: NumberList;
  /**
   * Whether each block must check the counter after charging: the function's
   * entry, loop headers, and blocks that call an import or call indirectly.
   * Other blocks only subtract.
   */
  readonly blockChecks: NumberList;
  /** Instructions to rewrite, as consecutive (start offset, end offset, kind) triples, in order. */
  readonly specials: NumberList;
  /** Whether a bulk operation needs a scratch local. */
  readonly needsScratch: boolean;
  /** Whether the body has a `try`: an exception may then be caught, and skip code that was paid for. */
  readonly catches: boolean;
  /** Whether the body writes a table (`table.set`, `.grow`, `.fill`, `.copy`, `.init`). */
  readonly writesTables: boolean;
  /** The structured constructs (`block`, `loop`, `if`, `try`), in the order they open. */
  readonly constructs: Constructs;
  /** The unconditional exits (`br`, `return`, tail calls), in order. */
  readonly exits: Exits;
  /** Loops that cannot trap or call, and where the counter must be stored after them. */
  readonly quiet: QuietLoops;
  /** Innermost loops that call nothing: their checks ask for gas outside them (see {@link HotLoops}). */
  readonly hot: HotLoops;
  /** The lists the scan was made with (its kernel's): good until their next scan. */
  readonly lists: ScanLists;
}

/**
 * Innermost loops that call nothing (no call of any kind, `memory.grow` or
 * bulk operation, so that their header's check is the only place in them that
 * may ask for gas) and take no parameters, in a body without `try`. Their
 * instrumentation asks for gas outside the loop: the header's check branches
 * out to a refill that enters the loop again. With no call left in it, the
 * engine may unroll such a loop (V8 unrolls small innermost loops without
 * calls); a call on the check's cold path kept it from doing so. The loop is
 * wrapped in three constructs, so branches in it to labels outside it are
 * renumbered.
 */
export interface HotLoops {
  /** Offset of each one's `loop` instruction. */
  readonly start: NumberList;
  /** Its header block (the one that checks). */
  readonly header: NumberList;
  /** Offset just past its `end`. */
  readonly end: NumberList;
  /**
   * The branches in them to a label outside them, as (offset, first label
   * outside) pairs in order: labels from that one on move by three.
   */
  readonly relabels: NumberList;
}

/**
 * Loops made only of instructions that can neither trap nor call (see
 * `QUIET`), and that no branch leaves for a loop or the caller: nothing in
 * them reads the counter global, so their headers need not store it (their
 * checks do, before asking for gas), as long as it is stored where control
 * goes when they end. The gas a later trap reports then never depends on
 * where the clock-driven refills happened.
 */
export interface QuietLoops {
  /** The header blocks of quiet loops. */
  readonly headers: NumberList;
  /** Blocks that must store the counter as they start: where quiet loops end up. */
  readonly stores: NumberList;
}

/** Per construct: where it opens and where control joins after it, and whether its join can be paid early. */
export interface Constructs {
  /** The block holding the construct's opening instruction. */
  readonly opener: NumberList;
  /** The block that starts right after its `end` (or `delegate`), or -1 when the body ends there. */
  readonly join: NumberList;
  /** Whether (1) or not (0) no conditional branch (`br_if`, `br_table`) inside it jumps past its join. */
  readonly hoistable: NumberList;
  /** The construct it opens in (-1 at the body's top; -1 for the block after a `br_if`, which none holds). */
  readonly parent: NumberList;
  /**
   * The `if`s with an `else`, as (construct, first block of the `else` arm)
   * pairs in the order of their `else`s. The first block of the `then` arm is
   * the one after the construct's opener.
   */
  readonly elses: NumberList;
}

/**
 * Per exit that can give back what was paid for code it skips (`br`, `return`
 * and tail calls, and `br_if` to a block, not a loop, without values, whose
 * taken edge the instrumentation turns into `if { give back; br }`) or that
 * may leave the function (those, any branch to the function's label, and its
 * last `end`): its offset, which constructs it leaves (`count` of them from
 * `innermost` outward, through `Constructs.parent`, and `also`, the block
 * after a `br_if`, or -1), and for a rewritable `br_if` its label and where
 * the instruction ends (-1 for the others).
 */
export interface Exits {
  readonly at: NumberList;
  readonly innermost: NumberList;
  readonly count: NumberList;
  readonly also: NumberList;
  readonly label: NumberList;
  readonly end: NumberList;
  /** Whether (1) or not (0) it may leave the function (where a lazily kept counter must be stored). */
  readonly leaves: NumberList;
}

/** What the calls of a body can reach, to know which need a check before them. */
export interface Callees {
  /** How many functions the module imports: a direct call below this index calls the host. */
  readonly importedFunctions: number;
  /**
   * The tables whose indirect calls reach only the module's own functions
   * (see `ownTables`): those are checked at the callee's entry.
   */
  readonly ownTables: ReadonlySet<number>;
}

/** What branching to a label carries, to know which `br_if`s can be rewritten. */
export interface LabelTypes {
  /** The module's function types, for block types given by index. */
  readonly types: readonly FuncType[];
  /** How many results the function has: what a branch to its outermost label carries. */
  readonly results: number;
}

/**
 * The lists of one body's scan and charge plan (see {@link NumberList}): a
 * scan or plan made with them is good until the next one made with them.
 */
export class ScanLists {
  readonly blockStarts = new NumberList();
  readonly blockCosts = new NumberList();
  readonly blockChecks = new NumberList();
  readonly specials = new NumberList();
  /** The instructions to show the visitors, as (start, end) pairs. */
  readonly shown = new NumberList();
  readonly constructs: Constructs = {
    opener: new NumberList(),
    join: new NumberList(),
    hoistable: new NumberList(),
    parent: new NumberList(),
    elses: new NumberList(),
  };
  readonly exits: Exits = {
    at: new NumberList(),
    innermost: new NumberList(),
    count: new NumberList(),
    also: new NumberList(),
    label: new NumberList(),
    end: new NumberList(),
    leaves: new NumberList(),
  };
  readonly quiet: QuietLoops = { headers: new NumberList(), stores: new NumberList() };
  readonly hot: HotLoops = {
    start: new NumberList(),
    header: new NumberList(),
    end: new NumberList(),
    relabels: new NumberList(),
  };
  /** The compiled scan these lists view, made on the first scan. */
  private kernelMade: ScanKernel | undefined;
  /** The module whose types and tables the flags below are of. */
  private flagsOf: readonly FuncType[] | undefined;
  private ownOf: ReadonlySet<number> | undefined;
  /** Per function type, whether it takes (bit 0) and gives (bit 1) nothing; per table, whether it is own. */
  typeFlags = new Uint8Array(0);
  ownFlags = new Uint8Array(0);
  /**
   * What the last scan found (see {@link scanBody}): one record for every scan, whose flags each scan
   * writes over (a record per body was 2 MB of ruby.wasm's transform), good until the next.
   */
  readonly scanned: { -readonly [K in keyof BodyScan]: BodyScan[K] } = {
    blockStarts: this.blockStarts,
    blockCosts: this.blockCosts,
    blockChecks: this.blockChecks,
    specials: this.specials,
    needsScratch: false,
    catches: false,
    writesTables: false,
    constructs: this.constructs,
    exits: this.exits,
    quiet: this.quiet,
    hot: this.hot,
    lists: this,
  };
  // The charge plan's.
  readonly charges = new NumberList();
  readonly exitAt = new NumberList();
  readonly refunds = new NumberList();
  readonly exitLabel = new NumberList();
  readonly exitEnd = new NumberList();
  readonly exitLeaves = new NumberList();
  /** The compiled scan, writing into these lists. */
  get kernel(): ScanKernel {
    if (this.kernelMade === undefined) {
      const { constructs: c, exits: x, quiet: q, hot: h } = this;
      this.kernelMade = new ScanKernel(SCAN_TABLES, [
        this.blockStarts,
        this.blockCosts,
        this.blockChecks,
        this.specials,
        this.shown,
        c.opener,
        c.join,
        c.hoistable,
        c.parent,
        c.elses,
        x.at,
        x.innermost,
        x.count,
        x.also,
        x.label,
        x.end,
        x.leaves,
        q.headers,
        q.stores,
        h.start,
        h.header,
        h.end,
        h.relabels,
        this.charges,
        this.exitAt,
        this.refunds,
        this.exitLabel,
        this.exitEnd,
        this.exitLeaves,
      ]);
    }
    return this.kernelMade;
  }

  /** The flags of `labels.types` and `callees.ownTables` (kept from the last body of the same module). */
  flagsFor(types: readonly FuncType[], own: ReadonlySet<number>): void {
    if (types !== this.flagsOf) {
      this.flagsOf = types;
      this.typeFlags = Uint8Array.from(
        types,
        (t) => (t.params.length === 0 ? 1 : 0) | (t.results.length === 0 ? 2 : 0),
      );
    }
    if (own !== this.ownOf) {
      this.ownOf = own;
      this.ownFlags = new Uint8Array(own.size === 0 ? 0 : Math.max(...own) + 1);
      for (const table of own) this.ownFlags[table] = 1;
    }
  }

  /** The visitors the last body was shown to (see {@link scanBody}), until {@link release}. */
  visitors: Visitors | undefined;
  /** The riders' insertions of the body being written (see `meterBody`), until {@link release}. */
  readonly finished: RiderInsertions[] = [];

  /**
   * Lets go of what the lists held of the last module (its visitors and riders), which
   * lists kept for the next metering would otherwise keep alive; the numbers stay.
   */
  release(): void {
    this.visitors = undefined;
    this.finished.length = 0;
  }

  /** Bytes of memory the kernel holds (the last metering's bodies among them); 0 before it is made. */
  get kernelBytes(): number {
    return this.kernelMade?.memoryBytes ?? 0;
  }
}

/** `visitors` as the walk shows them instructions: the ones the last body had, if they are the same scans. */
function visitorsOf(visitors: readonly InstructionVisitor[], lists: ScanLists): Visitors {
  const last = lists.visitors;
  if (last !== undefined && last.are(visitors)) return last;
  lists.visitors = new Visitors(visitors);
  return lists.visitors;
}

/** Index spaces without end: no index is checked. */
const UNBOUNDED: IndexBounds = {
  locals: Infinity,
  globals: Infinity,
  functions: Infinity,
  types: Infinity,
  elements: Infinity,
  memories: Infinity,
};

/**
 * Scans `code` (instruction bytes of a function body) of a module
 * whose calls reach `callees`, into `lists`, in WebAssembly (c/scan.c):
 * blocks and their costs, as each instruction adds its cost from `costs` and
 * a block starts after every branch and branch target; the instructions the
 * rewriter changes; the constructs, exits, quiet loops and hot loops the
 * charge plan and the writer need; and each instruction some visitor asked
 * for, shown to it once the body is scanned. Throws `WasmDecodeError` on an
 * unknown opcode, a body cut short, or an index past `bounds` (or past the
 * types) where metering or the transforms riding along it add to that index
 * space: a body nobody validated must not come out naming what they added.
 */
export function scanBody(
  code: Uint8Array,
  costs: CostLookup,
  callees: Callees,
  labels: LabelTypes,
  /** Other transforms' scans, shown the instructions they asked for. */
  visitors: readonly InstructionVisitor[] = [],
  lists: ScanLists = new ScanLists(),
  /**
   * The index spaces' sizes; by default none is checked (for bodies known valid), but `memory.grow`
   * must still name memory 0, which its helper grows.
   */
  bounds: IndexBounds = UNBOUNDED,
): BodyScan {
  const shown = visitorsOf(visitors, lists);
  const { wanted } = shown;
  const kernel = lists.kernel;
  kernel.setCosts(costs, costs.single, costs.prefixed, costs.fallback);
  kernel.setWanted(wanted, plainUnwanted(wanted));
  lists.flagsFor(labels.types, callees.ownTables);
  const outcome = kernel.scan(
    code,
    costs.entry,
    callees.importedFunctions,
    lists.typeFlags,
    lists.ownFlags,
    labels.results,
    bounds,
  );
  if (outcome === UNKNOWN_INDEX) throw new WasmDecodeError(`unknown ${kernel.unknownIndex}`, kernel.where);
  if (outcome === UNKNOWN_OPCODE) {
    instructionEnd(code, kernel.where);
    throw new WasmDecodeError(
      `unknown opcode 0x${(code[kernel.where] as number).toString(16)}`,
      kernel.where,
    );
  }
  walkEnd(kernel.where, code.length);
  const pairs = lists.shown;
  for (let i = 0; i < pairs.length; i += 2) shown.show(code, pairs.at(i), pairs.at(i + 1));
  const { scanned } = lists;
  scanned.needsScratch = kernel.flag('needsScratch');
  scanned.catches = kernel.flag('catches');
  scanned.writesTables = kernel.flag('writesTables');
  return scanned;
}

/**
 * What a body pays, and where: see {@link planCharges}. Its lists are those of
 * the {@link ScanLists} it was made with (whether-flags are 1 or 0).
 */
export interface ChargePlan {
  /** The charge at the start of each block (0 for a block paid by the block that opens its construct). */
  readonly charges: NumberList;
  /** Offsets of exits that give back what was paid for code they skip, or that leave the function. */
  readonly exitAt: NumberList;
  /** The amount each gives back (may be 0). */
  readonly refunds: NumberList;
  /** For a `br_if` among them, its label and where it ends (see {@link Exits}); -1 for the others. */
  readonly exitLabel: NumberList;
  readonly exitEnd: NumberList;
  /** Whether (1) or not (0) each may leave the function: the counter kept in a local must be stored there. */
  readonly exitLeaves: NumberList;
}

/**
 * Where a scanned body pays, planned in its lists (in WebAssembly, c/plan.c),
 * good until they plan or scan again. Without `hoist`, each block
 * pays its own cost.
 * With it, the block after a construct (its join) is paid by the block that
 * opens the construct, and the block after a forward `br_if` by the block
 * that ends with it: every path then reaches what was paid, except exits,
 * which give back what they skip (a `br_if` on its taken edge only). A `br_if`
 * that cannot (to a loop, or carrying values) and a `br_table` keep the
 * joins they jump past out of this. One arm of an `if` with an `else` surely
 * runs, so what the cheaper arm's first block costs is paid before the `if`,
 * and both arms pay only the rest. A straight spine of `if`s, `block`s and
 * early exits pays once at its start. Exceptions that are caught would skip
 * paid code without a refund, so hoisting is for modules without `try`.
 */
export function planCharges(scan: BodyScan, hoist: boolean): ChargePlan {
  const { lists } = scan;
  lists.kernel.plan(hoist);
  return {
    charges: lists.charges,
    exitAt: lists.exitAt,
    refunds: lists.refunds,
    exitLabel: lists.exitLabel,
    exitEnd: lists.exitEnd,
    exitLeaves: lists.exitLeaves,
  };
}
