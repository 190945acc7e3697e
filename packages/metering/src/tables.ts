/**
 * Which tables an indirect call can reach the host through. A call that
 * cannot reach an imported function needs no check before it: the defined
 * function it reaches checks at its own entry.
 */
import { ValType, type Instruction, type WasmModule, importedFunctionCount } from '@ri-sandbox/core';

/** No tables: every indirect call is checked before it. */
export const NO_OWN_TABLES: ReadonlySet<number> = new Set();

/**
 * The funcref tables that, as the module starts, hold only its own
 * functions and that the host cannot change: defined (not imported), not
 * exported, and filled by active segments that name defined functions (or
 * null) only. The module's code may still write a table (`table.set`,
 * `table.grow`, `table.fill`, `table.copy`, `table.init`): a body scan
 * reports that, and the instrumentation then starts again without them.
 */
export function ownTables(module: WasmModule): ReadonlySet<number> {
  const importedTables = module.imports.filter((i) => i.descriptor.kind === 'table').length;
  const own = new Set<number>();
  module.tables.forEach((table, i) => {
    if (table.elementType === ValType.funcref) own.add(importedTables + i);
  });
  for (const e of module.exports) if (e.kind === 'table') own.delete(e.index);
  const importedFunctions = importedFunctionCount(module);
  for (const segment of module.elements) {
    if (segment.mode !== 'active' || !own.has(segment.table)) continue;
    const { init } = segment;
    const reachesHost =
      init.kind === 'functions'
        ? init.indices.some((index) => index < importedFunctions)
        : init.expressions.some((expression) => !ownFunctionOrNull(expression, importedFunctions));
    if (reachesHost) own.delete(segment.table);
  }
  return own;
}

/** Whether a segment's element expression is `ref.func` of a defined function, or `ref.null`. */
function ownFunctionOrNull(expression: readonly Instruction[], importedFunctions: number): boolean {
  if (expression.length !== 1) return false;
  const [only] = expression as [Instruction];
  if (only.op.name === 'ref.null') return true;
  return only.op.name === 'ref.func' && (only.immediate as number) >= importedFunctions;
}
