/**
 * Loading: check the bytes, bound the memory, check the imports, compile.
 * Every failure is a typed `SandboxError`; nothing is thrown.
 */
import {
  functionSignature,
  type FuncType,
  type ImportSignature,
  type LoadedModuleInfo,
  type Result,
  type SandboxError,
  type WasmModule,
  WasmDecodeError,
  decodeModule,
  encodeModule,
  err,
  ok,
  readableBytes,
  sandboxError,
  thrownReason,
} from '@ri-sandbox/core';
import { type ImportName, checkImports } from './link';
import { type MemoryPlan, boundMemory } from './memory';

/** What the loader needs to know about the sandbox the module will run in. */
export interface LoaderOptions {
  /** Upper bound on linear memory, in bytes. */
  readonly maxMemoryBytes: number;
  /**
   * The functions the module may import: host functions (from `env`, or the
   * module they name) and anything else provided, by signature. Default: none.
   */
  readonly hostFunctions?: Readonly<Record<string, ImportSignature>> | undefined;
  /**
   * A bytecode transform (metering, say) applied after the checks, to the
   * module as the checks accepted it. It may add imports of its own.
   */
  readonly transform?: ((module: WasmModule) => Result<WasmModule, SandboxError>) | undefined;
  /**
   * What `transform` made of these bytes under these options in an earlier
   * load, encoded (a prepared module kept in a store, say): compiled as it
   * is, in place of the transform, which is not called. Its compilation
   * starts before the input's checks, so that the two overlap where the
   * engine compiles in the background; it is used only if the input passes
   * them.
   */
  readonly rewritten?: Uint8Array<ArrayBuffer> | undefined;
  /**
   * `false` reads the input where it is instead of copying it first (a copy
   * of a 30 MB module costs tens of milliseconds): for a caller whose bytes
   * are its own copy already, which it never changes, since the result keeps
   * views of them. Default: copied, so that the caller may reuse its buffer
   * at once.
   */
  readonly copyInput?: boolean | undefined;
  /**
   * `true` writes the rewrite into the buffer the last such load wrote its
   * own into (see `EncodeOptions.transient` in `@ri-sandbox/core`): the
   * result's `bytes` are then valid only until the next such load, for a
   * caller that needs them only compiled. Default: a buffer of their own.
   */
  readonly transientOutput?: boolean | undefined;
  /**
   * `false` skips the engine's validation of the input before the transform
   * (a first load of an 18 KB module took 0.89x to 0.92x the time without
   * it): the engine validates what is compiled
   * anyway, and an invalid input is still refused, with the engine's reason
   * for the input. Only for a `transform` that never turns an invalid module
   * into a valid one (metering's `meterModule` checks every index its
   * additions could be named by). Default: validated.
   */
  readonly validateInput?: boolean | undefined;
}

/** A module that passed every check, ready to compile. */
export interface PreparedModule {
  /**
   * The bytes to compile: the input, or its rewrite when memory had to be
   * bounded or exposed (with `transientOutput`, valid until the next such load).
   */
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly decoded: WasmModule;
  readonly info: LoadedModuleInfo;
  readonly memory: MemoryPlan;
  /** The functions the module imports, in import order. */
  readonly hostImports: readonly ImportName[];
  /** Signature of every exported function, by export name. */
  readonly functionExports: ReadonlyMap<string, FuncType>;
}

/** A prepared module and its compiled `WebAssembly.Module`. */
export interface CompiledModule extends PreparedModule {
  readonly module: WebAssembly.Module;
}

const FAILS_VALIDATION = 'fails validation';

/**
 * Modules up to this size are compiled (by {@link compileModule}) and may be
 * instantiated (`instantiateModuleSync`) synchronously: Chromium allows both on
 * its main thread below 8 MB.
 */
export const SYNC_MODULE_BYTES = 4 << 20;

/**
 * Compiles `bytes`, at once when they are small enough and the engine allows
 * it: an asynchronous compile's result comes back in a task of its own, a
 * wait of about 200 µs for a 27 KB module in Node. Where a synchronous
 * compile is refused (`RangeError`: older browsers refuse it on the main
 * thread above 4 KB), asynchronously.
 */
async function compileBytes(bytes: Uint8Array<ArrayBuffer>): Promise<WebAssembly.Module> {
  if (bytes.length <= SYNC_MODULE_BYTES) {
    try {
      return new WebAssembly.Module(bytes);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
    }
  }
  return WebAssembly.compile(bytes);
}

/** The engine's explanation of why `bytes` do not validate. */
async function validationError(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  try {
    await WebAssembly.compile(bytes);
    return FAILS_VALIDATION;
  } catch (error) {
    return `${FAILS_VALIDATION}: ${thrownReason(error)}`;
  }
}

/**
 * A module given to a load, as bytes: copied, unless `copy` is false and they
 * are in an `ArrayBuffer` already. `INVALID_MODULE` for anything but a
 * `Uint8Array` or an `ArrayBuffer` that can be read (not a proxy of one, nor a
 * detached buffer), so that no later read of it throws.
 */
