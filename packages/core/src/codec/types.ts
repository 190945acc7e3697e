/**
 * The structures of a decoded WebAssembly module. Everything the binary
 * format can say is represented, so that decoding and re-encoding a module
 * loses nothing that affects its behaviour.
 */
import type { Instruction } from './instructions';

/** Value types, by their binary encoding. */
export const ValType = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
  funcref: 0x70,
  externref: 0x6f,
} as const;
/** A value type's byte: one of {@link ValType}'s values. */
export type ValType = (typeof ValType)[keyof typeof ValType];
/** Reference types: the value types a table can hold. */
export type RefType = typeof ValType.funcref | typeof ValType.externref;

/** Value type names by their byte. */
const VAL_TYPE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(ValType).map(([name, value]) => [value, name]),
);

/** The text-format name of a value type byte (`0x7f` is `i32`). */
export function valTypeName(type: number): string {
  return VAL_TYPE_NAMES.get(type) ?? `0x${type.toString(16)}`;
}

/**
 * A block type as the binary format encodes it, as a signed 33-bit integer:
 * {@link BLOCK_EMPTY} for no results, a negative value type byte (`0x7f - 0x80`,
 * i.e. -1 for i32) for a single result, or a non-negative type index for
 * multi-value blocks.
 */
export type BlockType = number;
/** The block type of a block that takes and returns nothing (0x40). */
export const BLOCK_EMPTY: BlockType = -64;

/** A function signature. */
export interface FuncType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

/** Size limits of a memory or table, in pages or elements. */
export interface Limits {
  readonly min: number;
  readonly max?: number | undefined;
  /** Only memories can be shared (threads proposal). */
  readonly shared?: boolean | undefined;
}

export interface TableType {
  readonly elementType: RefType;
  readonly limits: Limits;
}

export interface GlobalType {
  readonly valueType: ValType;
  readonly mutable: boolean;
}

/** An exception tag's type (attribute 0: exception, with a function type's params as payload). */
export interface TagType {
  readonly type: number;
}

/** The kinds of thing a module can import or export. */
export type ExternalKind = 'function' | 'table' | 'memory' | 'global' | 'tag';

export type ImportDescriptor =
  | { readonly kind: 'function'; readonly type: number }
  | { readonly kind: 'table'; readonly table: TableType }
  | { readonly kind: 'memory'; readonly memory: Limits }
  | { readonly kind: 'global'; readonly global: GlobalType }
  | { readonly kind: 'tag'; readonly tag: TagType };

export interface Import {
  readonly module: string;
  readonly name: string;
  readonly descriptor: ImportDescriptor;
}

export interface Export {
  readonly name: string;
  readonly kind: ExternalKind;
  readonly index: number;
}

export interface Global {
  readonly type: GlobalType;
  /** Constant initializer expression, without its final `end`. */
  readonly init: readonly Instruction[];
}

/** How an element or data segment is applied. */
export type SegmentMode = 'active' | 'passive' | 'declarative';

export interface ElementSegment {
  readonly mode: SegmentMode;
  /** Target table of an active segment (0 otherwise). */
  readonly table: number;
  /** Offset expression of an active segment, without its final `end`. */
  readonly offset?: readonly Instruction[] | undefined;
  readonly elementType: RefType;
  /** Function indices, or one constant expression per element. */
  readonly init:
    | { readonly kind: 'functions'; readonly indices: readonly number[] }
    | { readonly kind: 'expressions'; readonly expressions: readonly (readonly Instruction[])[] };
}

export interface DataSegment {
  readonly mode: 'active' | 'passive';
  /** Target memory of an active segment (0 otherwise). */
  readonly memory: number;
  /** Offset expression of an active segment, without its final `end`. */
  readonly offset?: readonly Instruction[] | undefined;
  readonly bytes: Uint8Array;
}

/** A run of `count` locals of one type, as the code section groups them. */
export interface LocalGroup {
  readonly count: number;
  readonly type: ValType;
}

export interface FunctionBody {
  readonly locals: readonly LocalGroup[];
  /**
   * The encoded instructions, including the final `end`. Kept as bytes so that
   * modules pass through untouched functions at copying speed; decode them with
   * `decodeInstructions` and re-encode with `encodeInstructions`.
   */
  readonly code: Uint8Array;
}

/** Section ids of the binary format. */
export const SectionId = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  dataCount: 12,
  tag: 13,
} as const;
export type SectionId = (typeof SectionId)[keyof typeof SectionId];

export interface CustomSection {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** The id of the non-custom section this one followed (0 if it came first); re-encoding keeps it there. */
  readonly after: SectionId;
}

/** A whole decoded module. Index spaces (functions, tables, memories, globals, tags) start with imports. */
export interface WasmModule {
  readonly types: readonly FuncType[];
  readonly imports: readonly Import[];
  /** The type index of each function the module defines (imports excluded). */
  readonly functions: readonly number[];
  readonly tables: readonly TableType[];
  readonly memories: readonly Limits[];
  readonly tags: readonly TagType[];
  readonly globals: readonly Global[];
  readonly exports: readonly Export[];
  readonly start?: number | undefined;
  readonly elements: readonly ElementSegment[];
  /** Present when the module had a data count section (required by `memory.init`/`data.drop`). */
  readonly dataCount?: number | undefined;
  readonly code: readonly FunctionBody[];
  readonly data: readonly DataSegment[];
  readonly customSections: readonly CustomSection[];
}
