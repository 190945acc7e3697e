/**
 * Metering's kernel (c/scan.c, c/plan.c and c/write.c, built into
 * `./scan-module`): one instance of it, the tables it reads filled in, its
 * memory laid out for a body, the lists the scan and the charge plan write
 * (which the caller reads through {@link NumberList}s that view this memory),
 * the other transforms' insertions and the rewritten body. The algorithms are
 * documented in `./scan` and `./instrument`, which drive it.
 */
import {
  INSTRUCTION_LAYOUTS,
  OPCODES,
  PREFIX_ATOMIC,
  PREFIX_MISC,
  PREFIX_SIMD,
  WasmEncodeError,
  decodeBase64,
  thrownReason,
} from '@ri-sandbox/core';
import type { RiderInsertions } from '@ri-sandbox/core';
import type { NumberList } from './lists';
import { SCAN_MODULE } from './scan-module';

/** The prefixes, in the order of the kernel's per-prefix tables. */
const PREFIX_ORDER = [PREFIX_MISC, PREFIX_SIMD, PREFIX_ATOMIC];
const SUB_OPCODES = 512;
/** How many lists the kernel keeps (see `LIST_COUNT` in c/kernel.h); the first are its outputs. */
export const KERNEL_LISTS = 43;
/** Zero bytes the kernel may read past a body (see `scan` in c/scan.c). */
const PADDING = 64;
/** The fewest numbers a list's region holds. */
const MIN_CAPACITY = 1024;
const PAGE = 65536;

/** Per single-byte opcode and per prefixed one: what metering's scan makes of it. */
export interface ScanTables {
  /** Bits: 1 a block starts after it, 2 opens a construct, 4 leaves, 8 control, 16 quiet, 32 a prefix. */
  readonly singleClass: Uint8Array;
  /** The rewrite kind of each single-byte opcode (`SPECIAL`), and whether it calls (`CALLS`). */
  readonly singleSpecial: Uint8Array;
  readonly singleCalls: Uint8Array;
  /** Per prefix byte, the rewrite kind of each sub-opcode (bulk operations). */
  readonly prefixedSpecial: ReadonlyMap<number, Uint8Array>;
}

/**
 * Thrown when the scan cannot run: the engine refuses to compile or
 * instantiate it (a Content-Security-Policy without `wasm-unsafe-eval`; such
 * an engine refuses the guests too), or its memory cannot grow to what a body
 * and the bodies written before it need. `meterModule` turns it into
 * `INVALID_MODULE`.
 */
export class ScanUnavailable extends Error {
  override readonly name = 'ScanUnavailable';
}

/** Where the compiled module is, once compiled (per thread). */
let compiled: WebAssembly.Module | undefined;

interface Exports {
  readonly memory: WebAssembly.Memory;
  scan(
    code: number,
    end: number,
    entry: number,
    imported: number,
    flags: number,
    types: number,
    own: number,
    tables: number,
    results: number,
    locals: number,
    globals: number,
    functions: number,
    typeBound: number,
    elements: number,
    memories: number,
  ): void;
  prepare_dispatch(): void;
  plan_charges(hoist: number): void;
  write_body(
    code: number,
    end: number,
    hoist: number,
    unroll: number,
    imported: number,
    gas: number,
    fuel: number,
    grow: number,
    firstLocal: number,
    own: number,
    tables: number,
    memoryUnit: number,
    tableUnit: number,
    riders: number,
    out: number,
    capacity: number,
  ): void;
  heap_start(): number;
  readonly [table: string]: unknown;
}

/** What a body is written with (see `write_body` in c/write.c): the same for every body of a module. */
export interface WriteSettings {
  /** Whether straight-line code is paid ahead, and small hot loops get a fast version. */
  readonly hoist: boolean;
  readonly unroll: boolean;
  /** How many functions the module imports (calls of defined ones shift by one). */
  readonly importedFunctions: number;
  /** The counter global, and the fuel and grow helpers' function indices. */
  readonly gasGlobal: number;
  readonly fuelFunction: number;
  readonly growFunction: number;
  /** What a bulk memory operation costs per 64 bytes, and a bulk table operation per element. */
  readonly memoryUnit: number;
  readonly tableUnit: number;
}

