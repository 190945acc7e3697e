/**
 * `@ri-sandbox/snapshot`: complete, integrity-checked snapshots of a
 * WebAssembly instance: every mutable global (hidden ones included), tables
 * the module can change, linear memory (zero blocks cost nothing), and the
 * embedder's own state, in the versioned WSNP format with an XXH3-64 checksum.
 *
 * @packageDocumentation
 */
export { crc32c } from './crc32c';
export { equalBytes, warmUpEqualBytes } from './equal-bytes';
export { warmUpXxh3, xxh3 } from './xxh3';
export { warmUpZeroBlocks } from './zero-blocks';
export { xxh32 } from './xxh32';
export type {
  SavedValue,
  SavedGlobal,
  SavedTable,
  MemoryChunk,
  MemoryImage,
  SnapshotBinding,
  InstanceImage,
  SnapshotContents,
} from './state';
export { MEMORY_BLOCK_BYTES } from './state';
export type { GlobalAccess, TableAccess, StateLayout } from './layout';
export { memoryOf } from './layout';
export type { ExposedModule } from './expose';
export { STATE_EXPORT_PREFIX, ScannedState, exposeState } from './expose';
export { captureState, nonZeroChunks } from './capture';
export type { KnownMemory, MemoryRange } from './written';
export { chunkRanges, dataSegmentRanges } from './written';
export type { MemoryBounds } from './restore';
export { checkState, applyState, canRestoreInPlace } from './restore';
export {
  SNAPSHOT_MAGIC,
  SNAPSHOT_VERSION,
  encodeSnapshot,
  decodeSnapshot,
  sealSnapshot,
  snapshotChecksum,
} from './format';
