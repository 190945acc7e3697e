/**
 * Where an instrumented instance keeps the state a snapshot needs: the export
 * names through which its globals, tables and functions can be reached.
 */
import type { SavedValue } from './state';

/** How the host reads and writes one mutable global. */
export interface GlobalAccess {
  /** Index in the module's global index space. */
  readonly index: number;
  readonly type: SavedValue['type'];
  /**
   * For i32, i64 and reference globals: the export of the global itself.
   * For f32, f64 and v128: functions `get() -> bits` and `set(bits)`, since a
   * JavaScript number cannot carry every NaN payload and a v128 cannot cross at all.
   */
  readonly access:
    | { readonly kind: 'global'; readonly exportName: string }
    | { readonly kind: 'accessors'; readonly getter: string; readonly setter: string };
}

/** A table whose contents can change at run time. */
export interface TableAccess {
  readonly index: number;
  readonly exportName: string;
  readonly elementType: 'funcref' | 'externref';
  /** Its size at instantiation, and its maximum size if the module declares one. */
  readonly minimum: number;
  readonly maximum: number | undefined;
}

/** The exports a snapshot reads and writes, produced by `exposeState` with the module it rewrote. */
export interface StateLayout {
  /** Every mutable global, the instrumentation's own included, in index order. */
  readonly globals: readonly GlobalAccess[];
  /** The export of the module's memory (defined or imported), if it has one. */
  readonly memory: string | undefined;
  /** Tables the module can change at run time (tables it cannot change are rebuilt by instantiation). */
  readonly tables: readonly TableAccess[];
  /** Every function a reference can point to, exported so it can be named by index. */
  readonly functions: readonly { readonly index: number; readonly exportName: string }[];
  /** The flag globals (indices, among `globals`) that record a dropped segment. */
  readonly dropFlags: readonly number[];
  /** A function to call after restoring globals: it drops the segments the restored state says were dropped. */
  readonly redrop: string | undefined;
  /**
   * The module's start function, now an export: call it once after the first
   * instantiation (and not after the one a restore makes).
   */
  readonly start: string | undefined;
}

/** The export `exportName` if it is a `kind`; a `TypeError` for an instance that does not match its layout. */
export function exported<T>(
  exports: WebAssembly.Exports,
  exportName: string,
  kind: new (...args: never[]) => T,
): T {
  const value = exports[exportName];
  if (!(value instanceof kind)) throw new TypeError(`${exportName} is not exported as a ${kind.name}`);
  return value;
}

/** The exported function `exportName`; a `TypeError` for an instance that does not match its layout. */
export function callable(exports: WebAssembly.Exports, exportName: string): (...args: unknown[]) => unknown {
  const value = exports[exportName];
  if (typeof value !== 'function') throw new TypeError(`${exportName} is not an exported function`);
  return value as (...args: unknown[]) => unknown;
}

/** The memory of `instance`, through the export `layout` names (`undefined` for a module without one). */
export function memoryOf(
  instance: WebAssembly.Instance,
  layout: StateLayout,
): WebAssembly.Memory | undefined {
  if (layout.memory === undefined) return undefined;
  const memory = instance.exports[layout.memory];
  if (!(memory instanceof WebAssembly.Memory))
    throw new TypeError(`${layout.memory} is not an exported memory`);
  return memory;
}