/** What a write came to (see `written` in c/write.c): 0 if it went through, this, or 2 for a number too large. */
const OUT_OF_ROOM = 1;

/** What a scan came to (see `outcome` in c/scan.c): 0 if it went through, or one of these. */
const OVERFLOWED = 1;
export const UNKNOWN_OPCODE = 2;
export const UNKNOWN_INDEX = 3;

/**
 * The sizes of a module's index spaces that the scan checks a body's indices
 * against (see `index_space` in c/scan.c): the locals of the body's function
 * (parameters included), and the module's globals, functions, element
 * segments and memories, imports included, and its types.
 */
export interface IndexBounds {
  readonly locals: number;
  readonly globals: number;
  readonly functions: number;
  readonly types: number;
  readonly elements: number;
  readonly memories: number;
}

/** The index spaces in the order of c/scan.c's, as the engines name them ("unknown local 3"). */
const SPACE_NAMES = ['', 'local', 'global', 'function', 'type', 'type', 'element segment', 'memory'];

/** Views of the kernel's memory (see `ScanKernel.viewsOf`). */
interface Views {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly regions: Uint32Array;
  readonly lengths: Uint32Array;
  readonly outcome: Uint32Array;
  readonly written: Uint32Array;
  /** All of the memory, as 32-bit words. */
  readonly words: Uint32Array;
}

/**
 * One instance of the compiled scan. Its output lists are `outputs` (the
 * first lists of `KERNEL_LISTS`, in c/scan.c's order), whose storage it
 * replaces with views of its memory; they hold what the last scan wrote until
 * the next one.
 */
export class ScanKernel {
  private readonly exports: Exports;
  private readonly tableAt: (name: string) => number;
  /** Views of the kernel's memory, made again when it grows. */
  private views: Views;
  /** Where a body goes, the types' and tables' flags, and each list's region: offsets and capacities. */
  private codeAt = 0;
  private codeCapacity = 0;
  private flagsAt = 0;
  private flagsCapacity = 0;
  private ownAt = 0;
  private ownCapacity = 0;
  /** How many tables the last body's module has (their flags are at `ownAt`). */
  private ownLength = 0;
  /** Where the riders' insertions go (see {@link layRiders}), and the bodies written: after the lists. */
  private ridersAt = 0;
  private ridersCapacity = MIN_CAPACITY;
  private outputAt = 0;
  private outputCapacity = PAGE;
  /** Bytes of the bodies written since {@link startOutput}, one after another from `outputAt`. */
  private outputUsed = 0;
  private readonly capacities = new Array<number>(KERNEL_LISTS).fill(MIN_CAPACITY);
  /** What the tables hold now: set again only when the caller's change. */
  private costsOf: unknown;
  private wantedOf: Uint8Array | undefined;

  constructor(
    tables: ScanTables,
    private readonly outputs: readonly NumberList[],
  ) {
    try {
      compiled ??= new WebAssembly.Module(decodeBase64(SCAN_MODULE));
      this.exports = new WebAssembly.Instance(compiled).exports as unknown as Exports;
    } catch (error) {
      throw new ScanUnavailable(
        `the engine refuses to compile metering's scan (WebAssembly): ${thrownReason(error)}`,
      );
    }
    const exports = this.exports;
    this.tableAt = (name) => (exports[name] as WebAssembly.Global).value as number;
    this.views = this.viewsOf(exports.memory.buffer);
    const { bytes } = this.views;
    const single = this.tableAt('single_layout');
    bytes.set(INSTRUCTION_LAYOUTS.single, single);
    bytes.set(tables.singleClass, this.tableAt('single_class'));
    bytes.set(tables.singleSpecial, this.tableAt('single_special'));
    bytes.set(tables.singleCalls, this.tableAt('single_calls'));
    PREFIX_ORDER.forEach((prefix, i) => {
      bytes.set(
        INSTRUCTION_LAYOUTS.prefixed.get(prefix) as Uint8Array,
        this.tableAt('prefixed_layout') + i * SUB_OPCODES,
      );
      const special = tables.prefixedSpecial.get(prefix);
      if (special !== undefined) bytes.set(special, this.tableAt('prefixed_special') + i * SUB_OPCODES);
    });
    this.layOut(0, 0, 0);
  }

