/**
 * Host functions as the guest sees them. Each import is wrapped so that a
 * handler that throws, or returns a value that does not fit its declared
 * results, aborts the whole execution: the failure is recorded, the guest's
 * stack is unwound, and no later host call succeeds even if the guest catches
 * the unwinding (exception handling can catch JavaScript exceptions).
 */
import type { HostCallContext, HostFunction, SandboxError } from '@ri-sandbox/core';
import { sandboxError } from '@ri-sandbox/core';
import { shortDescription, toWasmValue, toWasmValues } from './values';

/** Per-instance record of why the current guest call must stop, if it must. */
export interface AbortSignalBox {
  failure: SandboxError | undefined;
  /** The guest asked to exit with this code (WASI's `proc_exit`): the call ends, successfully. */
  exitCode: number | undefined;
}

/** Whether the current guest call must stop: it failed, or its guest exited. */
export function mustStop(box: AbortSignalBox): boolean {
  return box.failure !== undefined || box.exitCode !== undefined;
}

/** Records `failure` (the first one wins) and unwinds the guest's stack. */
export function abortWith(box: AbortSignalBox, failure: SandboxError): never {
  box.failure ??= failure;
  throw new GuestAbort(failure.message);
}

/** Thrown through guest frames to unwind them; never escapes to the sandbox's caller. */
export class GuestAbort extends Error {
  override readonly name = 'GuestAbort';
}

/** The handler's return value as the guest receives it, or why it does not fit `results`. */
function checkResult(fn: HostFunction, returned: unknown): { readonly value: unknown } | string {
  const { results } = fn;
  if (results.length === 0) {
    return returned === undefined
      ? { value: undefined }
      : `declared no results, so it must return nothing, but returned ${shortDescription(returned)}`;
  }
  const [only] = results;
  const checked =
    only !== undefined && results.length === 1
      ? toWasmValue(only, returned)
      : Array.isArray(returned)
        ? toWasmValues(results, returned, 'result')
        : `expected an array of ${results.length} results, got ${typeof returned}`;
  return typeof checked === 'string' ? checked : { value: checked };
}

/**
 * Wraps one host function for import; `box` receives the failure that ends
 * the call, and the handler gets the context in `slot` (which a reused
 * instance's next load replaces). `checkTime` runs after each call, so that
 * time spent in host functions counts toward the execution's time limit.
 */
export function bridgeHostFunction(
  fn: HostFunction,
  box: AbortSignalBox,
  slot: { readonly current: HostCallContext },
  checkTime: () => SandboxError | undefined,
): (...args: never[]) => unknown {
  const abort = (failure: SandboxError): never => abortWith(box, failure);
  return (...args: never[]) => {
    if (mustStop(box)) throw new GuestAbort('the call has already ended');
    let returned: unknown;
    try {
      returned = (fn.handler as (...values: unknown[]) => unknown)(...args, slot.current);
    } catch (error) {
      return abort(sandboxError.hostFunctionError(fn.name, error));
    }
    const late = checkTime();
    if (late !== undefined) return abort(late);
    const checked = checkResult(fn, returned);
    if (typeof checked === 'string') {
      return abort(
        sandboxError.hostFunctionError(fn.name, new TypeError(`returned a bad value: ${checked}`)),
      );
    }
    return checked.value;
  };
}
