/**
 * The index spaces of a module, and the indices outside function bodies that
 * fall past them. Transforms append to these spaces (functions, globals,
 * types, element segments): an index one past the module's own would then
 * name what a transform added, and an invalid module would come out valid.
 * A transform that takes modules nobody validated checks them first with
 * {@link findUnknownIndex} (and the indices in bodies as it scans them).
 */
import { functionSignature } from './functions';
import type { Instruction } from './instructions';
import type { ExternalKind, WasmModule } from './types';

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
    data: module.dataCount ?? module.data.length,
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

/** `index` in `space`, unless it is past the end of it: then why, naming `where` it is. */
function outside(
  spaces: IndexSpaces,
  space: keyof IndexSpaces,
  index: number,
  where: string,
): string | undefined {
  return index < spaces[space] ? undefined : `unknown ${NOUN[space]} ${index} in ${where}`;
}

/** The first index past its space in a constant expression (`global.get`, `ref.func`). */
function expressionProblem(
  spaces: IndexSpaces,
  expression: readonly Instruction[] | undefined,
  where: string,
): string | undefined {
  for (const instr of expression ?? []) {
    const name = instr.op.name;
    const space = name === 'global.get' ? 'globals' : name === 'ref.func' ? 'functions' : undefined;
    const problem =
      space === undefined ? undefined : outside(spaces, space, instr.immediate as number, where);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** The first import, function or tag whose type index is past the types. */
function typeProblem(module: WasmModule, spaces: IndexSpaces): string | undefined {
  for (const imp of module.imports) {
    const { descriptor } = imp;
    const type =
      descriptor.kind === 'function'
        ? descriptor.type
        : descriptor.kind === 'tag'
          ? descriptor.tag.type
          : undefined;
    const problem =
      type === undefined ? undefined : outside(spaces, 'types', type, `import ${imp.module}.${imp.name}`);
    if (problem !== undefined) return problem;
  }
  for (const [i, type] of module.functions.entries()) {
    const problem = outside(spaces, 'types', type, `the type of defined function ${i}`);
    if (problem !== undefined) return problem;
  }
  for (const [i, tag] of module.tags.entries()) {
    const problem = outside(spaces, 'types', tag.type, `the type of defined tag ${i}`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** The first index past its space in the globals, exports, start function and segments. */
function referenceProblem(module: WasmModule, spaces: IndexSpaces): string | undefined {
  for (const [i, global] of module.globals.entries()) {
    const problem = expressionProblem(spaces, global.init, `the initializer of defined global ${i}`);
    if (problem !== undefined) return problem;
  }
  for (const e of module.exports) {
    const problem = outside(spaces, SPACE_OF_KIND[e.kind], e.index, `export "${e.name}"`);
    if (problem !== undefined) return problem;
  }
  if (module.start !== undefined) {
    const problem = outside(spaces, 'functions', module.start, 'the start section');
    if (problem !== undefined) return problem;
  }
  for (const [i, segment] of module.elements.entries()) {
    const where = `element segment ${i}`;
    const problem =
      (segment.mode === 'active' ? outside(spaces, 'tables', segment.table, where) : undefined) ??
      expressionProblem(spaces, segment.offset, where) ??
      (segment.init.kind === 'functions'
        ? segment.init.indices.map((f) => outside(spaces, 'functions', f, where)).find((p) => p !== undefined)
        : segment.init.expressions
            .map((e) => expressionProblem(spaces, e, where))
            .find((p) => p !== undefined));
    if (problem !== undefined) return problem;
  }
  for (const [i, segment] of module.data.entries()) {
    const where = `data segment ${i}`;
    const problem =
      (segment.mode === 'active' ? outside(spaces, 'memories', segment.memory, where) : undefined) ??
      expressionProblem(spaces, segment.offset, where);
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
 * transform that scans them.
 */
export function findUnknownIndex(module: WasmModule): string | undefined {
  const spaces = indexSpaces(module);
  return typeProblem(module, spaces) ?? referenceProblem(module, spaces) ?? startProblem(module);
}
