/**
 * Whole-module decoding and encoding: the preamble, every section, and the
 * order custom sections appeared in.
 */
import { ByteReader, ByteWriter, IdleWriter, WasmDecodeError, WasmEncodeError, u32LebSize } from './bytes';
import { type UndecodedData, dataSectionBytes, readDataSection, withUndecodedData } from './data-section';
import { readConstantExpression, writeConstantExpression } from './instructions';
import {
  type CustomSection,
  type DataSegment,
  type ElementSegment,
  type Export,
  type ExternalKind,
  type FuncType,
  type FunctionBody,
  type Global,
  type GlobalType,
  type Import,
  type ImportDescriptor,
  type Limits,
  type LocalGroup,
  type RefType,
  SectionId,
  type TableType,
  type TagType,
  type ValType,
  type WasmModule,
} from './types';

/** The 8-byte preamble: `\0asm` and version 1. */
export const WASM_MAGIC = new Uint8Array([0x00, 0x61, 0x73, 0x6d]);
export const WASM_VERSION = new Uint8Array([0x01, 0x00, 0x00, 0x00]);

const EXTERNAL_KINDS: readonly ExternalKind[] = ['function', 'table', 'memory', 'global', 'tag'];
const FUNCREF = 0x70 as RefType;
/** The largest u32: the binary format's bound on counts. */
const MAX_U32 = 0xffff_ffff;

/** Order in which non-custom sections must appear (the tag section sits between memory and global). */
const SECTION_ORDER: readonly SectionId[] = [
  SectionId.type,
  SectionId.import,
  SectionId.function,
  SectionId.table,
  SectionId.memory,
  SectionId.tag,
  SectionId.global,
  SectionId.export,
  SectionId.start,
  SectionId.element,
  SectionId.dataCount,
  SectionId.code,
  SectionId.data,
];

function readValType(reader: ByteReader): ValType {
  return reader.u8() as ValType;
}

function readLimits(reader: ByteReader): Limits {
  const start = reader.offset;
  const flags = reader.u8();
  if (flags & 0x04) reader.fail('64-bit memories (memory64) are not supported', start);
  if (flags > 0x03) reader.fail(`invalid limits flags 0x${flags.toString(16)}`, start);
  const min = reader.u32();
  const max = flags & 0x01 ? reader.u32() : undefined;
  return (flags & 0x02) !== 0 ? { min, max, shared: true } : { min, max };
}

function writeLimits(writer: ByteWriter, limits: Limits): void {
  const flags = (limits.max === undefined ? 0 : 0x01) | (limits.shared === true ? 0x02 : 0);
  writer.u8(flags).u32(limits.min);
  if (limits.max !== undefined) writer.u32(limits.max);
}

function readTableType(reader: ByteReader): TableType {
  const elementType = reader.u8() as RefType;
  return { elementType, limits: readLimits(reader) };
}

function writeTableType(writer: ByteWriter, table: TableType): void {
  writer.u8(table.elementType);
  writeLimits(writer, table.limits);
}

function readGlobalType(reader: ByteReader): GlobalType {
  const valueType = readValType(reader);
  const start = reader.offset;
  const mutability = reader.u8();
  if (mutability > 1) reader.fail(`invalid global mutability ${mutability}`, start);
  return { valueType, mutable: mutability === 1 };
}

function writeGlobalType(writer: ByteWriter, global: GlobalType): void {
  writer.u8(global.valueType).u8(global.mutable ? 1 : 0);
}

function readTagType(reader: ByteReader): TagType {
  const start = reader.offset;
  const attribute = reader.u8();
  if (attribute !== 0) reader.fail(`invalid tag attribute ${attribute}`, start);
  return { type: reader.u32() };
}

function writeTagType(writer: ByteWriter, tag: TagType): void {
  writer.u8(0).u32(tag.type);
}

