/**
 * Renumbering functions outside code: what a transform that inserts an
 * imported function (shifting every defined function's index) must update
 * besides the `call`/`return_call`/`ref.func` instructions in function bodies.
 */
import { ByteReader, ByteWriter } from './bytes';
import { derivedModule } from './data-section';
import type { Instruction } from './instructions';
import type { CustomSection, ElementSegment, WasmModule } from './types';

/** Maps an old function index to its new one. */
export type FunctionRemap = (index: number) => number;

function remapExpression(expression: readonly Instruction[], remap: FunctionRemap): readonly Instruction[] {
  return expression.map((instr) =>
    instr.op.name === 'ref.func' ? { op: instr.op, immediate: remap(instr.immediate as number) } : instr,
  );
}

function remapElement(segment: ElementSegment, remap: FunctionRemap): ElementSegment {
  const offset = segment.offset === undefined ? undefined : remapExpression(segment.offset, remap);
  const init: ElementSegment['init'] =
    segment.init.kind === 'functions'
      ? { kind: 'functions', indices: segment.init.indices.map(remap) }
      : { kind: 'expressions', expressions: segment.init.expressions.map((e) => remapExpression(e, remap)) };
  return Object.assign({}, segment, { offset, init });
}

const FUNCTION_NAMES = 1;
/** Subsections keyed by function index whose entries are themselves name maps: locals and (extended name section) labels. */
const INDIRECT_BY_FUNCTION: ReadonlySet<number> = new Set([2, 3]);

/** Rewrites the function indices of a `name` section's function, local and label name maps. */
function remapNameSection(bytes: Uint8Array, remap: FunctionRemap): Uint8Array {
  const reader = new ByteReader(bytes);
  const writer = new ByteWriter(bytes.length + 16);
  while (!reader.done) {
    const id = reader.u8();
    const size = reader.u32();
    const start = reader.offset;
    reader.skip(size);
    if (id !== FUNCTION_NAMES && !INDIRECT_BY_FUNCTION.has(id)) {
      writer.u8(id).u32(size).range(bytes, start, reader.offset);
      continue;
    }
    const sub = new ByteReader(bytes, start, reader.offset);
    const out = new ByteWriter(size + 8);
    const count = sub.u32();
    out.u32(count);
    for (let i = 0; i < count; i++) {
      out.u32(remap(sub.u32()));
      // The entry's bytes as they are (a name, or a map of names): copied, not decoded.
      const entry = sub.offset;
      if (id === FUNCTION_NAMES) sub.skip(sub.u32());
      else
        for (let names = sub.u32(); names > 0; names--) {
          sub.u32();
          sub.skip(sub.u32());
        }
      out.range(bytes, entry, sub.offset);
    }
    writer.u8(id).u32(out.size).append(out);
  }
  return writer.finish();
}

function remapCustomSection(section: CustomSection, remap: FunctionRemap): CustomSection | undefined {
  if (section.name !== 'name') return section;
  try {
    return Object.assign({}, section, { bytes: remapNameSection(section.bytes, remap) });
  } catch {
    // A malformed name section is ignored by engines; dropping it beats keeping wrong names.
    return undefined;
  }
}

/**
 * Applies `remap` to every function index outside function bodies: exports,
 * the start function, element segments, global initializers and the `name`
 * section. Function bodies are the caller's to rewrite.
 */
export function remapFunctionReferences(module: WasmModule, remap: FunctionRemap): WasmModule {
  return derivedModule(module, {
    exports: module.exports.map((e) =>
      e.kind === 'function' ? Object.assign({}, e, { index: remap(e.index) }) : e,
    ),
    start: module.start === undefined ? undefined : remap(module.start),
    elements: module.elements.map((segment) => remapElement(segment, remap)),
    globals: module.globals.map((g) => Object.assign({}, g, { init: remapExpression(g.init, remap) })),
    customSections: module.customSections.flatMap((section) => {
      const remapped = remapCustomSection(section, remap);
      return remapped === undefined ? [] : [remapped];
    }),
  });
}

/** Number of functions the module imports: the index of its first defined function. */
export function importedFunctionCount(module: WasmModule): number {
  return module.imports.filter((imp) => imp.descriptor.kind === 'function').length;
}
