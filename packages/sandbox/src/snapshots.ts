/**
 * Snapshots of sandbox instances: what binds them to a module, how an
 * instance's state is captured, and how a live instance is rebuilt from one.
 * Nothing here changes an instance; the sandbox commits a rebuilt instance
 * only once every check has passed.
 */
import {
  type ImportSignature,
  type Result,
  type SandboxConfig,
  type SandboxError,
  err,
  importModuleOf,
  ok,
  sandboxError,
  snapshotInto,
} from '@ri-sandbox/core';
import { DEPTH_EXPORT } from '@ri-sandbox/determinism';
import {
  type CompiledModule,
  type ImportName,
  type MemoryPool,
  instantiateModuleSync,
} from '@ri-sandbox/loader';
import type { CostModel } from '@ri-sandbox/metering';
import {
  type SnapshotBinding,
  type SnapshotContents,
  applyState,
  canRestoreInPlace,
  captureState,
  checkState,
  chunkRanges,
  decodeSnapshot,
  encodeSnapshot,
  equalBytes,
} from '@ri-sandbox/snapshot';
import { type HostState, decodeHostState, encodeHostState } from './host-state';
import type { LiveModule, LoadedModule } from './instance';
import { sha256Now } from './sha256';
import { stringifyJson } from './text';

/** What the instrumented module depends on besides its bytes: a snapshot is only valid under the same. */
export interface BindingInputs {
  readonly config: SandboxConfig;
  readonly costs: CostModel;
  readonly canonicalizeNaNs: boolean;
  readonly memoryGrowFailure: string;
  /** The module's function imports. */
  readonly hostImports: readonly ImportName[];
  /** What provides them (host functions, builtins, capabilities), by any key. */
  readonly provided: Readonly<Record<string, ImportSignature>>;
  /** The names of the instance's capabilities, whose state a snapshot carries. */
  readonly capabilities: readonly string[];
}

/**
 * The version of the instrumentation a snapshot's state belongs to: part of
 * the configuration hash, so that a snapshot taken by a sandbox whose
 * transforms lay out state differently is refused, never misread. Bump it
 * with any change to what the transforms add to a module.
 */
export const INSTRUMENTATION_VERSION = 'ri-sandbox/instrumentation/6';

/** Config hashes already computed, by the text they hash: loads under one configuration share one. */
export type ConfigHashCache = Map<string, Uint8Array>;

/** How many distinct configuration hashes a sandbox factory remembers. */
const CONFIG_HASH_CACHE_SIZE = 64;

/** Each cost model with its instruction costs in name order, made once per model (see {@link costsInNameOrder}). */
const ordered = new WeakMap<CostModel, CostModel>();

/**
 * `costs` with its instruction costs in name order: the same model, however
 * its overrides were written, is one hash. Kept per model, which a sandbox
 * factory resolves once, so that a load does not sort it again.
 */