function readFuncType(reader: ByteReader): FuncType {
  const start = reader.offset;
  const form = reader.u8();
  if (form !== 0x60) reader.fail(`expected a function type (0x60), found 0x${form.toString(16)}`, start);
  const params = reader.vector(readValType);
  return { params, results: reader.vector(readValType) };
}

function writeFuncType(writer: ByteWriter, type: FuncType): void {
  writer.u8(0x60);
  writer.vector(type.params, (w, t) => w.u8(t));
  writer.vector(type.results, (w, t) => w.u8(t));
}

function readExternalKind(reader: ByteReader): ExternalKind {
  const start = reader.offset;
  const kind = EXTERNAL_KINDS[reader.u8()];
  return kind ?? reader.fail('invalid external kind', start);
}

function writeExternalKind(writer: ByteWriter, kind: ExternalKind): void {
  writer.u8(EXTERNAL_KINDS.indexOf(kind));
}

function readImport(reader: ByteReader): Import {
  const module = reader.name();
  const name = reader.name();
  const kind = readExternalKind(reader);
  let descriptor: ImportDescriptor;
  switch (kind) {
    case 'function':
      descriptor = { kind, type: reader.u32() };
      break;
    case 'table':
      descriptor = { kind, table: readTableType(reader) };
      break;
    case 'memory':
      descriptor = { kind, memory: readLimits(reader) };
      break;
    case 'global':
      descriptor = { kind, global: readGlobalType(reader) };
      break;
    case 'tag':
      descriptor = { kind, tag: readTagType(reader) };
      break;
  }
  return { module, name, descriptor };
}

function writeImport(writer: ByteWriter, imp: Import): void {
  writer.name(imp.module).name(imp.name);
  const d = imp.descriptor;
  writeExternalKind(writer, d.kind);
  switch (d.kind) {
    case 'function':
      writer.u32(d.type);
      return;
    case 'table':
      writeTableType(writer, d.table);
      return;
    case 'memory':
      writeLimits(writer, d.memory);
      return;
    case 'global':
      writeGlobalType(writer, d.global);
      return;
    case 'tag':
      writeTagType(writer, d.tag);
      return;
  }
}

function readGlobal(reader: ByteReader): Global {
  const type = readGlobalType(reader);
  return { type, init: readConstantExpression(reader) };
}

function readExport(reader: ByteReader): Export {
  const name = reader.name();
  const kind = readExternalKind(reader);
  return { name, kind, index: reader.u32() };
}

/** Element segments: the flags' bit 0 = passive/declarative, bit 1 = explicit table or declarative, bit 2 = expressions. */
function readElement(reader: ByteReader): ElementSegment {
  const start = reader.offset;
  const flags = reader.u32();
  if (flags > 7) reader.fail(`invalid element segment flags ${flags}`, start);
  const passiveOrDeclarative = (flags & 0x01) !== 0;
  const explicit = (flags & 0x02) !== 0;
  const usesExpressions = (flags & 0x04) !== 0;
  const mode = passiveOrDeclarative ? (explicit ? 'declarative' : 'passive') : 'active';
  const table = mode === 'active' && explicit ? reader.u32() : 0;
  const offset = mode === 'active' ? readConstantExpression(reader) : undefined;
  let elementType = FUNCREF;
  if (passiveOrDeclarative || explicit) {
    const typeStart = reader.offset;
    const byte = reader.u8();
    if (usesExpressions) {
      elementType = byte as RefType;
    } else if (byte !== 0x00) {
      reader.fail(`invalid element kind ${byte}`, typeStart);
    }
  }
  const init: ElementSegment['init'] = usesExpressions
    ? { kind: 'expressions', expressions: reader.vector(readConstantExpression) }
    : { kind: 'functions', indices: reader.vector((r) => r.u32()) };
  return { mode, table, offset, elementType, init };
}