  /** The costs by opcode: single-byte ones, then per prefix and sub-opcode (the rest `fallback`). */
  setCosts(
    costs: object,
    single: Float64Array,
    prefixed: ReadonlyMap<number, number>,
    fallback: number,
  ): void {
    if (costs === this.costsOf) return;
    this.costsOf = costs;
    const { buffer } = this.views.bytes;
    new Float64Array(buffer, this.tableAt('single_cost'), 256).set(single);
    const table = new Float64Array(buffer, this.tableAt('prefixed_cost'), 3 * SUB_OPCODES);
    table.fill(fallback);
    for (const op of OPCODES) {
      if (op.prefix === undefined) continue;
      const cost = prefixed.get(op.key);
      if (cost !== undefined) table[PREFIX_ORDER.indexOf(op.prefix) * SUB_OPCODES + op.code] = cost;
    }
  }

  /** The scan's fast path (see `plainUnwanted` in `./scan`) and what the visitors want, by first byte. */
  setWanted(wanted: Uint8Array, plain: Uint8Array): void {
    if (wanted === this.wantedOf) return;
    this.wantedOf = wanted;
    this.views.bytes.set(wanted, this.tableAt('wanted'));
    this.views.bytes.set(plain, this.tableAt('plain'));
    this.exports.prepare_dispatch();
  }

  /**
   * Scans `code` (see `scan` in c/scan.c): `flags` per function type, `own`
   * per table. Returns what it came to (0, or `UNKNOWN_OPCODE` at
   * {@link where}); the output lists hold what it found.
   */
  scan(
    code: Uint8Array,
    entry: number,
    imported: number,
    flags: Uint8Array,
    own: Uint8Array,
    results: number,
    bounds: IndexBounds,
  ): number {
    if (
      code.length + PADDING > this.codeCapacity ||
      flags.length > this.flagsCapacity ||
      own.length > this.ownCapacity
    )
      this.layOut(code.length, flags.length, own.length);
    for (;;) {
      const { codeAt } = this;
      this.ownLength = own.length;
      const { bytes, lengths, outcome: outcomes } = this.views;
      bytes.set(code, codeAt);
      bytes.fill(0, codeAt + code.length, codeAt + code.length + PADDING);
      bytes.set(flags, this.flagsAt);
      bytes.set(own, this.ownAt);
      this.exports.scan(
        codeAt,
        code.length,
        entry,
        imported,
        this.flagsAt,
        flags.length,
        this.ownAt,
        own.length,
        results,
        bounds.locals,
        bounds.globals,
        bounds.functions,
        bounds.types,
        bounds.elements,
        bounds.memories,
      );
      const outcome = outcomes[0] as number;
      if (outcome !== OVERFLOWED) {
        this.takeLengths();
        return outcome;
      }
      // Some list filled its region: the full ones get four times the room, and the body is scanned again.
      for (let i = 0; i < KERNEL_LISTS; i++)
        if ((lengths[i] as number) >= (this.capacities[i] as number))
          this.capacities[i] = (this.capacities[i] as number) * 4;
      this.layOut(code.length, flags.length, own.length);
    }
  }

  /** Plans the charges of the body last scanned (see `plan_charges` in c/plan.c) into the output lists. */
  plan(hoist: boolean): void {
    this.exports.plan_charges(hoist ? 1 : 0);
    this.takeLengths();
  }

  /** Starts the output again: the bodies written from now on follow one another from its start. */
  startOutput(): void {
    this.outputUsed = 0;
  }

