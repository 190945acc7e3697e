/**
 * `@ri-sandbox/core`: the contract every ri-sandbox package shares (types,
 * typed errors, configuration) and the WebAssembly binary codec.
 *
 * @packageDocumentation
 */
export type { Result } from './result';
export { ok, err } from './result';
export { monotonicNow } from './clock';
export { decodeBase64 } from './base64';
export { readableBytes } from './readable-bytes';
export { thrownReason } from './thrown';

export type {
  TrapKind,
  SandboxError,
  SandboxErrorCode,
  GasExhaustedError,
  MemoryExceededError,
  TimeoutError,
  WasmTrapError,
  InvalidModuleError,
  HostFunctionError,
  InstanceDestroyedError,
  WorkerCrashedError,
  SnapshotError,
  InvalidConfigError,
  InvalidPayloadError,
  InvalidStateError,
} from './errors';
export { sandboxError, isSandboxError, SandboxOptionsError } from './errors';
export { snapshotInto, snapshotCopy } from './snapshot-options';

export type {
  WasmValueType,
  WasmValue,
  ValueOf,
  ValuesOf,
  HostResultOf,
  HostResult,
  GuestMemory,
  HostCallContext,
  HostFunction,
  SandboxConfig,
  SandboxConfigInput,
  ImportSignature,
  ExecutionOutput,
  InstanceStatus,
  ResourceMetrics,
  SandboxInstance,
  ExecutionResult,
  ModuleImport,
  ModuleExport,
  LoadedModuleInfo,
  WasmSandbox,
  SnapshotOptions,
  SuspendingSandbox,
} from './types';

export {
  DEFAULT_CONFIG,
  RESERVED_IMPORT_NAMES,
  WASI_IMPORT_MODULE,
  importModuleOf,
  WASM_PAGE_BYTES,
  MAX_WASM_PAGES,
  pagesForBytes,
  resolveConfig,
  defineHostFunction,
} from './config';

export type { ImmediateKind, Feature, Opcode } from './codec/opcodes';
export {
  OPCODES,
  PREFIX_MISC,
  PREFIX_SIMD,
  PREFIX_ATOMIC,
  opcodeByKey,
  opcodeByName,
  opcodeKey,
} from './codec/opcodes';
export {
  ByteReader,
  ByteWriter,
  IdleWriter,
  WasmDecodeError,
  WasmEncodeError,
  f32ToBits,
} from './codec/bytes';
export type { InstructionVisitor } from './codec/walk';
export {
  Visitors,
  instructionEnd,
  lebEnd,
  opcodeSet,
  readLeb,
  subOpcode,
  walkBody,
  walkEnd,
  INSTRUCTION_LAYOUTS,
} from './codec/walk';
export type { BodyRider, RiderInsertions } from './codec/insertions';
export { Insertions, Splicer, applyRiders, finishRiders } from './codec/insertions';
export type {
  Instruction,
  Immediate,
  BrTableImmediate,
  CallIndirectImmediate,
  MemArg,
  MemArgLane,
} from './codec/instructions';
export {
  instruction,
  readInstruction,
  writeInstruction,
  decodeInstructions,
  encodeInstructions,
  readConstantExpression,
  writeConstantExpression,
  skipImmediate,
  skipInstruction,
} from './codec/instructions';
export type {
  BlockType,
  FuncType,
  Limits,
  TableType,
  GlobalType,
  TagType,
  ExternalKind,
  ImportDescriptor,
  Import,
  Export,
  Global,
  SegmentMode,
  ElementSegment,
  DataSegment,
  LocalGroup,
  FunctionBody,
  CustomSection,
  WasmModule,
  RefType,
} from './codec/types';
export { ValType, BLOCK_EMPTY, SectionId, valTypeName } from './codec/types';
export {
  type EncodeOptions,
  WASM_MAGIC,
  WASM_VERSION,
  decodeImports,
  decodeModule,
  encodeModule,
  moduleWith,
} from './codec/module';
export { forEachDataSegment, derivedModule } from './codec/data-section';
export type { NameSection } from './codec/names';
export { readNameSection } from './codec/names';
export type { ClassifiedTrap } from './traps';
export { classifyTrap } from './traps';
export type { FunctionRemap } from './codec/remap';
export { remapFunctionReferences, importedFunctionCount } from './codec/remap';
export { localCount, paramCount, functionSignature, AppendedFunctions } from './codec/functions';
export type { IndexSpaces } from './codec/indices';
export { indexSpaces, findUnknownIndex } from './codec/indices';
export type { WasiConfig, ResolvedWasiConfig } from './wasi-config';
export { resolveWasiConfig, MAX_PATH_BYTES } from './wasi-config';
