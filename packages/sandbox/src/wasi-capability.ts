/**
 * WASI as a sandbox capability: `@ri-sandbox/wasi` for one loaded module,
 * its clocks on virtual time (one nanosecond per unit of gas, plus sleeps),
 * its randomness seeded by the instance, every call charged in gas, its
 * output captured per execution, and its state in snapshots.
 */
import {
  type ExecutionOutput,
  type ImportSignature,
  type InvalidConfigError,
  type Result,
  type SandboxError,
  type SnapshotError,
  type WasiConfig,
  WASI_IMPORT_MODULE,
  ok,
  sandboxError,
} from '@ri-sandbox/core';
import type { ImportedFunctions } from '@ri-sandbox/loader';
import type { CostModel, Meter } from '@ri-sandbox/metering';
import { WASI_FUNCTIONS, Wasi, WasiExit, WasiRaise } from '@ri-sandbox/wasi';
import type { Capability, PreparedRestore } from './capability';
import { type AbortSignalBox, GuestAbort, abortWith, mustStop } from './host-bridge';

/** The name of WASI's extension section in snapshots. */
export const WASI_EXTENSION = 'wasi';

/** Every WASI function, as the import check sees it. */
const WASI_SIGNATURES: Readonly<Record<string, ImportSignature>> = Object.fromEntries(
  Object.entries(WASI_FUNCTIONS).map(([name, [params, results]]) => [
    `${WASI_IMPORT_MODULE}.${name}`,
    { module: WASI_IMPORT_MODULE, name, params, results },
  ]),
);

/** What the capability needs from the sandbox. */
export interface WasiContext {
  readonly meter: Meter;
  readonly abort: AbortSignalBox;
  /** `TIMEOUT` once the run is past its time, for the check after each call. */
  readonly checkTime: () => SandboxError | undefined;
  readonly costs: CostModel;
  readonly eventTimestamp: number;
  readonly seed: number;
}

export class WasiCapability implements Capability {
  readonly name = WASI_EXTENSION;
  readonly provides = WASI_SIGNATURES;
  readonly imports: ImportedFunctions;
  readonly initializer = '_initialize';

  private constructor(
    private readonly wasi: Wasi,
    /** Whether guest code is running: virtual time counts gas only then. */
    private readonly run: { running: boolean },
    context: WasiContext,
  ) {
    const { abort, checkTime } = context;
    const bridged: Record<string, (...args: never[]) => number> = {};
    for (const [name, call] of Object.entries(wasi.imports[WASI_IMPORT_MODULE])) {
      bridged[name] = (...args: never[]) => {
        if (mustStop(abort)) throw new GuestAbort('the call has already ended');
        let errno: number;
        try {
          errno = call(...args);
        } catch (error) {
          if (error instanceof GuestAbort) throw error;
          if (error instanceof WasiExit) {
            abort.exitCode = error.code;
            throw new GuestAbort(error.message);
          }
          if (error instanceof WasiRaise)
            return abortWith(abort, sandboxError.wasmTrap('unreachable', error.message));
          return abortWith(abort, sandboxError.hostFunctionError(`${WASI_IMPORT_MODULE}.${name}`, error));
        }
        const late = checkTime();
        if (late !== undefined) abortWith(abort, late);
        return errno;
      };
    }
    this.imports = { [WASI_IMPORT_MODULE]: bridged };
  }

  /** WASI for one loaded module, or `INVALID_CONFIG` for a bad `config`. */
  static create(config: WasiConfig, context: WasiContext): Result<WasiCapability, InvalidConfigError> {
    const { meter, abort, costs } = context;
    const run = { running: false };
    const wasi = Wasi.create(config, {
      startTimeMs: context.eventTimestamp,
      seed: context.seed,
      // Virtual time: a nanosecond per unit of gas the current run has used.
      elapsedNs: () => (run.running ? BigInt(meter.gasUsed()) : 0n),
      onCall: (bytes) => {
        const exhausted = meter.charge(costs.wasiCall + Math.ceil(bytes / 64) * costs.wasiPer64Bytes);
        if (exhausted !== undefined) abortWith(abort, exhausted);
      },
    });
    if (!wasi.ok) return wasi;
    return ok(new WasiCapability(wasi.value, run, context));
  }

  attach(memory: WebAssembly.Memory | undefined): void {
    if (memory !== undefined) this.wasi.attach(memory);
  }

  beginRun(): void {
    this.run.running = true;
  }

  endRun(): void {
    this.wasi.settleClock();
    this.run.running = false;
  }

  takeOutput(): ExecutionOutput {
    return this.wasi.takeOutput();
  }

  resultOf(action: string, value: unknown): unknown {
    // A command's `_start` returns nothing: it exited with 0 (`proc_exit` gives its own code).
    return action === '_start' && value === undefined ? 0 : value;
  }

  save(): Uint8Array {
    return this.wasi.save();
  }

  prepareRestore(bytes: Uint8Array): Result<PreparedRestore, SnapshotError> {
    return this.wasi.prepareRestore(bytes);
  }

  /** Every regular file, by absolute guest path. */
  files(): Record<string, Uint8Array> {
    return this.wasi.files();
  }

  /** Replaces the whole file tree. */
  replaceFiles(files: WasiConfig['files']): Result<void, InvalidConfigError> {
    return this.wasi.replaceFiles(files);
  }
}