  /**
   * Writes the body last scanned with its charges (see `write_body` in
   * c/write.c), its metering locals from `firstLocal` on, and `riders`'
   * insertions spliced in, after the bodies written before it since
   * {@link startOutput}; returns how many bytes it wrote. Throws
   * `WasmEncodeError` when a number written does not fit its encoding.
   */
  write(
    length: number,
    firstLocal: number,
    settings: WriteSettings,
    riders: readonly RiderInsertions[],
  ): number {
    if (firstLocal + 2 > 0xffffffff) throw new WasmEncodeError(`${firstLocal + 2} locals is too many`);
    const ridersAt = this.layRiders(riders, length);
    const { hoist, unroll, importedFunctions, gasGlobal, fuelFunction, growFunction, memoryUnit, tableUnit } =
      settings;
    for (;;) {
      const used = this.outputUsed;
      this.exports.write_body(
        this.codeAt,
        length,
        hoist ? 1 : 0,
        unroll ? 1 : 0,
        importedFunctions,
        gasGlobal,
        fuelFunction,
        growFunction,
        firstLocal,
        this.ownAt,
        this.ownLength,
        memoryUnit,
        tableUnit,
        ridersAt,
        this.outputAt + used,
        this.outputCapacity - used,
      );
      const [outcome, size] = this.views.written as unknown as [number, number];
      if (outcome === 0) {
        this.outputUsed = used + size;
        return size;
      }
      if (outcome !== OUT_OF_ROOM)
        throw new WasmEncodeError('a number the instrumentation writes does not fit its encoding');
      // The body needs more room than the output has left: twice as much in all, and it is written again.
      this.outputCapacity = Math.max(this.outputCapacity, used + size) * 2;
      this.layOut(length, this.flagsCapacity, this.ownCapacity);
    }
  }

  /**
   * The bodies written since {@link startOutput}, one after another: a view
   * of the kernel's memory, good until its next write or scan.
   */
  get output(): Uint8Array<ArrayBuffer> {
    return this.views.bytes.subarray(this.outputAt, this.outputAt + this.outputUsed);
  }

  /** How many bytes {@link output} holds. */
  get outputSize(): number {
    return this.outputUsed;
  }

  /** Bytes of memory the kernel holds. */
  get memoryBytes(): number {
    return this.views.bytes.length;
  }

  /**
   * Lays `riders`' insertions out for `write_body` (see c/write.c), after
   * the lists, and returns where they start.
   */
  private layRiders(riders: readonly RiderInsertions[], length: number): number {
    let lists = 0;
    let entries = 0;
    let size = 0;
    for (const rider of riders) {
      size += rider.entry?.length ?? 0;
      for (let side = 0; side < 2; side++) {
        const list = side === 0 ? rider.trailing : rider.leading;
        if (list === undefined || list.count === 0) continue;
        lists++;
        entries += list.count;
        size += list.size;
      }
    }
    const words = 3 + 3 * lists + 3 * entries;
    if (words * 4 + size > this.ridersCapacity) {
      this.ridersCapacity = Math.max(this.ridersCapacity * 2, words * 4 + size);
      this.layOut(length, this.flagsCapacity, this.ownCapacity);
    }
    const { bytes, words: memory } = this.views;
    const at = this.ridersAt;
    let bytesAt = at + words * 4;
    memory[at >> 2] = bytesAt;
    for (const rider of riders)
      if (rider.entry !== undefined) {
        bytes.set(rider.entry, bytesAt);
        bytesAt += rider.entry.length;
      }
    memory[(at >> 2) + 1] = bytesAt;
    memory[(at >> 2) + 2] = lists;
    let listWord = (at >> 2) + 3;
    let entryWord = listWord + 3 * lists;
    for (const rider of riders)
      for (let side = 0; side < 2; side++) {
        // Without an array of the two per rider and body.
        const list = side === 0 ? rider.trailing : rider.leading;
        if (list === undefined || list.count === 0) continue;
        memory[listWord++] = side;
        memory[listWord++] = list.count;
        memory[listWord++] = entryWord * 4;
        list.copyInto(bytes, bytesAt);
        for (let i = 0; i < list.count; i++) {
          memory[entryWord++] = list.offset(i);
          memory[entryWord++] = bytesAt + list.start(i);
          memory[entryWord++] = bytesAt + list.end(i);
        }
        bytesAt += list.size;
      }
    return at;
  }

