/**
 * Strings and bytes as arguments, lowered into the guest's memory the way the
 * WebAssembly Component Model's canonical ABI does: the guest allocates with
 * its exported `cabi_realloc`, and each string or byte array becomes a
 * `(pointer, length)` pair of i32 arguments. This is how modules built with
 * wit-bindgen, and interpreters such as ruby.wasm, take text from their host.
 */
import { type Result, type SandboxError, err, ok, readableBytes, sandboxError } from '@ri-sandbox/core';
import { inBounds } from './guest-memory';
import type { Action } from './instance';

/** The allocator the canonical ABI calls: `cabi_realloc(old_ptr, old_size, align, new_size) -> ptr`. */
export const REALLOC_EXPORT = 'cabi_realloc';

/** One argument of {@link canonicalArgs}. */
export type CanonicalArgument = number | bigint | string | Uint8Array | readonly (string | Uint8Array)[];

const BRAND = Symbol.for('ri-sandbox.canonical-arguments');

/** Arguments for `execute` that may include strings and bytes; make them with {@link canonicalArgs}. */
export interface CanonicalArguments {
  readonly [BRAND]: true;
  readonly args: readonly CanonicalArgument[];
}

/**
 * Arguments for `execute` in which strings and bytes are passed as the
 * canonical ABI passes them. Numbers and bigints are passed as they are (one
 * argument each); a string (as UTF-8) or a `Uint8Array` is copied into memory
 * the guest allocates with its exported `cabi_realloc` and becomes two i32
 * arguments, pointer and length; an array of strings or byte arrays (a WIT
 * `list<string>`) becomes a pointer to `(pointer, length)` records and their
 * count. The allocations run inside the execution, metered.
 *
 * @example
 * ```ts
 * // (func (export "count") (param $text i32) (param $length i32) (result i32) ...)
 * sandbox.execute(instance, 'count', canonicalArgs('héllo')); // count(pointer, 6)
 * ```
 */
export function canonicalArgs(...args: readonly CanonicalArgument[]): CanonicalArguments {
  return Object.freeze({ [BRAND]: true as const, args: Object.freeze([...args]) });
}

/** Whether `payload` was made by {@link canonicalArgs}. */
export function isCanonicalArguments(payload: unknown): payload is CanonicalArguments {
  return typeof payload === 'object' && payload !== null && BRAND in payload;
}

/** An argument after checking: a value passed as it is, or bytes to copy, or a list of them. */
export type CheckedArgument =
  | { readonly kind: 'value'; readonly value: number | bigint }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'list'; readonly items: readonly Uint8Array[] };

const utf8Encoder = new TextEncoder();

function bytesOf(value: unknown): Uint8Array | undefined {
  if (typeof value === 'string') return utf8Encoder.encode(value);
  // A Uint8Array itself (not a proxy of one, nor an ArrayBuffer, which `readableBytes` would view).
  const bytes = readableBytes(value);
  return bytes === value ? bytes : undefined;
}

function checkArgument(value: unknown, index: number): CheckedArgument | string {
  if (typeof value === 'number' || typeof value === 'bigint') return { kind: 'value', value };
  const bytes = bytesOf(value);
  if (bytes !== undefined) return { kind: 'bytes', bytes };
  if (Array.isArray(value)) {
    const items: Uint8Array[] = [];
    for (const [i, item] of value.entries()) {
      const itemBytes = bytesOf(item);
      if (itemBytes === undefined) return `argument ${index}, item ${i}: expected a string or a Uint8Array`;
      items.push(itemBytes);
    }
    return { kind: 'list', items };
  }
  return `argument ${index}: expected a number, bigint, string, Uint8Array or an array of strings`;
}

/** The checked arguments, or `INVALID_PAYLOAD` naming the first that cannot be lowered. */
export function checkCanonicalArguments(
  payload: CanonicalArguments,
): Result<readonly CheckedArgument[], SandboxError> {
  const checked: CheckedArgument[] = [];
  for (const [index, value] of payload.args.entries()) {
    const argument = checkArgument(value, index);
    if (typeof argument === 'string') return err(sandboxError.invalidPayload(argument));
    checked.push(argument);
  }
  return ok(checked);
}

