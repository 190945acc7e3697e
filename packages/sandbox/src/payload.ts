/**
 * What `execute` is given as its payload, read once, before anything runs:
 * what is checked is what is passed, and a payload that throws when read (a
 * getter, a proxy) is `INVALID_PAYLOAD`, not an exception at the caller.
 */
import { type Result, type SandboxError, err, ok, sandboxError, thrownReason } from '@ri-sandbox/core';
import { directArguments, encodeJsonPayload } from './actions';
import { type CheckedArgument, checkCanonicalArguments, isCanonicalArguments } from './canonical';

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