  /** Where the last scan's walk ended, or the instruction with the unknown opcode or index it met. */
  get where(): number {
    return this.views.outcome[1] as number;
  }

  /** After a scan that met an unknown index: what it names ("local 7"). */
  get unknownIndex(): string {
    const { outcome } = this.views;
    return `${SPACE_NAMES[outcome[5] as number] as string} ${outcome[6] as number}`;
  }

  /** Whether the last body needs a scratch local, has a `try`, writes a table (see `BodyScan`). */
  flag(which: 'needsScratch' | 'catches' | 'writesTables'): boolean {
    const at = which === 'needsScratch' ? 2 : which === 'catches' ? 3 : 4;
    return this.views.outcome[at] === 1;
  }

  /** The output lists' lengths, as the kernel left them. */
  private takeLengths(): void {
    const { outputs } = this;
    const { lengths } = this.views;
    for (let i = 0; i < outputs.length; i++) (outputs[i] as NumberList).length = lengths[i] as number;
  }

  /** Lays the memory out for a body of `length` bytes, `types` function types and `tables` tables. */
  private layOut(length: number, types: number, tables: number): void {
    this.codeCapacity = Math.max(this.codeCapacity, length + PADDING);
    this.flagsCapacity = Math.max(this.flagsCapacity, types);
    this.ownCapacity = Math.max(this.ownCapacity, tables);
    let at = this.exports.heap_start();
    this.codeAt = at;
    at += this.codeCapacity;
    this.flagsAt = at;
    at += this.flagsCapacity;
    this.ownAt = at;
    at = (at + this.ownCapacity + 7) & ~7;
    const starts: number[] = [];
    for (let i = 0; i < KERNEL_LISTS; i++) {
      starts.push(at);
      at += (this.capacities[i] as number) * 8;
    }
    this.ridersAt = at;
    at += this.ridersCapacity;
    const outputWas = this.outputAt;
    this.outputAt = at;
    at += this.outputCapacity;
    const memory = this.exports.memory;
    if (at > memory.buffer.byteLength) {
      try {
        memory.grow(Math.ceil((at - memory.buffer.byteLength) / PAGE));
      } catch (error) {
        throw new ScanUnavailable(
          `metering's kernel cannot have the ${at} bytes of memory the module's bodies need: ${thrownReason(error)}`,
        );
      }
    }
    if (memory.buffer !== this.views.bytes.buffer) this.views = this.viewsOf(memory.buffer);
    const { regions, bytes } = this.views;
    // The bodies written so far move with the output's start (regions before it only grow).
    if (this.outputAt !== outputWas && this.outputUsed > 0)
      bytes.copyWithin(this.outputAt, outputWas, outputWas + this.outputUsed);
    for (let i = 0; i < KERNEL_LISTS; i++) {
      const start = starts[i] as number;
      const capacity = this.capacities[i] as number;
      regions[2 * i] = start;
      regions[2 * i + 1] = capacity;
      const output = this.outputs[i];
      if (output !== undefined) output.items = new Float64Array(bytes.buffer, start, capacity);
    }
  }

  /** Views of `buffer`, the kernel's memory: all of it, and its `regions`, `lengths` and `outcome`. */
  private viewsOf(buffer: ArrayBuffer): Views {
    const u32 = (name: string, count: number) => new Uint32Array(buffer, this.tableAt(name), count);
    return {
      bytes: new Uint8Array(buffer),
      regions: u32('regions', KERNEL_LISTS * 2),
      lengths: u32('lengths', KERNEL_LISTS),
      outcome: u32('outcome', 7),
      written: u32('written', 2),
      words: new Uint32Array(buffer),
    };
  }
}
