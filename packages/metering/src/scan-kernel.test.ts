import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type BodyRider,
  Insertions,
  ValType,
  WasmDecodeError,
  decodeInstructions,
  decodeModule,
  encodeModule,
  instructionEnd,
  moduleWith,
} from '@ri-sandbox/core';
import { fixture } from '@ri-sandbox/test-fixtures';
import { generate } from '../scripts/build-scan.mjs';
import { wat } from '../../core/test/wat';
import { DEFAULT_COST_MODEL } from './cost-model';
import { ScanLists, costLookup, scanBody } from './scan';
import { instrument, meterModule } from './instrument';
import { Meter } from './meter';

const COSTS = costLookup(DEFAULT_COST_MODEL);
const NO_CALLEES = { importedFunctions: 0, ownTables: new Set<number>() };
const NO_LABELS = { types: [], results: 0 };

/** `count` empty blocks in a row, then the body's `end`: a block starts after each `block` and `end`. */
function emptyBlocks(count: number): Uint8Array {
  const body = new Uint8Array(count * 3 + 1);
  for (let i = 0; i < count; i++) body.set([0x02, 0x40, 0x0b], i * 3);
  body[count * 3] = 0x0b;
  return body;
}

/** A visitor that records where the instructions with first byte `byte` are. */
function recorder(byte: number): {
  opcodes: Uint8Array;
  seen: number[];
  visit(c: Uint8Array, s: number, e: number): void;
} {
  const opcodes = new Uint8Array(256);
  opcodes[byte] = 1;
  const seen: number[] = [];
  return { opcodes, seen, visit: (_code, start, end) => void seen.push(start, end) };
}