export function moduleBytes(bytes: unknown, copy: boolean): Result<Uint8Array<ArrayBuffer>, SandboxError> {
  const readable = readableBytes(bytes);
  if (readable === undefined) {
    const got = bytes === null ? 'null' : typeof bytes;
    return err(
      sandboxError.invalidModule(
        `expected the module as a Uint8Array or ArrayBuffer (not a proxy of one, nor detached), got ${got}`,
      ),
    );
  }
  return ok(
    !copy && readable.buffer instanceof ArrayBuffer
      ? (readable as Uint8Array<ArrayBuffer>)
      : readable.slice(),
  );
}

function describeModule(module: WasmModule, memory: MemoryPlan): LoadedModuleInfo {
  return {
    imports: module.imports.map((imp) => ({ module: imp.module, name: imp.name, kind: imp.descriptor.kind })),
    exports: module.exports.map((e) => ({ name: e.name, kind: e.kind })),
    memory: { source: memory.source, initialPages: memory.initialPages, maximumPages: memory.maximumPages },
  };
}

/**
 * Checks `bytes` without compiling them: the preamble and structure, the
 * memory bound, and the imports. The input is copied (unless
 * `options.copyInput` is false), so the caller may reuse its buffer at once.
 */
export function prepareModule(
  bytes: Uint8Array | ArrayBuffer,
  options: LoaderOptions,
): Result<PreparedModule, SandboxError> {
  const input = moduleBytes(bytes, options.copyInput !== false);
  if (!input.ok) return input;
  let decoded: WasmModule;
  try {
    decoded = decodeModule(input.value);
  } catch (error) {
    const reason = error instanceof WasmDecodeError ? error.message : `cannot be decoded: ${String(error)}`;
    return err(sandboxError.invalidModule(reason));
  }
  if (options.validateInput !== false && !WebAssembly.validate(input.value))
    return err(sandboxError.invalidModule(FAILS_VALIDATION));
  const bounded = boundMemory(decoded, options.maxMemoryBytes);
  if (!bounded.ok) return bounded;
  const hostImports = checkImports(decoded, options.hostFunctions ?? {});
  if (!hostImports.ok) return hostImports;
  const functionExports = new Map<string, FuncType>();
  for (const e of decoded.exports) {
    const signature = e.kind === 'function' ? functionSignature(decoded, e.index) : undefined;
    if (signature !== undefined) functionExports.set(e.name, signature);
  }
  const { module, plan, changed } = bounded.value;
  const transformed = options.rewritten === undefined ? options.transform?.(module) : undefined;
  if (transformed?.ok === false) return transformed;
  return ok({
    bytes:
      options.rewritten ??
      (changed || transformed !== undefined
        ? encodeModule(transformed?.value ?? module, { transient: options.transientOutput })
        : input.value),
    decoded,
    info: describeModule(decoded, plan),
    memory: plan,
    hostImports: hostImports.value,
    functionExports,
  });
}

/**
 * Prepares and compiles a module. Every failure (empty input, not
 * WebAssembly, truncated, corrupted, failing validation, an import that is not
 * provided) is `INVALID_MODULE` with a reason; a memory that starts above the
 * limit is `MEMORY_EXCEEDED`.
 *
 * @example
 * ```ts
 * const compiled = await compileModule(bytes, { maxMemoryBytes: 1 << 20 });
 * if (!compiled.ok) console.error(compiled.error.message);
 * ```
 */
export async function compileModule(
  bytes: Uint8Array | ArrayBuffer,
  options: LoaderOptions,
): Promise<Result<CompiledModule, SandboxError>> {
  // A rewrite known already compiles while the input is checked. If the checks fail, it is not
  // awaited: its own failure then goes unreported.
  const compiling = options.rewritten === undefined ? undefined : compileBytes(options.rewritten);
  compiling?.catch(() => undefined);
  const prepared = prepareModule(bytes, options);
  if (!prepared.ok) {
    const { error } = prepared;
    if (error.code !== 'INVALID_MODULE' || error.reason !== FAILS_VALIDATION) return prepared;
    const input = moduleBytes(bytes, options.copyInput !== false);
    return err(sandboxError.invalidModule(input.ok ? await validationError(input.value) : FAILS_VALIDATION));
  }
  try {
    const module = await (compiling ?? compileBytes(prepared.value.bytes));
    return ok(Object.assign({}, prepared.value, { module }));
  } catch (error) {
    return err(sandboxError.invalidModule(await compileFailure(bytes, options, error)));
  }
}

/**
 * Why the bytes prepared from `bytes` did not compile (`error`): the input's
 * own fault, worded as when it fails validation before the transform, if it
 * was not validated; otherwise the transform's.
 */
async function compileFailure(
  bytes: Uint8Array | ArrayBuffer,
  options: LoaderOptions,
  error: unknown,
): Promise<string> {
  if (options.validateInput === false) {
    const input = moduleBytes(bytes, false);
    if (input.ok && !WebAssembly.validate(input.value)) return validationError(input.value);
  }
  return `fails validation after transformation: ${thrownReason(error)}`;
}
