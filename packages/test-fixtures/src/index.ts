/**
 * `@ri-sandbox/test-fixtures`: WebAssembly modules for tests, examples and
 * benchmarks. WAT sources (`wat/`) are compiled with wabt at build time; the
 * realistic programs (`c/`) are clang wasm32-wasi output with their own
 * memory and a `__stack_pointer` global.
 *
 * @packageDocumentation
 */
import { GENERATED_FIXTURES, GENERATED_FUZZ } from './generated/fixtures';

/** The name of every fixture module. */
export type FixtureName = keyof typeof GENERATED_FIXTURES;

/** Where a fixture came from and what it is for. */
export interface FixtureInfo {
  readonly name: FixtureName;
  /** `wat`: hand-written text compiled by wabt; `clang`: C compiled by clang for wasm32-wasi. */
  readonly origin: 'wat' | 'clang';
  readonly description: string;
}

/** Every fixture's name, WAT fixtures first. */
export const FIXTURE_NAMES: readonly FixtureName[] = Object.freeze(
  Object.keys(GENERATED_FIXTURES) as FixtureName[],
);

/** Describes the fixture `name`. */
export function fixtureInfo(name: FixtureName): FixtureInfo {
  const { origin, description } = GENERATED_FIXTURES[name];
  return { name, origin, description };
}

/**
 * The bytes of the fixture `name`: a fresh copy each call, so a test that
 * corrupts its copy cannot affect another.
 *
 * @example
 * ```ts
 * const bytes = fixture('add');
 * await sandbox.load(instance, bytes);
 * ```
 */
export function fixture(name: FixtureName): Uint8Array<ArrayBuffer> {
  return fromBase64(GENERATED_FIXTURES[name].base64);
}

/**
 * Generated modules for differential tests of bytecode transforms: binaryen's
 * `wasm-opt --translate-to-fuzz` output from fixed seeds, using only features
 * Node 20 enables by default. They import `fuzzing-support.log-*` functions
 * (and `call-export-catch`), and their loops carry binaryen's hang limit.
 */
export function fuzzModules(): { readonly name: string; readonly bytes: Uint8Array<ArrayBuffer> }[] {
  return Object.entries(GENERATED_FUZZ).map(([name, base64]) => ({ name, bytes: fromBase64(base64) }));
}

function fromBase64(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
