/**
 * Calling an action: looking up the export, and the two payload modes.
 * Direct mode passes numbers straight through; JSON mode moves UTF-8 JSON
 * through the guest's memory by the ABI documented in the README.
 */
import {
  type FuncType,
  type Result,
  type SandboxError,
  type WasmValueType,
  err,
  ok,
  sandboxError,
  thrownReason,
} from '@ri-sandbox/core';
import { formatSignature, valueTypeNames } from '@ri-sandbox/loader';
import { inBounds } from './guest-memory';
import { stringifyJson } from './text';
import type { Action, LiveModule } from './instance';
import { toWasmValues } from './values';

/** Export a module must have for JSON mode: `__alloc(len: i32) -> i32`. */
export const ALLOC_EXPORT = '__alloc';

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** The exported function `name` of `live`, or `WASM_TRAP missing_export`. */
export function findAction(live: LiveModule, name: string): Result<Action, SandboxError> {
  const cached = live.actions.get(name);
  if (cached !== undefined) return ok(cached);
  const signature = live.compiled.functionExports.get(name);
  const fn = Object.hasOwn(live.instance.exports, name) ? live.instance.exports[name] : undefined;
  if (signature === undefined || typeof fn !== 'function') {
    const what = fn === undefined ? 'is not exported' : 'is exported, but not as a function';
    const available = [...live.compiled.functionExports.keys()].join(', ') || 'none';
    return err(
      sandboxError.wasmTrap('missing_export', `"${name}" ${what} (exported functions: ${available})`),
    );
  }
  const type = typeOf(signature);
  const action: Action = Object.assign({ name, fn: fn as Action['fn'] }, type, {
    args: new Array<unknown>(type.params?.length ?? 0),
  });
  live.actions.set(name, action);
  return ok(action);
}

/** What an action needs of its signature, worked out once per compiled module (see {@link typeOf}). */
type ActionType = Pick<Action, 'signature' | 'params' | 'results'>;

/** Action types by signature: each compiled module's export signatures are kept with it, for every instance. */
const actionTypes = new WeakMap<FuncType, ActionType>();

function typeOf(signature: FuncType): ActionType {
  let type = actionTypes.get(signature);
  if (type === undefined) {
    type = {
      signature: formatSignature(signature),
      params: valueTypeNames(signature.params),
      results: valueTypeNames(signature.results),
    };
    actionTypes.set(signature, type);
  }
  return type;
}

/**
 * The arguments of a direct-mode payload (an array of the sandbox's own), or
 * `undefined` when the payload is for JSON mode.
 */
export function directArguments(payload: unknown): readonly unknown[] | undefined {
  if (payload === undefined || payload === null) return [];
  if (typeof payload === 'number' || typeof payload === 'bigint') return [payload];
  if (!Array.isArray(payload)) return undefined;
  const args: unknown[] = [...(payload as unknown[])];
  return args.every((v) => typeof v === 'number' || typeof v === 'bigint') ? args : undefined;
}

/** Checks direct-mode arguments against the action's parameters. */
export function prepareDirectCall(action: Action, args: readonly unknown[]): Result<unknown[], SandboxError> {
  if (action.params === undefined || action.results === undefined) {
    return err(
      sandboxError.invalidPayload(
        `"${action.name}" has signature ${action.signature}; only i32, i64, f32 and f64 cross to the host`,
      ),
    );
  }
  const values = toWasmValues(action.params, args, 'argument');
  if (typeof values === 'string') return err(sandboxError.invalidPayload(`"${action.name}" ${values}`));
  return ok(values);
}

/** A direct-mode return value: `undefined`, one value, or an array for multi-value. */
export function directResult(action: Action, returned: unknown): unknown {
  return action.results?.length === 0 ? undefined : returned;
}

function abiViolation(message: string): SandboxError {
  return sandboxError.wasmTrap('abi_violation', message);
}

/** Encodes a JSON-mode payload, or `INVALID_PAYLOAD` if it has no JSON form. */
export function encodeJsonPayload(payload: unknown): Result<Uint8Array, SandboxError> {
  let text: string | undefined;
  try {
    text = stringifyJson(payload);
  } catch (error) {
    return err(sandboxError.invalidPayload(`cannot be serialised as JSON: ${thrownReason(error)}`));
  }
  if (text === undefined) return err(sandboxError.invalidPayload(`a ${typeof payload} has no JSON form`));
  return ok(utf8Encoder.encode(text));
}

