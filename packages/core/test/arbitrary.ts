/** fast-check generators for codec structures: any instruction of the table, and whole modules. */
import fc from 'fast-check';
import { type Immediate, type Instruction, encodeInstructions, instruction } from '../src/codec/instructions';
import { type ImmediateKind, OPCODES } from '../src/codec/opcodes';
import type { FunctionBody, Limits, RefType, ValType, WasmModule } from '../src/codec/types';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const index = fc.oneof(fc.integer({ min: 0, max: 200 }), u32);
const byte = fc.integer({ min: 0, max: 255 });
const valType = fc.constantFrom<ValType>(0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f);
const refType = fc.constantFrom<RefType>(0x70, 0x6f);
const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const memarg = fc.record({
  align: fc.integer({ min: 0, max: 4 }),
  offset: u32,
  memory: fc.constantFrom(0, 0, 0, 1, 7),
});
const pair = fc.tuple(index, index);

const IMMEDIATES: Record<ImmediateKind, fc.Arbitrary<Immediate>> = {
  none: fc.constant(undefined),
  blocktype: fc.oneof(
    fc.constant(-64),
    fc.constantFrom(-1, -2, -3, -4, -5, -16, -17),
    fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  ),
  label: index,
  br_table: fc.record({ targets: fc.array(index, { maxLength: 6 }), defaultTarget: index }),
  function: index,
  call_indirect: fc.record({ type: index, table: index }),
  local: index,
  global: index,
  table: index,
  tag: index,
  memarg,
  memory: index,
  i32: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  i64: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  f32: u32,
  f64: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  select_types: fc.array(valType, { maxLength: 3 }),
  heaptype: refType,
  data: index,
  elem: index,
  'memory.init': pair,
  'memory.copy': pair,
  'table.init': pair,
  'table.copy': pair,
  v128: bytes16,
  shuffle: bytes16,
  lane: byte,
  memarg_lane: fc.record({ memarg, lane: byte }),
  fence: fc.constant(0),
};

/** Any instruction of the opcode table with a well-formed immediate. */
export const anyInstruction: fc.Arbitrary<Instruction> = fc
  .constantFrom(...OPCODES)
  .chain((op) =>
    IMMEDIATES[op.immediate].map((immediate): Instruction =>
      immediate === undefined ? { op } : { op, immediate },
    ),
  );

const constantExpression: fc.Arbitrary<Instruction[]> = fc
  .array(anyInstruction, { maxLength: 3 })
  .map((list) => list.filter((instr) => instr.op.name !== 'end'));
const name = fc.string({ maxLength: 12, unit: 'grapheme' });
const limits: fc.Arbitrary<Limits> = fc.record({
  min: u32,
  max: fc.option(u32, { nil: undefined }),
  shared: fc.constantFrom(undefined, true),
});
const body: fc.Arbitrary<FunctionBody> = fc.record({
  // At most three groups of under 2^30 each: the total stays within the format's 2^32 - 1 locals.
  locals: fc.array(fc.record({ count: fc.integer({ min: 0, max: 2 ** 30 }), type: valType }), {
    maxLength: 3,
  }),
  code: fc
    .array(anyInstruction, { maxLength: 20 })
    .map((list) => encodeInstructions([...list, instruction('end')])),
});

/** Structurally well-formed modules (not necessarily valid: types and indices are arbitrary). */
export const anyModule: fc.Arbitrary<WasmModule> = fc
  .record({
    types: fc.array(
      fc.record({
        params: fc.array(valType, { maxLength: 4 }),
        results: fc.array(valType, { maxLength: 3 }),
      }),
      { maxLength: 4 },
    ),
    imports: fc.array(
      fc.record({
        module: name,
        name,
        descriptor: fc.oneof(
          fc.record({ kind: fc.constant('function' as const), type: index }),
          fc.record({
            kind: fc.constant('table' as const),
            table: fc.record({ elementType: refType, limits }),
          }),
          fc.record({ kind: fc.constant('memory' as const), memory: limits }),
          fc.record({
            kind: fc.constant('global' as const),
            global: fc.record({ valueType: valType, mutable: fc.boolean() }),
          }),
          fc.record({ kind: fc.constant('tag' as const), tag: fc.record({ type: index }) }),
        ),
      }),
      { maxLength: 4 },
    ),
    bodies: fc.array(fc.tuple(index, body), { maxLength: 4 }),
    tables: fc.array(fc.record({ elementType: refType, limits }), { maxLength: 2 }),
    memories: fc.array(limits, { maxLength: 2 }),
    tags: fc.array(fc.record({ type: index }), { maxLength: 2 }),
    globals: fc.array(
      fc.record({ type: fc.record({ valueType: valType, mutable: fc.boolean() }), init: constantExpression }),
      { maxLength: 3 },
    ),
    exports: fc.array(
      fc.record({
        name,
        kind: fc.constantFrom(
          'function' as const,
          'table' as const,
          'memory' as const,
          'global' as const,
          'tag' as const,
        ),
        index,
      }),
      { maxLength: 4 },
    ),
    start: fc.option(index, { nil: undefined }),
    elements: fc.array(
      fc
        .oneof(
          fc.record({
            mode: fc.constant('active' as const),
            table: index,
            offset: constantExpression,
            elementType: fc.constant<RefType>(0x70),
            init: fc.record({
              kind: fc.constant('functions' as const),
              indices: fc.array(index, { maxLength: 4 }),
            }),
          }),
          fc.record({
            mode: fc.constantFrom('active' as const, 'passive' as const, 'declarative' as const),
            table: fc.constant(0),
            offset: constantExpression,
            elementType: refType,
            init: fc.record({
              kind: fc.constant('expressions' as const),
              expressions: fc.array(constantExpression, { maxLength: 3 }),
            }),
          }),
        )
        .map((segment) => (segment.mode === 'active' ? segment : { ...segment, offset: undefined })),
      { maxLength: 3 },
    ),
    dataCount: fc.option(index, { nil: undefined }),
    data: fc.array(
      fc.oneof(
        fc.record({
          mode: fc.constant('active' as const),
          memory: index,
          offset: constantExpression,
          bytes: fc.uint8Array({ maxLength: 20 }),
        }),
        fc.record({
          mode: fc.constant('passive' as const),
          memory: fc.constant(0),
          offset: fc.constant(undefined),
          bytes: fc.uint8Array({ maxLength: 20 }),
        }),
      ),
      { maxLength: 3 },
    ),
    customSections: fc.array(
      fc.record({
        name,
        bytes: fc.uint8Array({ maxLength: 20 }),
        after: fc.constantFrom<0 | 1 | 2 | 3 | 7 | 10 | 11>(0, 1, 2, 3, 7, 10, 11),
      }),
      { maxLength: 3 },
    ),
  })
  .map(({ bodies, ...rest }): WasmModule => ({
    ...rest,
    functions: bodies.map(([type]) => type),
    code: bodies.map(([, code]) => code),
  }));