export function costsInNameOrder(costs: CostModel): CostModel {
  let inOrder = ordered.get(costs);
  if (inOrder === undefined) {
    const instructions = Object.fromEntries(
      Object.entries(costs.instructions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    inOrder = Object.assign({}, costs, { instructions });
    ordered.set(costs, inOrder);
  }
  return inOrder;
}

/**
 * The binding of a snapshot: `moduleHash` (SHA-256 of the module's bytes),
 * and SHA-256 of the configuration its instrumentation and imports depend on
 * (memory limit, call depth, cost model, NaN and memory-growth policies, the
 * imported functions' signatures, the capabilities). Gas and time limits are
 * not part of it: a snapshot may be resumed with a different budget.
 */
export function snapshotBinding(
  moduleHash: Uint8Array,
  inputs: BindingInputs,
  cache: ConfigHashCache,
): SnapshotBinding {
  const { config } = inputs;
  // What provides each import: the first provider of that module and name.
  const providers = new Map<string, ImportSignature>();
  for (const p of Object.values(inputs.provided)) {
    const key = `${importModuleOf(p)}\u0000${p.name}`;
    if (!providers.has(key)) providers.set(key, p);
  }
  const shape = stringifyJson({
    instrumentation: INSTRUMENTATION_VERSION,
    maxMemoryBytes: config.maxMemoryBytes,
    maxCallDepth: config.maxCallDepth,
    costs: costsInNameOrder(inputs.costs),
    canonicalizeNaNs: inputs.canonicalizeNaNs,
    memoryGrowFailure: inputs.memoryGrowFailure,
    imports: inputs.hostImports.map(({ module, name }) => {
      const fn = providers.get(`${module}\u0000${name}`);
      return [module, name, fn?.params, fn?.results];
    }),
    capabilities: inputs.capabilities,
  }) as string;
  let configHash = cache.get(shape);
  if (configHash === undefined) {
    configHash = sha256Now(new TextEncoder().encode(shape));
    if (cache.size >= CONFIG_HASH_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    cache.set(shape, configHash);
  }
  return { moduleHash, configHash };
}

/**
 * Where a snapshot of an instance with `memory` is to be written, from the
 * options of `snapshot` (see `snapshotInto`): also `INVALID_CONFIG` if `into`
 * is a view of the instance's own memory (the snapshot would overwrite what it
 * reads).
 */
export function snapshotTarget(
  options: unknown,
  memory: WebAssembly.Memory | undefined,
): Result<Uint8Array | undefined, SandboxError> {
  const into = snapshotInto(options);
  if (into.ok && into.value !== undefined && memory !== undefined && into.value.buffer === memory.buffer)
    return err(
      sandboxError.invalidConfig('into', "a view of the instance's own memory cannot hold its snapshot"),
    );
  return into;
}

/** The instance's complete state as a WSNP snapshot, written in `into` if it fits. */
export function takeSnapshot(
  live: LiveModule,
  gasUsed: number,
  into?: Uint8Array,
): Result<Uint8Array, SandboxError> {
  // Runs leave the gas counter as the last one left it (its value already counted): cleared here, the
  // globals do not depend on how the clock sized the grants.
  live.meter.end();
  // Right after a load or a restore, only where those wrote (the rest of the memory is zeros).
  const image = captureState(live.instance, live.layout, { written: live.written.now });
  if (!image.ok) return image;
  const host = encodeHostState({
    prng: live.prng.save(),
    eventTimestamp: live.clock.eventTimestamp,
    gasUsed,
  });
  const extensions = new Map(live.capabilities.map((capability) => [capability.name, capability.save()]));
  const { globals, tables, memory } = image.value;
  return encodeSnapshot({ globals, tables, memory, binding: live.binding(), host, extensions }, into);
}

function memoryBounds(compiled: CompiledModule) {
  const { source, initialPages, maximumPages } = compiled.memory;
  return source === 'none' ? undefined : { initialPages, maximumPages };
}

/** The instrumented call-depth counter of `instance`. */
export function depthCounter(instance: WebAssembly.Instance): WebAssembly.Global {
  const depth = instance.exports[DEPTH_EXPORT];
  if (!(depth instanceof WebAssembly.Global)) throw new TypeError('the call-depth counter is missing');
  return depth;
}

/** A snapshot that passed every check against a module, ready to apply. */
export interface CheckedSnapshot {
  readonly contents: SnapshotContents;
  readonly host: HostState;
  /** Puts each capability's state in place (checked already: it cannot fail). */
  readonly restoreCapabilities: () => void;
}

/**
 * Decodes `bytes` and checks them against `module`: `SNAPSHOT_ERROR` with the
 * reason if the snapshot is damaged, of another module or configuration, or
 * does not fit. Nothing is changed.
 */
export function checkSnapshot(
  module: LoadedModule,
  bytes: Uint8Array,
): Result<CheckedSnapshot, SandboxError> {
  const decoded = decodeSnapshot(bytes);
  if (!decoded.ok) return decoded;
  const contents = decoded.value;
  if (!equalBytes(contents.binding.moduleHash, module.binding().moduleHash))
    return err(sandboxError.snapshotError('it was taken of a different module'));
  if (!equalBytes(contents.binding.configHash, module.binding().configHash)) {
    return err(
      sandboxError.snapshotError(
        'it was taken under a different configuration (memory limit, call depth, costs, NaN or growth policy, or host functions)',
      ),
    );
  }
  const host = decodeHostState(contents.host);
  if (!host.ok) return host;
  const problem = checkState(module.layout, contents, memoryBounds(module.compiled));
  if (problem !== undefined)
    return err(sandboxError.snapshotError(`it does not fit this module: ${problem}`));
  const prepared: (() => void)[] = [];
  const extensions = contents.extensions ?? new Map<string, Uint8Array>();
  for (const capability of module.capabilities) {
    const saved = extensions.get(capability.name);
    if (saved === undefined)
      return err(
        sandboxError.snapshotError(`it holds no ${capability.name} state, which this instance needs`),
      );
    const ready = capability.prepareRestore(saved);
    if (!ready.ok) return ready;
    prepared.push(ready.value);
  }
  const unknown = [...extensions.keys()].filter((name) => !module.capabilities.some((c) => c.name === name));
  if (unknown.length > 0)
    return err(
      sandboxError.snapshotError(`it holds ${unknown.join(', ')} state this instance has no use for`),
    );
  return ok({
    contents,
    host: host.value,
    restoreCapabilities: () => {
      prepared.forEach((restore) => {
        restore();
      });
    },
  });
}

/**
 * `module`'s instance in the checked snapshot's state: `current` itself when
 * it can be restored in place (same memory and table sizes, nothing to
 * un-drop), else a new instance rebuilt from the compiled module (its memory
 * from `memories` if it keeps one that fits), leaving `current` untouched if
 * that fails.
 */
export function instanceFor(
  module: LoadedModule,
  current: LiveModule | undefined,
  snapshot: CheckedSnapshot,
  maxMemoryBytes: number,
  memories?: MemoryPool,
): Result<LiveModule, SandboxError> {
  const { contents } = snapshot;
  // Where the memory may hold something other than zeros once the state is applied.
  const written = chunkRanges(contents);
  if (current !== undefined && canRestoreInPlace(current.instance, current.layout, contents)) {
    const applied = applyState(current.instance, current.layout, contents, { written: current.written.now });
    if (!applied.ok) return applied;
    snapshot.restoreCapabilities();
    current.written.now = written;
    return ok(current);
  }
  const rebuilt = instantiateModuleSync(
    module.compiled,
    module.functions,
    maxMemoryBytes,
    module.meter.imports,
    memories,
  );
  if (!rebuilt.ok)
    return err(sandboxError.snapshotError(`cannot rebuild the instance: ${rebuilt.error.message}`));
  const { instance, memory } = rebuilt.value;
  // Just instantiated, on a zeroed memory: only its data segments wrote.
  const { atInstantiation } = module.written;
  const applied = applyState(instance, module.layout, contents, { written: atInstantiation });
  if (!applied.ok) return applied;
  snapshot.restoreCapabilities();
  for (const capability of module.capabilities) capability.attach(memory);
  return ok(
    Object.assign({}, module, {
      instance,
      memory,
      actions: new Map(),
      depth: depthCounter(instance),
      written: { atInstantiation, now: written },
    }),
  );
}
