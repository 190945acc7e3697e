/**
 * `@ri-sandbox/loader`: turns untrusted bytes into a compiled module that is
 * safe to instantiate under a memory limit, or a typed error saying why not.
 *
 * @packageDocumentation
 */
export type { LoaderOptions, PreparedModule, CompiledModule } from './compile';
export { SYNC_MODULE_BYTES, prepareModule, compileModule } from './compile';
export type { Instantiated, ImportedFunctions } from './instantiate';
export { instantiateModule, instantiateModuleSync } from './instantiate';
export type { MemoryPlan } from './memory';
export { MEMORY_EXPORT } from './memory';
export type { ImportName } from './link';
export { HOST_MODULE, checkImports } from './link';
export { formatSignature, functionSignature, valueTypeNames } from './signature';