function writeElement(writer: ByteWriter, segment: ElementSegment): void {
  const usesExpressions = segment.init.kind === 'expressions';
  const explicitTable = segment.mode === 'active' && (segment.table !== 0 || segment.elementType !== FUNCREF);
  if (!usesExpressions && segment.elementType !== FUNCREF) {
    throw new WasmEncodeError('an element segment of function indices must have type funcref');
  }
  let flags = usesExpressions ? 0x04 : 0;
  if (segment.mode === 'passive') flags |= 0x01;
  if (segment.mode === 'declarative') flags |= 0x03;
  if (explicitTable) flags |= 0x02;
  writer.u32(flags);
  if (segment.mode === 'active') {
    if (explicitTable) writer.u32(segment.table);
    writeConstantExpression(writer, segment.offset ?? []);
  }
  if (segment.mode !== 'active' || explicitTable) writer.u8(usesExpressions ? segment.elementType : 0x00);
  if (segment.init.kind === 'expressions') {
    writer.vector(segment.init.expressions, writeConstantExpression);
  } else {
    writer.vector(segment.init.indices, (w, index) => w.u32(index));
  }
}

/** A data segment's encoding up to its bytes: its mode, memory and offset. */
function writeDataHead(writer: ByteWriter, segment: DataSegment): void {
  if (segment.mode === 'passive') {
    writer.u32(1);
  } else {
    if (segment.memory === 0) {
      writer.u32(0);
    } else {
      writer.u32(2).u32(segment.memory);
    }
    writeConstantExpression(writer, segment.offset ?? []);
  }
}

/** Local groups of fewer locals than this are shared, one object per count and type. */
const SHARED_GROUP_COUNTS = 64;
const sharedGroups = new Map<number, LocalGroup>();

/**
 * A local group: a shared one for a small count (a large module declares tens of thousands of groups,
 * almost all of a few locals of one type; the groups are read only).
 */
function localGroup(count: number, type: ValType): LocalGroup {
  if (count >= SHARED_GROUP_COUNTS) return { count, type };
  const key = count * 256 + type;
  let group = sharedGroups.get(key);
  if (group === undefined) {
    group = { count, type };
    sharedGroups.set(key, group);
  }
  return group;
}

/**
 * The local groups of the body at `start` (up to `end`) when all is as usual (fewer than 128 groups,
 * each of fewer than 128 locals, and some code after them), read straight from `bytes`: its code then
 * starts two bytes a group after the count. `undefined` otherwise, for the general reading to decide
 * (and fail as it does).
 */
function usualLocals(bytes: Uint8Array, start: number, end: number): LocalGroup[] | undefined {
  if (start >= end) return undefined;
  const groups = bytes[start] as number;
  if (groups >= 0x80 || 1 + 2 * groups >= end - start) return undefined;
  const locals = new Array<LocalGroup>(groups);
  for (let i = 0, p = start + 1; i < groups; i++, p += 2) {
    const count = bytes[p] as number;
    if (count >= 0x80) return undefined;
    locals[i] = localGroup(count, bytes[p + 1] as ValType);
  }
  return locals;
}

function readFunctionBody(reader: ByteReader): FunctionBody {
  const size = reader.u32();
  const end = reader.offset + size;
  if (end > reader.end) reader.fail(`function body of ${size} bytes exceeds the section`);
  // Nearly every body: no reader of its own, no bounds checked per byte.
  const usual = usualLocals(reader.bytes, reader.offset, end);
  if (usual !== undefined) {
    const code = reader.bytes.subarray(reader.offset + 1 + 2 * usual.length, end);
    reader.offset = end;
    return { locals: usual, code };
  }
  const body = new ByteReader(reader.bytes, reader.offset, end);
  // The groups read in a loop of its own (`ByteReader.vector` would take a closure per body).
  const groups = body.u32();
  if (groups > end - body.offset) body.fail(`vector of ${groups} elements exceeds the remaining input`);
  const locals = new Array<LocalGroup>(groups);
  let total = 0;
  for (let i = 0; i < groups; i++) {
    const at = body.offset;
    const count = body.u32();
    total += count;
    // The binary format caps a function's locals at 2^32 - 1 in all ("too many locals").
    if (total > MAX_U32) body.fail('function declares more than 2^32 - 1 locals', at);
    locals[i] = localGroup(count, readValType(body));
  }
  if (body.done) body.fail('function body has no instructions');
  reader.offset = end;
  return { locals, code: reader.bytes.subarray(body.offset, end) };
}