/** The actions JSON mode calls, checked against the ABI before anything runs. */
export interface JsonCall {
  readonly alloc: Action;
  readonly memory: WebAssembly.Memory;
}

function hasSignature(
  action: Action,
  params: readonly WasmValueType[],
  results: readonly WasmValueType[],
): boolean {
  const same = (a: readonly WasmValueType[] | undefined, b: readonly WasmValueType[]) =>
    a !== undefined && a.length === b.length && a.every((t, i) => t === b[i]);
  return same(action.params, params) && same(action.results, results);
}

/**
 * Checks that `live` and `action` follow the JSON ABI. A payload for an
 * action that does not take JSON is the caller's mistake (`INVALID_PAYLOAD`,
 * saying what the action takes); a module that breaks the ABI is the guest's
 * (`WASM_TRAP`).
 */
export function prepareJsonCall(
  live: LiveModule,
  action: Action,
  /** The payload's elements, if it is an array (meant as arguments, perhaps). */
  elements: readonly unknown[] | undefined,
): Result<JsonCall, SandboxError> {
  if (!hasSignature(action, ['i32', 'i32'], ['i64'])) {
    // An array meant as arguments: say which one is wrong.
    const asArguments = elements === undefined ? undefined : prepareDirectCall(action, elements);
    if (asArguments?.ok === false) return asArguments;
    return err(
      sandboxError.invalidPayload(
        `"${action.name}" has signature ${action.signature}: pass its arguments as numbers ` +
          `(a JSON payload needs an action of type (i32, i32) -> i64)`,
      ),
    );
  }
  const alloc = findAction(live, ALLOC_EXPORT);
  if (!alloc.ok) {
    return err(
      sandboxError.wasmTrap(
        'missing_export',
        `a JSON payload needs the module to export ${ALLOC_EXPORT}(len: i32) -> i32`,
      ),
    );
  }
  if (!hasSignature(alloc.value, ['i32'], ['i32'])) {
    return err(
      abiViolation(`${ALLOC_EXPORT} has signature ${alloc.value.signature}; the JSON ABI needs (i32) -> i32`),
    );
  }
  if (live.memory === undefined) return err(abiViolation('the JSON ABI needs the module to have a memory'));
  return ok({ alloc: alloc.value, memory: live.memory });
}

/** Copies the encoded payload into guest memory at the pointer `__alloc` returned. */
export function writeJsonInput(
  call: JsonCall,
  pointer: unknown,
  input: Uint8Array,
): Result<number, SandboxError> {
  const address = (pointer as number) >>> 0;
  if (!inBounds(address, input.length, call.memory.buffer.byteLength)) {
    return err(
      abiViolation(`${ALLOC_EXPORT}(${input.length}) returned ${address}, outside the guest's memory`),
    );
  }
  new Uint8Array(call.memory.buffer).set(input, address);
  return ok(address);
}

/** Reads and parses the output an action returned as `pointer << 32 | length`. */
export function readJsonOutput(call: JsonCall, returned: unknown): Result<unknown, SandboxError> {
  const packed = BigInt.asUintN(64, returned as bigint);
  if (packed === 0n) return ok(undefined);
  const pointer = Number(packed >> 32n);
  const length = Number(packed & 0xffffffffn);
  const memory = call.memory.buffer;
  if (!inBounds(pointer, length, memory.byteLength)) {
    return err(
      abiViolation(
        `output [${pointer}, ${pointer + length}) is outside the guest's ${memory.byteLength} bytes of memory`,
      ),
    );
  }
  let text: string;
  try {
    text = utf8Decoder.decode(new Uint8Array(memory, pointer, length));
  } catch {
    return err(abiViolation(`output at ${pointer} (${length} bytes) is not valid UTF-8`));
  }
  try {
    return ok(JSON.parse(text) as unknown);
  } catch {
    const preview = text.length > 40 ? `${text.slice(0, 40)}...` : text;
    return err(abiViolation(`output is not valid JSON: ${JSON.stringify(preview)}`));
  }
}
