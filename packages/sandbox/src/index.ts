/**
 * `@ri-sandbox/sandbox`: deterministic, resource-limited WebAssembly
 * sandboxes for Node.js and browsers. Start with {@link createWasmSandbox}.
 *
 * @packageDocumentation
 */
export type { SandboxOptions } from './options';
export type { PreparedModuleStore } from './prepared';
export { createWasmSandbox } from './sandbox';
export { ALLOC_EXPORT } from './actions';
export type { CanonicalArgument, CanonicalArguments } from './canonical';
export { REALLOC_EXPORT, canonicalArgs } from './canonical';

export type {
  Result,
  SandboxError,
  SandboxErrorCode,
  TrapKind,
  WasmValueType,
  WasmValue,
  GuestMemory,
  HostCallContext,
  HostFunction,
  SandboxConfig,
  SandboxConfigInput,
  InstanceStatus,
  ResourceMetrics,
  SandboxInstance,
  ExecutionResult,
  LoadedModuleInfo,
  ModuleImport,
  ModuleExport,
  WasmSandbox,
  SuspendingSandbox,
  SnapshotOptions,
  ExecutionOutput,
  ImportSignature,
  WasiConfig,
} from '@ri-sandbox/core';
export { DEFAULT_CONFIG, SandboxOptionsError, defineHostFunction, isSandboxError } from '@ri-sandbox/core';
export type { RunSummary, DeterminismReport } from './validate';
export { validateDeterminism } from './validate';