/** The size of `body`'s encoding after its size prefix: its locals' vector and its code. */
function functionBodySize(body: FunctionBody): number {
  let size = u32LebSize(body.locals.length) + body.code.length;
  let total = 0;
  for (const group of body.locals) {
    size += u32LebSize(group.count) + 1;
    total += group.count;
  }
  if (total > MAX_U32) throw new WasmEncodeError(`a function declares ${total} locals, more than 2^32 - 1`);
  return size;
}

function writeFunctionBody(writer: ByteWriter, body: FunctionBody): void {
  writer.u32(functionBodySize(body)).u32(body.locals.length);
  for (const group of body.locals) writer.u32(group.count).u8(group.type);
  writer.bytes(body.code);
}

/**
 * One section of a module being encoded: how many bytes it takes (its id and
 * size prefix included) and how to write it. The module's buffer is
 * allocated at the sum of the sizes, so that the encoding is handed out
 * without a copy; the code, data and custom sections, which may hold
 * megabytes, are written straight into it, their sizes computed first.
 */
interface SectionPiece {
  readonly size: number;
  readonly write: (writer: ByteWriter) => void;
}

/** A section of `contentSize` bytes that `writeContent` writes, as a piece. */
function sectionPiece(
  id: SectionId,
  contentSize: number,
  writeContent: (writer: ByteWriter) => void,
): SectionPiece {
  return {
    size: 1 + u32LebSize(contentSize) + contentSize,
    write: (writer) => {
      writeContent(writer.u8(id).u32(contentSize));
    },
  };
}

function codeSectionPiece(bodies: readonly FunctionBody[]): SectionPiece {
  let size = u32LebSize(bodies.length);
  for (const body of bodies) {
    const bodySize = functionBodySize(body);
    size += u32LebSize(bodySize) + bodySize;
  }
  return sectionPiece(SectionId.code, size, (writer) => {
    writer.u32(bodies.length);
    for (const body of bodies) writeFunctionBody(writer, body);
  });
}

function dataSectionPiece(segments: readonly DataSegment[], scratch: ByteWriter): SectionPiece {
  // Each segment's head (mode, memory, offset) goes to the scratch writer; where each one ends there.
  const first = scratch.size;
  const headEnds = segments.map((segment) => {
    writeDataHead(scratch, segment);
    return scratch.size;
  });
  let size = u32LebSize(segments.length) + scratch.size - first;
  for (const segment of segments) size += u32LebSize(segment.bytes.length) + segment.bytes.length;
  return sectionPiece(SectionId.data, size, (writer) => {
    writer.u32(segments.length);
    let headStart = first;
    segments.forEach((segment, i) => {
      const headEnd = headEnds[i] as number;
      writer.rangeOf(scratch, headStart, headEnd).byteVector(segment.bytes);
      headStart = headEnd;
    });
  });
}

function customSectionPiece(custom: CustomSection, scratch: ByteWriter): SectionPiece {
  const start = scratch.size;
  scratch.name(custom.name);
  const end = scratch.size;
  return sectionPiece(SectionId.custom, end - start + custom.bytes.length, (writer) => {
    writer.rangeOf(scratch, start, end).bytes(custom.bytes);
  });
}

interface MutableModule {
  types: FuncType[];
  imports: Import[];
  functions: number[];
  tables: TableType[];
  memories: Limits[];
  tags: TagType[];
  globals: Global[];
  exports: Export[];
  start: number | undefined;
  elements: ElementSegment[];
  dataCount: number | undefined;
  code: FunctionBody[];
  data: DataSegment[];
  customSections: CustomSection[];
}

