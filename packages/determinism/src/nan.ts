/**
 * NaN canonicalization, as wasmtime does it: the WebAssembly specification
 * lets an engine choose the bits of a NaN that an arithmetic instruction
 * produces (x86 gives 0xFFC00000 for 0/0, ARM 0x7FC00000), so after every
 * instruction that may produce one, any NaN result is replaced with the
 * canonical NaN (0x7FC00000 for f32, 0x7FF8000000000000 for f64), scalar and
 * SIMD lanes alike. Bit operations (abs, neg, copysign), loads and
 * reinterpretations are exact already and left alone. A result that another
 * producer takes as an operand, with only loads, constants, address
 * arithmetic and float arithmetic computed in between, is not canonicalized:
 * the specification makes every producer return a NaN for a NaN operand, and
 * that one is canonicalized (`sum + a[i] * b[j]` pays once, not twice). Nor is one that
 * an instruction blind to NaN bits takes in the same way: a comparison
 * (`a * b < c`), or a truncation to integers (see `nan-flow.ts`). A result
 * written to a local may be canonicalized where the local is read instead
 * (see `nan-locals.ts`).
 */
import {
  type ByteWriter,
  type InstructionVisitor,
  derivedModule,
  Insertions,
  type LocalGroup,
  type Opcode,
  PREFIX_SIMD,
  ValType,
  type WasmModule,
  applyRiders,
  type BodyRider,
  type RiderInsertions,
  localCount,
  opcodeByName,
  paramCount,
  opcodeSet,
  readLeb,
} from '@ri-sandbox/core';
import { LANE, LANES, type Lane, NAN_PRODUCERS, slotAt, takerOf, TAKES_LANE } from './nan-flow';
import { LocalWrites, placeLocalSites } from './nan-locals';

/** The instructions that write a local (and, for `local.tee`, leave the value on the stack). */
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;

const LOCAL_TYPE: Record<Lane, ValType> = {
  f32: ValType.f32,
  f64: ValType.f64,
  f32x4: ValType.v128,
  f64x2: ValType.v128,
};

/**
 * Replaces the result on the stack with the canonical NaN if it is a NaN, through local `local`: for
 * scalars `select(t, canonical, t >= t)`, for SIMD `bitselect(canonical, t, t != t)` per lane.
 *
 * The scalar test is `t >= t` rather than `t != t` (the same truth, inverted) because engines test it
 * with one flag: on x86 `ucomisd` sets the carry flag for "less than" and for "unordered" alike, so
 * V8 emits one `jnc` where `t != t` takes two jumps (parity for unordered, zero for equal). Neither
 * form lets V8 use a conditional move (it has none for floats); one routed through integers
 * (`i64.reinterpret_f64`, an integer `select`, back) avoids the jump but was slower on matmul
 * (1.55x against 1.28x): two transfers between register files cost more than a predicted jump.
 */
function emitCanonicalize(w: ByteWriter, lane: Lane, local: number): void {
  w.u8(0x21).u32(local); // local.set t
  switch (lane) {
    case 'f32':
      w.u8(0x20).u32(local).u8(0x43).f32Bits(0x7fc00000); // t, f32.const nan
      w.u8(0x20).u32(local).u8(0x20).u32(local).u8(0x60).u8(0x1b); // f32.ge t t; select
      return;
    case 'f64':
      w.u8(0x20).u32(local).u8(0x44).f64Bits(0x7ff8000000000000n); // t, f64.const nan
      w.u8(0x20).u32(local).u8(0x20).u32(local).u8(0x66).u8(0x1b); // f64.ge t t; select
      return;
    case 'f32x4':
      w.u8(0xfd).u32(12);
      for (let i = 0; i < 4; i++) w.f32Bits(0x7fc00000); // v128.const nan x4
      w.u8(0x20).u32(local).u8(0x20).u32(local).u8(0x20).u32(local); // t, t, t
      w.u8(0xfd).u32(66).u8(0xfd).u32(82); // f32x4.ne; v128.bitselect
      return;
    case 'f64x2':
      w.u8(0xfd).u32(12);
      for (let i = 0; i < 2; i++) w.f64Bits(0x7ff8000000000000n); // v128.const nan x2
      w.u8(0x20).u32(local).u8(0x20).u32(local).u8(0x20).u32(local); // t, t, t
      w.u8(0xfd).u32(72).u8(0xfd).u32(82); // f64x2.ne; v128.bitselect
      return;
  }
}

/** What {@link NaNScan} is shown: the producers' first bytes (single-byte ones, and the SIMD prefix). */
const PRODUCER_OPCODES = opcodeSet([
  PREFIX_SIMD,
  ...[...NAN_PRODUCERS.keys()].flatMap((name) => {
    const op = opcodeByName(name) as Opcode;
    return op.prefix === undefined ? [op.code] : [];
  }),
]);

/**
 * NaN canonicalization's scan of one body: where results must be
 * canonicalized. It is shown only producers, and follows each result itself
 * to the instruction that takes it. A result written to a local waits for
 * {@link finish}, which walks the body for that local's reads (see
 * `nan-locals.ts`), then says what to insert.
 */
