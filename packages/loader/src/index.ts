/**
 * `@ri-sandbox/loader`: turns untrusted bytes into a compiled module that is
 * safe to instantiate under a memory limit, or a typed error saying why not.
 *
 * @packageDocumentation
 */
export type { LoaderOptions, PreparedModule, CompiledModule } from './compile';
export { SYNC_MODULE_BYTES, compileModule, moduleBytes, prepareModule } from './compile';
export type { Instantiated, ImportedFunctions } from './instantiate';
export { instantiateModule, instantiateModuleSync } from './instantiate';
export type { MemoryPlan } from './memory';
export { MEMORY_IMPORT } from './memory';
export type { MemoryPoolLimits } from './memory-pool';
export { DEFAULT_MEMORY_POOL_LIMITS, MEMORY_POOL_MAX_USES, MemoryPool } from './memory-pool';
export type { ImportName } from './link';
export { HOST_MODULE, checkImports } from './link';
export { formatSignature, valueTypeNames } from './signature';
/** Re-exported from `@ri-sandbox/core`, where it moved. */
export { functionSignature } from '@ri-sandbox/core';