/** A module of nothing: every list empty, no start function, no data count section. */
function nothing(): MutableModule {
  return {
    types: [],
    imports: [],
    functions: [],
    tables: [],
    memories: [],
    tags: [],
    globals: [],
    exports: [],
    start: undefined,
    elements: [],
    dataCount: undefined,
    code: [],
    data: [],
    customSections: [],
  };
}

/**
 * A module with only `parts` in it, everything else empty: what a caller keeps of a module it no
 * longer needs whole (its imports and types, say, to link against).
 *
 * @example
 * ```ts
 * const linkable = moduleWith({ imports: module.imports, types: module.types });
 * ```
 */
export function moduleWith(parts: Partial<WasmModule>): WasmModule {
  return Object.assign(nothing(), parts);
}

/** Reads section `id` into `module`; a data section's segments, if not decoded, into what it returns. */
function readSection(
  id: number,
  reader: ByteReader,
  module: MutableModule,
  lastId: SectionId,
): UndecodedData | undefined {
  switch (id) {
    case SectionId.custom:
      module.customSections.push({
        name: reader.name(),
        bytes: reader.take(reader.end - reader.offset),
        after: lastId,
      });
      return;
    case SectionId.type:
      module.types = reader.vector(readFuncType);
      return;
    case SectionId.import:
      module.imports = reader.vector(readImport);
      return;
    case SectionId.function:
      module.functions = reader.vector((r) => r.u32());
      return;
    case SectionId.table:
      module.tables = reader.vector(readTableType);
      return;
    case SectionId.memory:
      module.memories = reader.vector(readLimits);
      return;
    case SectionId.tag:
      module.tags = reader.vector(readTagType);
      return;
    case SectionId.global:
      module.globals = reader.vector(readGlobal);
      return;
    case SectionId.export:
      module.exports = reader.vector(readExport);
      return;
    case SectionId.start:
      module.start = reader.u32();
      return;
    case SectionId.element:
      module.elements = reader.vector(readElement);
      return;
    case SectionId.dataCount:
      module.dataCount = reader.u32();
      return;
    case SectionId.code:
      module.code = reader.vector(readFunctionBody);
      return;
    case SectionId.data:
      return readDataSection(reader, module);
    default:
      reader.fail(`unknown section id ${id}`, reader.offset - 1);
  }
}

function checkPreamble(reader: ByteReader): void {
  if (reader.bytes.length === 0) reader.fail('empty input: a WebAssembly module starts with \\0asm', 0);
  if (reader.bytes.length < 8) reader.fail('input too short for the 8-byte WebAssembly preamble', 0);
  const magic = reader.take(4);
  if (!WASM_MAGIC.every((byte, i) => magic[i] === byte)) {
    reader.fail('not a WebAssembly module: bad magic number (expected \\0asm)', 0);
  }
  const version = reader.take(4);
  if (!WASM_VERSION.every((byte, i) => version[i] === byte)) {
    reader.fail(`unsupported WebAssembly binary version ${Array.from(version).join(',')} (expected 1)`, 4);
  }
}

/**
 * Reads the sections of `bytes` into a new module, in order: all of them, or
 * those before the first non-custom section that comes after `last` (which
 * are then neither read nor checked).
 */
function readSections(bytes: Uint8Array, last?: SectionId): MutableModule {
  const reader = new ByteReader(bytes);
  checkPreamble(reader);
  const module = nothing();
  const lastPosition = last === undefined ? SECTION_ORDER.length : SECTION_ORDER.indexOf(last);
  let lastId: SectionId = SectionId.custom;
  let undecoded: UndecodedData | undefined;
  while (!reader.done) {
    const idOffset = reader.offset;
    const id = reader.u8();
    const size = reader.u32();
    if (size > reader.end - reader.offset) {
      reader.fail(`section ${id} claims ${size} bytes, only ${reader.end - reader.offset} remain`, idOffset);
    }
    if (id !== SectionId.custom) {
      const position = SECTION_ORDER.indexOf(id as SectionId);
      if (position > lastPosition) break;
      if (position !== -1 && position <= SECTION_ORDER.indexOf(lastId)) {
        reader.fail(`section ${id} is duplicated or out of order`, idOffset);
      }
    }
    const section = new ByteReader(bytes, reader.offset, reader.offset + size);
    undecoded = readSection(id, section, module, lastId) ?? undecoded;
    if (!section.done) section.fail(`section ${id} has ${section.end - section.offset} unread bytes`);
    reader.offset += size;
    if (id !== SectionId.custom) lastId = id as SectionId;
  }
  return undecoded === undefined ? module : withUndecodedData(module, undecoded);
}