describe("metering's scan in WebAssembly", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is built from c/scan.c as committed (run `pnpm --filter @ri-sandbox/metering build:scan` after editing it)', () => {
    const committed = readFileSync(new URL('./scan-module.ts', import.meta.url), 'utf8');
    expect(committed).toBe(generate());
  });

  it('lays its lists out again, larger, when a body has more than they held, and scans it whole', () => {
    const lists = new ScanLists();
    const small = scanBody(emptyBlocks(3), COSTS, NO_CALLEES, NO_LABELS, [], lists);
    expect(small.blockStarts.toArray()).toEqual([0, 3, 6, 9]);
    // 5,000 constructs: past the 1,024 numbers a list first holds, for the blocks and constructs alike.
    const count = 5000;
    const large = scanBody(emptyBlocks(count), COSTS, NO_CALLEES, NO_LABELS, [], lists);
    expect(large.blockStarts.length).toBe(count + 1);
    expect(large.blockStarts.at(count)).toBe(3 * count);
    expect(large.constructs.opener.length).toBe(count);
    expect(large.constructs.join.at(count - 1)).toBe(count);
    const cost = (byte: number) => COSTS.single[byte] as number;
    expect(large.blockCosts.toArray().reduce((sum, c) => sum + c, 0)).toBe(
      COSTS.entry + count * (cost(0x02) + cost(0x0b)) + cost(0x0b),
    );
    // And a small body after it reads as on fresh lists.
    expect(scanBody(emptyBlocks(3), COSTS, NO_CALLEES, NO_LABELS, [], lists).blockStarts.toArray()).toEqual([
      0, 3, 6, 9,
    ]);
  });

  it('grows its memory for a body larger than it, and scans bodies of every size after it', () => {
    const lists = new ScanLists();
    const big = emptyBlocks(100_000); // 300 KB, several pages
    expect(scanBody(big, COSTS, NO_CALLEES, NO_LABELS, [], lists).blockStarts.length).toBe(100_001);
    const module = decodeModule(fixture('sort'));
    const labels = (i: number) => ({
      types: module.types,
      results: module.types[module.functions[i] as number]?.results.length ?? 0,
    });
    module.code.forEach((body, i) => {
      const fresh = scanBody(body.code, COSTS, NO_CALLEES, labels(i)).blockCosts.toArray();
      expect(scanBody(body.code, COSTS, NO_CALLEES, labels(i), [], lists).blockCosts.toArray()).toEqual(
        fresh,
      );
    });
  });

  it('shows each visitor the instructions it asked for, in order, once the body is scanned', () => {
    const body = decodeModule(wat(`(module (func $f) (func (call $f) (nop) (call $f) (block (call $f))))`))
      .code[1]?.code as Uint8Array;
    const calls = recorder(0x10);
    const nops = recorder(0x01);
    scanBody(body, COSTS, NO_CALLEES, NO_LABELS, [calls, nops]);
    const ends = (starts: number[]) => starts.flatMap((start) => [start, instructionEnd(body, start)]);
    const at = (byte: number) => [...body.keys()].filter((p) => body[p] === byte);
    expect(calls.seen).toEqual(ends(at(0x10)));
    expect(nops.seen).toEqual(ends(at(0x01)));
  });

  it('keeps two sets of lists apart: each has its own instance', () => {
    const a = new ScanLists();
    const b = new ScanLists();
    const first = scanBody(emptyBlocks(2), COSTS, NO_CALLEES, NO_LABELS, [], a);
    scanBody(emptyBlocks(7), COSTS, NO_CALLEES, NO_LABELS, [], b);
    expect(first.blockStarts.toArray()).toEqual([0, 3, 6]);
  });

  it('throws what the walk throws on an unknown opcode or a body cut short', () => {
    const unknown = Uint8Array.of(0x01, 0xff, 0x0b);
    expect(() => scanBody(unknown, COSTS, NO_CALLEES, NO_LABELS)).toThrow(WasmDecodeError);
    expect(() => scanBody(unknown, COSTS, NO_CALLEES, NO_LABELS)).toThrow(
      /unknown opcode 0xff \(at byte 1\)/,
    );
    expect(() => scanBody(Uint8Array.of(0x01, 0xfd, 0xff, 0x7f), COSTS, NO_CALLEES, NO_LABELS)).toThrow(
      /unknown opcode 0xfd 16383/,
    );
    // `i32.const` whose immediate runs past the end.
    expect(() => scanBody(Uint8Array.of(0x41, 0x80), COSTS, NO_CALLEES, NO_LABELS)).toThrow(
      /runs past the end of the body/,
    );
  });

  it('fails with INVALID_MODULE when its memory cannot grow to what a body needs', async () => {
    vi.resetModules();
    const { instrument } = await import('./instrument');
    // A function of 200,000 empty blocks: 600 KB, more than the scan's memory holds at first.
    const body = emptyBlocks(200_000);
    const bytes = encodeModule(functionsOf([body]));
    vi.spyOn(WebAssembly.Memory.prototype, 'grow').mockImplementation(() => {
      throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
    });
    const metered = instrument(bytes);
    expect(metered.ok).toBe(false);
    if (!metered.ok) {
      expect(metered.error.code).toBe('INVALID_MODULE');
      expect(metered.error.message).toMatch(/cannot have the \d+ bytes of memory .*: .*Maximum memory size/);
    }
  });

  it('fails with INVALID_MODULE when its memory cannot hold all the bodies written, each small', async () => {
    vi.resetModules();
    const { instrument } = await import('./instrument');
    // 400 functions of 2,000 empty blocks: each 6 KB, their metered code (each block charging) about 10 MB.
    const body = emptyBlocks(2_000);
    const bytes = encodeModule(functionsOf(Array.from({ length: 400 }, () => body)));
    const limit = 4 << 20;
    // The engine's own `grow`, for the growth the limit allows.
    const grow = Object.getOwnPropertyDescriptor(WebAssembly.Memory.prototype, 'grow')?.value as (
      this: WebAssembly.Memory,
      pages: number,
    ) => number;
    vi.spyOn(WebAssembly.Memory.prototype, 'grow').mockImplementation(function (
      this: WebAssembly.Memory,
      pages: number,
    ) {
      if (this.buffer.byteLength + pages * 65536 > limit)
        throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
      return grow.call(this, pages);
    });
    const metered = instrument(bytes, { chargeAhead: false });
    expect(metered.ok).toBe(false);
    if (!metered.ok) {
      expect(metered.error.code).toBe('INVALID_MODULE');
      expect(metered.error.message).toMatch(/cannot have the \d+ bytes of memory .*: .*Maximum memory size/);
    }
    // One of them alone fits.
    const one = encodeModule(functionsOf([body]));
    expect(instrument(one, { chargeAhead: false }).ok).toBe(true);
  });

  it('reports an engine that refuses to compile it, as it refuses the guests', async () => {
    vi.resetModules();
    vi.spyOn(WebAssembly, 'Module').mockImplementation(() => {
      throw new WebAssembly.CompileError('Wasm code generation disallowed by embedder');
    });
    const { instrument } = await import('./instrument');
    const metered = instrument(fixture('add'));
    expect(metered.ok).toBe(false);
    if (!metered.ok) {
      expect(metered.error.code).toBe('INVALID_MODULE');
      expect(metered.error.message).toMatch(/refuses to compile metering's scan.*disallowed by embedder/);
    }
  });
});

/** A module of one function `() -> ()` per body of `bodies`, without locals or exports. */
function functionsOf(bodies: readonly Uint8Array[]) {
  return moduleWith({
    types: [{ params: [], results: [] }],
    functions: bodies.map(() => 0),
    code: bodies.map((code) => ({ locals: [], code })),
  });
}

/** A module of one function `f: () -> ()` whose body is `code`, with `locals`. */
function oneFunction(code: Uint8Array, locals: { count: number; type: ValType }[] = []) {
  return moduleWith({
    types: [{ params: [], results: [] }],
    functions: [0],
    exports: [{ name: 'f', kind: 'function', index: 0 }],
    code: [{ locals, code }],
  });
}

/** `count` pairs of `i32.const 0; drop`, then the body's `end`. */
function drops(count: number): Uint8Array {
  const body = new Uint8Array(count * 3 + 1);
  for (let i = 0; i < count; i++) body.set([0x41, 0x00, 0x1a], i * 3);
  body[count * 3] = 0x0b;
  return body;
}