export class NaNScan implements InstructionVisitor {
  readonly opcodes = PRODUCER_OPCODES;
  /** Where results are canonicalized, and their lanes: the first {@link count} (kept from body to body). */
  private readonly sites: number[] = [];
  private readonly lanes: number[] = [];
  private count = 0;
  /** Results written to locals, placed by {@link finish}; the body's code, and its parameters. */
  private readonly writes = new LocalWrites();
  private code: Uint8Array | undefined;
  private params = 0;
  /** What {@link finish} fills: one list per scan, emptied for each body. */
  private readonly insertions = new Insertions();

  /**
   * Forgets the body seen last, for the next one, whose first `params` locals are its parameters: what
   * {@link finish} gave for it is written over.
   */
  reset(params: number): void {
    this.count = 0;
    this.writes.clear();
    this.code = undefined;
    this.params = params;
  }

  visit(code: Uint8Array, start: number, end: number): void {
    const lane = LANE[slotAt(code, start)] as number;
    if (lane === 0) return; // a SIMD instruction that produces no float
    const taker = takerOf(code, end);
    if (taker >= 0) {
      // Left alone if a producer, a comparison or a truncation takes it (see `takenBlind`).
      if (TAKES_LANE[slotAt(code, taker)] === lane) return;
      // Written to a local right after it is made (the walk in `finish` tells such writes by the
      // producer before them; one with other values kept in between stays checked here).
      const byte = code[taker] as number;
      if ((byte === LOCAL_SET || byte === LOCAL_TEE) && taker === end) {
        this.writes.add(readLeb(code, taker + 1), lane);
        this.code = code;
        return;
      }
    }
    // Anything else (a store, control flow, a call, the end of the body): canonicalize.
    this.site(end, lane);
  }

  private site(end: number, lane: number): void {
    this.sites[this.count] = end;
    this.lanes[this.count] = lane;
    this.count++;
  }

  /**
   * What to insert once the body is scanned, with the scratch locals to
   * append (one per value type needed, the first numbered `first`).
   */
  finish(first: number): { readonly insertions: Insertions; readonly locals: readonly LocalGroup[] } {
    if (this.code !== undefined) {
      this.placeWrites(this.code);
      this.code = undefined;
    }
    // Most bodies produce no float that needs it: they share one empty list.
    const { sites, lanes, count } = this;
    if (count === 0) return NOTHING_TO_CANONICALIZE;
    // One local per value type, in the order the types first turn up.
    const types: ValType[] = [];
    for (let i = 0; i < count; i++) {
      const type = LOCAL_TYPE[LANES[(lanes[i] as number) - 1] as Lane];
      if (!types.includes(type)) types.push(type);
    }
    const insertions = this.insertions.clear();
    for (let i = 0; i < count; i++) {
      const lane = LANES[(lanes[i] as number) - 1] as Lane;
      emitCanonicalize(insertions.at(sites[i] as number), lane, first + types.indexOf(LOCAL_TYPE[lane]));
    }
    return { insertions, locals: types.map((type) => ({ count: 1, type })) };
  }

  /** Adds the sites of the results written to locals, then puts every site in order. */
  private placeWrites(code: Uint8Array): void {
    const own = this.count;
    placeLocalSites(code, this.writes, this.params, (offset, lane) => {
      this.site(offset, lane);
    });
    const { sites, lanes, count } = this;
    if (count === own) return;
    // The scan's own sites are in order; the added ones are sorted apart, then merged in from the end.
    const added = Array.from({ length: count - own }, (_, i) => own + i).sort(
      (x, y) => (sites[x] as number) - (sites[y] as number),
    );
    const offsets = added.map((i) => sites[i] as number);
    const addedLanes = added.map((i) => lanes[i] as number);
    let mine = own - 1;
    for (let k = added.length - 1, to = count - 1; k >= 0; to--) {
      if (mine >= 0 && (sites[mine] as number) > (offsets[k] as number)) {
        sites[to] = sites[mine] as number;
        lanes[to] = lanes[mine] as number;
        mine--;
      } else {
        sites[to] = offsets[k] as number;
        lanes[to] = addedLanes[k] as number;
        k--;
      }
    }
  }
}

/**
 * Rewrites `module` so that every NaN an arithmetic instruction produces is
 * the canonical NaN. Function bodies must be structurally valid.
 * @throws WasmDecodeError on a malformed body.
 */
export function canonicalizeNaNs(module: WasmModule): WasmModule {
  return derivedModule(module, {
    code: module.code.map((body, i) =>
      applyRiders(body, localCount(module, i), [nanRider(paramCount(module, i))]),
    ),
  });
}

/** What a body without a site to canonicalize gets (read only). */
const NOTHING_TO_CANONICALIZE = { insertions: new Insertions(), locals: [] } as const;

/**
 * NaN canonicalization of one body whose first `params` locals are its parameters, as a rider (see
 * `BodyRider` in `@ri-sandbox/core`).
 */
export function nanRider(params: number): BodyRider {
  return new NaNRider().reset(params);
}

/**
 * See {@link nanRider}: a class, so that every body's rider has one shape and one `finish`. One rider
 * serves body after body of a pass that writes each before it scans the next: {@link reset} between.
 */
export class NaNRider implements BodyRider {
  readonly scan = new NaNScan();

  /** The rider, emptied for the next body, whose first `params` locals are its parameters. */
  reset(params: number): this {
    this.scan.reset(params);
    return this;
  }

  finish(first: number): RiderInsertions {
    const { insertions, locals } = this.scan.finish(first);
    return { trailing: insertions, locals };
  }
}