/**
 * Decodes a module's binary format. Function bodies are kept as bytes (see
 * {@link FunctionBody.code}); everything else is decoded, the data segments
 * when `data` is first read (their structure is checked here; copy the module
 * with `derivedModule` to keep them undecoded). The result shares memory with
 * `bytes` (function bodies, data segments and custom sections are views into
 * it).
 *
 * Decoding checks the structure, not types: pass the bytes to
 * `WebAssembly.validate` for full validation.
 *
 * @throws WasmDecodeError if the bytes are not a structurally valid module.
 */
export function decodeModule(bytes: Uint8Array): WasmModule {
  const module = readSections(bytes);
  if (module.functions.length !== module.code.length) {
    throw new WasmDecodeError(
      `function section declares ${module.functions.length} functions but the code section has ${module.code.length} bodies`,
      bytes.length,
    );
  }
  return module;
}

/**
 * A module's function types and imports, read from the sections that come
 * first in its binary format: what a host needs to offer each imported
 * function, without decoding the rest (most of a large module: its code and
 * data). `decodeModule(bytes)` gives the same `types` and `imports`; the rest
 * of the module is not checked.
 *
 * @example
 * ```ts
 * const { types, imports } = decodeImports(bytes);
 * for (const { module, name, descriptor } of imports)
 *   if (descriptor.kind === 'function') console.log(module, name, types[descriptor.type]);
 * ```
 *
 * @throws WasmDecodeError if the bytes up to the end of the import section are not structurally valid.
 */
export function decodeImports(bytes: Uint8Array): Pick<WasmModule, 'types' | 'imports'> {
  const { types, imports } = readSections(bytes, SectionId.import);
  return { types, imports };
}

function sectionContent(module: WasmModule, id: SectionId): ((writer: ByteWriter) => void) | undefined {
  const nonEmpty = <T>(items: readonly T[], write: (w: ByteWriter, item: T) => void) =>
    items.length === 0 ? undefined : (w: ByteWriter) => void w.vector(items, write);
  switch (id) {
    case SectionId.type:
      return nonEmpty(module.types, writeFuncType);
    case SectionId.import:
      return nonEmpty(module.imports, writeImport);
    case SectionId.function:
      return nonEmpty(module.functions, (w, type) => w.u32(type));
    case SectionId.table:
      return nonEmpty(module.tables, writeTableType);
    case SectionId.memory:
      return nonEmpty(module.memories, writeLimits);
    case SectionId.tag:
      return nonEmpty(module.tags, writeTagType);
    case SectionId.global:
      return nonEmpty(module.globals, (w, g) => {
        writeGlobalType(w, g.type);
        writeConstantExpression(w, g.init);
      });
    case SectionId.export:
      return nonEmpty(module.exports, (w, e) => {
        w.name(e.name);
        writeExternalKind(w, e.kind);
        w.u32(e.index);
      });
    case SectionId.start: {
      const start = module.start;
      return start === undefined ? undefined : (w) => void w.u32(start);
    }
    case SectionId.element:
      return nonEmpty(module.elements, writeElement);
    case SectionId.dataCount: {
      const count = module.dataCount;
      return count === undefined ? undefined : (w) => void w.u32(count);
    }
    default:
      return undefined;
  }
}