describe("metering's writer in WebAssembly", () => {
  it('writes a body larger than its first room, whole: it runs, charging what it costs', async () => {
    // Without paying ahead, each of 30,000 blocks charges on its own: about 90 KB of code.
    const count = 30_000;
    const metered = instrument(encodeModule(oneFunction(emptyBlocks(count))), { chargeAhead: false });
    if (!metered.ok) throw new Error(metered.error.message);
    expect(metered.value.bytes.length).toBeGreaterThan(65536);
    const meter = new Meter();
    const { instance } = await WebAssembly.instantiate(metered.value.bytes, meter.imports);
    meter.attach(instance);
    const run = meter.run({ maxGas: 1e9, maxExecutionMs: 1e9 }, instance.exports['f'] as () => void);
    const cost = (byte: number) => COSTS.single[byte] as number;
    expect(run.gasUsed).toBe(COSTS.entry + count * (cost(0x02) + cost(0x0b)) + cost(0x0b));
  });

  it('keeps the bodies written before one that makes it lay its memory out again, or grow its output', () => {
    // A small body, then one larger than a fresh kernel's room for code and for output, then another.
    const bodies = [emptyBlocks(10), emptyBlocks(50_000), drops(10)];
    const module = functionsOf(bodies);
    const options = { chargeAhead: false, transientOutput: true };
    // Metered from a rider of another metering, which holds the kernel the meterings share: on a new one.
    let fresh: Uint8Array | undefined;
    const outer: BodyRider = {
      scan: { opcodes: new Uint8Array(256), visit: () => undefined },
      finish: () => {
        const metered = meterModule(module, options);
        if (metered.ok) fresh = encodeModule(metered.value);
        return {};
      },
    };
    expect(meterModule(oneFunction(drops(1)), { riders: () => [outer] }).ok).toBe(true);
    // Again, on a kernel whose room is already large enough: the same bytes.
    const again = meterModule(module, options);
    if (!again.ok) throw new Error(again.error.message);
    expect(fresh).toEqual(encodeModule(again.value));
    expect(again.value.code[1]?.code.length).toBeGreaterThan(3 * 50_000);
    expect(WebAssembly.validate(fresh as Uint8Array<ArrayBuffer>)).toBe(true);
  });

  it('hands out bodies that outlive the next metering, unless asked for transient ones', () => {
    const first = meterModule(oneFunction(drops(3)));
    const transient = meterModule(oneFunction(drops(5)), { transientOutput: true });
    if (!first.ok || !transient.ok) throw new Error('metering failed');
    const kept = Uint8Array.from(first.value.code[0]?.code as Uint8Array);
    const seen = Uint8Array.from(transient.value.code[0]?.code as Uint8Array);
    // The next metering writes where the transient bodies are; the others are a copy of their own.
    meterModule(oneFunction(emptyBlocks(40)));
    expect(first.value.code[0]?.code).toEqual(kept);
    expect(transient.value.code[0]?.code).not.toEqual(seen);
  });

  it("splices the riders' insertions in, however many, in the order core's Splicer writes them", () => {
    const count = 2000;
    const body = drops(count);
    // One rider: `nop` leading into each `drop`, and an entry; another: `nop; nop` trailing each `i32.const`.
    const leading = new Insertions();
    const trailing = new Insertions();
    for (let i = 0; i < count; i++) {
      leading.at(i * 3 + 2).u8(0x01);
      trailing
        .at(i * 3 + 2)
        .u8(0x01)
        .u8(0x01);
    }
    const riders: BodyRider[] = [
      {
        scan: { opcodes: new Uint8Array(256), visit: () => undefined },
        finish: () => ({ entry: Uint8Array.of(0x01), leading }),
      },
      { scan: { opcodes: new Uint8Array(256), visit: () => undefined }, finish: () => ({ trailing }) },
    ];
    const metered = meterModule(oneFunction(body), { riders: () => riders });
    if (!metered.ok) throw new Error(metered.error.message);
    const names = decodeInstructions(metered.value.code[0]?.code as Uint8Array).map(({ op }) => op.name);
    // The entry first; then per pair: i32.const, the trailing nops, the leading nop, drop.
    expect(names[0]).toBe('nop');
    const pairs = names.join(' ').match(/i32\.const nop nop nop drop/g) ?? [];
    expect(pairs.length).toBe(count);
    expect(WebAssembly.validate(encodeModule(metered.value))).toBe(true);
  });

  it('fails with INVALID_MODULE for a number it cannot encode, or locals it cannot add', () => {
    // A block of 1,200 instructions of the largest cost a model allows: its charge is past 2^63.
    const costly = meterModule(oneFunction(drops(600)), { costs: { defaultCost: Number.MAX_SAFE_INTEGER } });
    expect(costly.ok).toBe(false);
    if (!costly.ok) expect(costly.error.message).toMatch(/does not fit its encoding/);
    const crowded = meterModule(oneFunction(drops(1), [{ count: 0xffff_fffe, type: ValType.i32 }]));
    expect(crowded.ok).toBe(false);
    if (!crowded.ok) expect(crowded.error.message).toMatch(/locals is too many/);
  });
});
