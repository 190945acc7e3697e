/**
 * `@ri-sandbox/sandbox/node`: what only Node can offer the sandbox. A store
 * of prepared modules in a directory, for `createWasmSandbox({ preparedModules })`.
 *
 * @packageDocumentation
 */
export { type DirectoryStoreOptions, directoryStore } from './directory-store';