/**
 * Where the small parts of a module are written before its size is known
 * (the sections other than code, data and custom ones, data segments' heads,
 * custom sections' names): one writer, used again by every encoding (a small
 * module's encoding made a new buffer for each), unless a large section grew it.
 */
let sectionScratch = new ByteWriter();
const SECTION_SCRATCH_KEPT_BYTES = 1 << 16;

/** `module`'s section `id` as a piece (see {@link SectionPiece}), or `undefined` when it has none. */
function sectionPieceOf(module: WasmModule, id: SectionId, scratch: ByteWriter): SectionPiece | undefined {
  if (id === SectionId.code) return module.code.length > 0 ? codeSectionPiece(module.code) : undefined;
  if (id === SectionId.data) {
    const decoded = dataSectionBytes(module);
    if (decoded !== undefined)
      return sectionPiece(id, decoded.length, (writer) => void writer.bytes(decoded));
    return module.data.length === 0 ? undefined : dataSectionPiece(module.data, scratch);
  }
  const content = sectionContent(module, id);
  if (content === undefined) return undefined;
  const start = scratch.size;
  content(scratch);
  const end = scratch.size;
  return sectionPiece(id, end - start, (writer) => void writer.rangeOf(scratch, start, end));
}

/** How {@link encodeModule} writes its result. */
export interface EncodeOptions {
  /**
   * Writes the result into the buffer the last transient encoding in this
   * thread used, when it is large enough and still there: a view, valid
   * until the next transient encoding, for a caller that only compiles it
   * (the engine copies the bytes it is given). Saves a new buffer per
   * module, whose pages the system faults in as they are written (6,000
   * faults, 70 ms here, for the 25 MB that ruby.wasm's instrumentation
   * encodes to). Default: a buffer of the result's own.
   */
  readonly transient?: boolean | undefined;
}

/** The writer of the last transient encoding (see {@link EncodeOptions.transient}). */
const transientOutput = new IdleWriter();

/**
 * Encodes a module to the binary format. Sections are written in the order
 * the format requires; custom sections are written after the section they
 * followed when decoded (at the end if that section is now absent). The
 * result is a buffer of its own, of exactly its size (unless
 * `options.transient`).
 *
 * @throws WasmEncodeError if a value cannot be encoded (an out-of-range index, say).
 */
export function encodeModule(module: WasmModule, options: EncodeOptions = {}): Uint8Array<ArrayBuffer> {
  if (module.functions.length !== module.code.length) {
    throw new WasmEncodeError(
      `${module.functions.length} function declarations but ${module.code.length} function bodies`,
    );
  }
  const scratch = sectionScratch.reset();
  const pieces: SectionPiece[] = [];
  const customsAfter = (after: SectionId): void => {
    for (const custom of module.customSections)
      if (custom.after === after) pieces.push(customSectionPiece(custom, scratch));
  };
  customsAfter(SectionId.custom);
  const written = new Set<SectionId>([SectionId.custom]);
  for (const id of SECTION_ORDER) {
    const piece = sectionPieceOf(module, id, scratch);
    if (piece === undefined) continue;
    pieces.push(piece);
    written.add(id);
    customsAfter(id);
  }
  // Custom sections whose anchor section is gone go last, in their original order.
  for (const custom of module.customSections)
    if (!written.has(custom.after)) pieces.push(customSectionPiece(custom, scratch));
  const size = pieces.reduce((sum, piece) => sum + piece.size, WASM_MAGIC.length + WASM_VERSION.length);
  const transient = options.transient === true;
  const writer = transient ? transientOutput.take(size) : new ByteWriter(size);
  writer.bytes(WASM_MAGIC).bytes(WASM_VERSION);
  for (const piece of pieces) piece.write(writer);
  if (scratch.size > SECTION_SCRATCH_KEPT_BYTES) sectionScratch = new ByteWriter();
  if (!transient) return writer.finish();
  transientOutput.give(writer);
  return writer.view();
}
