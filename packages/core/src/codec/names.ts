/**
 * The `name` custom section: debug names of the module, its functions and its
 * globals. Compilers keep it unless told to strip; it is how `__stack_pointer`
 * and friends can be found by name.
 */
import { ByteReader } from './bytes';
import type { WasmModule } from './types';

/** Names read from a module's `name` section. Missing entries simply have no name. */
export interface NameSection {
  readonly module?: string | undefined;
  readonly functions: ReadonlyMap<number, string>;
  readonly globals: ReadonlyMap<number, string>;
}

const SUBSECTION_MODULE = 0;
const SUBSECTION_FUNCTIONS = 1;
const SUBSECTION_GLOBALS = 7;

function readNameMap(reader: ByteReader): Map<number, string> {
  const map = new Map<number, string>();
  const count = reader.u32();
  for (let i = 0; i < count; i++) {
    const index = reader.u32();
    map.set(index, reader.name());
  }
  return map;
}

/**
 * Reads the module's `name` section. Engines ignore a malformed name section,
 * and so does this: it returns `undefined` when there is none or it cannot be read.
 */
export function readNameSection(module: WasmModule): NameSection | undefined {
  const section = module.customSections.find((custom) => custom.name === 'name');
  if (section === undefined) return undefined;
  const reader = new ByteReader(section.bytes);
  let moduleName: string | undefined;
  let functions = new Map<number, string>();
  let globals = new Map<number, string>();
  try {
    while (!reader.done) {
      const id = reader.u8();
      const size = reader.u32();
      const sub = new ByteReader(section.bytes, reader.offset, reader.offset + size);
      if (sub.end > section.bytes.length) return undefined;
      if (id === SUBSECTION_MODULE) moduleName = sub.name();
      if (id === SUBSECTION_FUNCTIONS) functions = readNameMap(sub);
      if (id === SUBSECTION_GLOBALS) globals = readNameMap(sub);
      reader.offset += size;
    }
  } catch {
    return undefined;
  }
  return { module: moduleName, functions, globals };
}
