/**
 * What `execute` is given as its payload, read once, before anything runs:
 * what is checked is what is passed, and a payload that throws when read (a
 * getter, a proxy) is `INVALID_PAYLOAD`, not an exception at the caller.
 */
import {
  type Result,
  type SandboxError,
  type WasmValueType,
  err,
  ok,
  sandboxError,
  thrownReason,
} from '@ri-sandbox/core';
import { directArguments, encodeJsonPayload } from './actions';
import { type CheckedArgument, checkCanonicalArguments, isCanonicalArguments } from './canonical';
import type { Action } from './instance';
import { toWasmValue } from './values';

/** A payload as `execute` passes it. */
export type Payload =
  /** Made by `canonicalArgs`: strings and bytes to copy into the guest's memory, and numbers. */
  | { readonly kind: 'canonical'; readonly args: readonly CheckedArgument[] }
  /** Numbers and bigints, passed as they are. */
  | { readonly kind: 'direct'; readonly args: readonly unknown[] }
  /**
   * Anything else, as JSON text; `elements` are the payload's own if it is an
   * array (arguments meant for an action that does not take JSON, perhaps).
   */
  | { readonly kind: 'json'; readonly text: Uint8Array; readonly elements: readonly unknown[] | undefined };

/** `payload` read into a {@link Payload}, or `INVALID_PAYLOAD`. Never throws. */
export function readPayload(payload: unknown): Result<Payload, SandboxError> {
  try {
    if (isCanonicalArguments(payload)) {
      const args = checkCanonicalArguments(payload);
      return args.ok ? ok({ kind: 'canonical', args: args.value }) : args;
    }
    const args = directArguments(payload);
    if (args !== undefined) return ok({ kind: 'direct', args });
    const text = encodeJsonPayload(payload);
    if (!text.ok) return text;
    return ok({
      kind: 'json',
      text: text.value,
      elements: Array.isArray(payload) ? [...(payload as unknown[])] : undefined,
    });
  } catch (error) {
    const reason = thrownReason(error);
    return err(sandboxError.invalidPayload(`reading it threw: ${reason}`));
  }
}

/**
 * Fills `action.args` from `payload` and returns `true` when it is what most direct calls pass:
 * nothing, a number or bigint, or an array of them, one per parameter, each fit for its parameter's
 * type. Each element is read once. Returns `false` for any other payload (and for one that throws
 * when read), which {@link readPayload} and `prepareDirectCall` then read, and explain if it is
 * wrong. Never throws.
 */
export function fillDirectArguments(action: Action, payload: unknown): boolean {
  const { params, results, args } = action;
  if (params === undefined || results === undefined) return false;
  try {
    if (payload === undefined || payload === null) return params.length === 0;
    if (typeof payload === 'number' || typeof payload === 'bigint')
      return params.length === 1 && converted(params[0] as WasmValueType, payload, args, 0);
    if (!Array.isArray(payload) || isCanonicalArguments(payload) || payload.length !== params.length)
      return false;
    for (let i = 0; i < params.length; i++)
      if (!converted(params[i] as WasmValueType, payload[i], args, i)) return false;
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `value` is a `type` argument, written at `into[at]` if it is. Not `toWasmValues` with a
 * list to fill: its messages make it larger, and inlined into `execute` it spends V8's inlining budget
 * that the calls every run makes need (7 of 20 processes read 250 to 280 ns for `execute(add)` with
 * it, against 0 of 10 without).
 */
function converted(type: WasmValueType, value: unknown, into: unknown[], at: number): boolean {
  const wasm = toWasmValue(type, value);
  if (typeof wasm === 'string') return false;
  into[at] = wasm;
  return true;
}
