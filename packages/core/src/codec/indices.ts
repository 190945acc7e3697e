/**
 * The index spaces of a module, and the indices outside function bodies that
 * fall past them. Transforms append to these spaces (functions, globals,
 * types, element segments): an index one past the module's own would then
 * name what a transform added, and an invalid module would come out valid.
 * A transform that takes modules nobody validated checks them first with
 * {@link findUnknownIndex} (and the indices in bodies as it scans them).
 */
import { dataSegmentCount, undecodedData } from './data-section';
import { functionSignature } from './functions';
import type { Instruction } from './instructions';
import type { DataSegment, ElementSegment, ExternalKind, Global, TagType, WasmModule } from './types';

/** How many of each a module has, imports included. */
export interface IndexSpaces {
  readonly types: number;
  readonly functions: number;
  readonly tables: number;
  readonly memories: number;
  readonly globals: number;
  readonly tags: number;
  readonly elements: number;
  readonly data: number;
}

/** The size of each of `module`'s index spaces. */
export function indexSpaces(module: WasmModule): IndexSpaces {
  const imported: Record<ExternalKind, number> = { function: 0, table: 0, memory: 0, global: 0, tag: 0 };
  for (const imp of module.imports) imported[imp.descriptor.kind]++;
  return {
    types: module.types.length,
    functions: imported.function + module.functions.length,
    tables: imported.table + module.tables.length,
    memories: imported.memory + module.memories.length,
    globals: imported.global + module.globals.length,
    tags: imported.tag + module.tags.length,
    elements: module.elements.length,
    data: module.dataCount ?? dataSegmentCount(module),
  };
}

const SPACE_OF_KIND: Readonly<Record<ExternalKind, keyof IndexSpaces>> = {
  function: 'functions',
  table: 'tables',
  memory: 'memories',
  global: 'globals',
  tag: 'tags',
};

/** What an index names, in the words of the engines' messages ("unknown global 3"). */
const NOUN: Readonly<Record<keyof IndexSpaces, string>> = {
  types: 'type',
  functions: 'function',
  tables: 'table',
  memories: 'memory',
  globals: 'global',
  tags: 'tag',
  elements: 'element segment',
  data: 'data segment',
};

/** Why `index` is not in `space` (it is past the end of it), naming `where` it is. */
function unknown(space: keyof IndexSpaces, index: number, where: string): string {
  return `unknown ${NOUN[space]} ${index} in ${where}`;
}

// The checks compare first and word a reason only for an index that fails: a large module has tens of
// thousands of functions and exports, and a function table as long.

/** The first index past its space in a constant expression (`global.get`, `ref.func`). */
function expressionProblem(
  spaces: IndexSpaces,
  expression: readonly Instruction[] | undefined,
  where: () => string,
): string | undefined {
  if (expression === undefined) return undefined;
  for (const instr of expression) {
    const name = instr.op.name;
    const space = name === 'global.get' ? 'globals' : name === 'ref.func' ? 'functions' : undefined;
    const index = instr.immediate as number;
    if (space !== undefined && index >= spaces[space]) return unknown(space, index, where());
  }
  return undefined;
}

/** The first import, function or tag whose type index is past the types. */
function typeProblem(module: WasmModule, spaces: IndexSpaces): string | undefined {
  const { imports, functions, tags } = module;
  const types = spaces.types;
  for (const imp of imports) {
    const { descriptor } = imp;
    const type =
      descriptor.kind === 'function'
        ? descriptor.type
        : descriptor.kind === 'tag'
          ? descriptor.tag.type
          : undefined;
    if (type !== undefined && type >= types)
      return unknown('types', type, `import ${imp.module}.${imp.name}`);
  }
  for (let i = 0; i < functions.length; i++) {
    const type = functions[i] as number;
    if (type >= types) return unknown('types', type, `the type of defined function ${i}`);
  }
  for (let i = 0; i < tags.length; i++) {
    const type = (tags[i] as TagType).type;
    if (type >= types) return unknown('types', type, `the type of defined tag ${i}`);
  }
  return undefined;
}

/** The first index past its space in an element segment. */
function elementProblem(spaces: IndexSpaces, segment: ElementSegment, i: number): string | undefined {
  const where = () => `element segment ${i}`;
  if (segment.mode === 'active' && segment.table >= spaces.tables)
    return unknown('tables', segment.table, where());
  const offset = expressionProblem(spaces, segment.offset, where);
  if (offset !== undefined) return offset;
  const { init } = segment;
  if (init.kind === 'functions') {
    for (const f of init.indices) if (f >= spaces.functions) return unknown('functions', f, where());
    return undefined;
  }
  for (const expression of init.expressions) {
    const problem = expressionProblem(spaces, expression, where);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** The first index past its space in the globals, exports, start function and segments. */
function referenceProblem(module: WasmModule, spaces: IndexSpaces): string | undefined {
  const { globals, exports, start, elements } = module;
  for (let i = 0; i < globals.length; i++) {
    const where = () => `the initializer of defined global ${i}`;
    const problem = expressionProblem(spaces, (globals[i] as Global).init, where);
    if (problem !== undefined) return problem;
  }
  for (const e of exports) {
    const space = SPACE_OF_KIND[e.kind];
    if (e.index >= spaces[space]) return unknown(space, e.index, `export "${e.name}"`);
  }
  if (start !== undefined && start >= spaces.functions)
    return unknown('functions', start, 'the start section');
  for (let i = 0; i < elements.length; i++) {
    const problem = elementProblem(spaces, elements[i] as ElementSegment, i);
    if (problem !== undefined) return problem;
  }
  return dataProblem(module, spaces);
}

/** The first index past its space in the data segments: without decoding them when it can. */
function dataProblem(module: WasmModule, spaces: IndexSpaces): string | undefined {
  const undecoded = undecodedData(module);
  if (undecoded !== undefined) {
    // Undecoded segments are passive, or active in memory 0 at an `i32.const` offset.
    const { firstActive } = undecoded;
    return firstActive >= 0 && spaces.memories === 0
      ? unknown('memories', 0, `data segment ${firstActive}`)
      : undefined;
  }
  const { data } = module;
  for (let i = 0; i < data.length; i++) {
    const segment = data[i] as DataSegment;
    const where = () => `data segment ${i}`;
    if (segment.mode === 'active' && segment.memory >= spaces.memories)
      return unknown('memories', segment.memory, where());
    const problem = expressionProblem(spaces, segment.offset, where);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** The type of the start function, which must take and return nothing. */
function startProblem(module: WasmModule): string | undefined {
  if (module.start === undefined) return undefined;
  const type = functionSignature(module, module.start);
  return type !== undefined && type.params.length === 0 && type.results.length === 0
    ? undefined
    : `the start function ${module.start} must take and return nothing`;
}

/**
 * Why `module` is invalid for an index outside function bodies past the end
 * of its space (a type, function, table, memory, global, tag, element
 * segment), or for a start function that takes or returns values; undefined
 * if none is. Bodies are not read: their indices are the business of the
 * transform that scans them. `spaces` are the module's, if the caller has
 * them already.
 */
export function findUnknownIndex(module: WasmModule, spaces = indexSpaces(module)): string | undefined {
  return typeProblem(module, spaces) ?? referenceProblem(module, spaces) ?? startProblem(module);
}