/**
 * The flat arguments the call will receive, with 0 standing for every pointer and the
 * real lengths: what `prepareDirectCall` checks against the action's parameters before
 * anything is allocated.
 */
export function placeholderValues(args: readonly CheckedArgument[]): (number | bigint)[] {
  return args.flatMap((a) =>
    a.kind === 'value' ? [a.value] : [0, a.kind === 'bytes' ? a.bytes.length : a.items.length],
  );
}

/** Allocates in the guest: `(align, size) -> pointer`, already run inside the execution. */
export type GuestAllocator = (align: number, size: number) => Result<number, SandboxError>;

/** The guest's `cabi_realloc`, checked against the canonical ABI's signature. */
export function findRealloc(
  find: (name: string) => Result<Action, SandboxError>,
): Result<Action, SandboxError> {
  const realloc = find(REALLOC_EXPORT);
  if (!realloc.ok) {
    return err(
      sandboxError.wasmTrap(
        'missing_export',
        `strings and bytes as arguments need the module to export ${REALLOC_EXPORT}(i32, i32, i32, i32) -> i32`,
      ),
    );
  }
  const { params, results } = realloc.value;
  if (params?.join() !== 'i32,i32,i32,i32' || results?.join() !== 'i32') {
    return err(
      sandboxError.wasmTrap(
        'abi_violation',
        `${REALLOC_EXPORT} has signature ${realloc.value.signature}; the canonical ABI needs (i32, i32, i32, i32) -> i32`,
      ),
    );
  }
  return realloc;
}

/** Copies `bytes` into `memory` at `pointer`, or `WASM_TRAP abi_violation` if it does not fit. */
function place(memory: WebAssembly.Memory, pointer: number, bytes: Uint8Array): Result<number, SandboxError> {
  if (!inBounds(pointer, bytes.length, memory.buffer.byteLength)) {
    return err(
      sandboxError.wasmTrap(
        'abi_violation',
        `${REALLOC_EXPORT} returned ${pointer} for ${bytes.length} bytes, outside the guest's ${memory.buffer.byteLength} bytes of memory`,
      ),
    );
  }
  new Uint8Array(memory.buffer).set(bytes, pointer);
  return ok(pointer);
}

function copyBytes(
  memory: WebAssembly.Memory,
  allocate: GuestAllocator,
  bytes: Uint8Array,
): Result<number, SandboxError> {
  const pointer = allocate(1, bytes.length);
  return pointer.ok ? place(memory, pointer.value, bytes) : pointer;
}

/** Lowers one list: its items, then the records `(pointer, length)` that point at them. */
function copyList(
  memory: WebAssembly.Memory,
  allocate: GuestAllocator,
  items: readonly Uint8Array[],
): Result<number, SandboxError> {
  const records = new Uint8Array(items.length * 8);
  const view = new DataView(records.buffer);
  for (const [i, item] of items.entries()) {
    const pointer = copyBytes(memory, allocate, item);
    if (!pointer.ok) return pointer;
    view.setUint32(i * 8, pointer.value, true);
    view.setUint32(i * 8 + 4, item.length, true);
  }
  const pointer = allocate(4, records.length);
  return pointer.ok ? place(memory, pointer.value, records) : pointer;
}

/** The flat arguments, with every string, byte array and list copied into the guest's memory. */
export function lowerArguments(
  memory: WebAssembly.Memory,
  allocate: GuestAllocator,
  args: readonly CheckedArgument[],
): Result<(number | bigint)[], SandboxError> {
  const values: (number | bigint)[] = [];
  for (const a of args) {
    if (a.kind === 'value') {
      values.push(a.value);
      continue;
    }
    const pointer =
      a.kind === 'bytes' ? copyBytes(memory, allocate, a.bytes) : copyList(memory, allocate, a.items);
    if (!pointer.ok) return pointer;
    values.push(pointer.value, a.kind === 'bytes' ? a.bytes.length : a.items.length);
  }
  return ok(values);
}
