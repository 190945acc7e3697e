/**
 * Prepared modules: what a load's transforms made of a module (the bytes to
 * compile and where the instance keeps its state), kept in a store the host
 * provides, so that a later load of the same module under the same settings,
 * in another process, compiles them instead of transforming it again. The
 * store is trusted like the library's own code: its artifacts are compiled
 * and run as they are.
 */
import type { CostModel } from '@ri-sandbox/metering';
import { type StateLayout, equalBytes, xxh3 } from '@ri-sandbox/snapshot';
import { INSTRUMENTATION_VERSION, costsInNameOrder } from './snapshots';
import { hex, sha256, stringifyJson } from './text';
import { LIBRARY_VERSION } from './version';

/**
 * Where a sandbox factory keeps prepared modules between processes: a file
 * directory, IndexedDB, a key-value service (or a `Map`, to share them
 * between factories in one process). Keys are 64 hexadecimal digits;
 * artifacts are opaque bytes. Either method may answer synchronously or with
 * a promise. A store that throws or rejects is treated as empty (a load never
 * fails because of its store), and an artifact that is damaged, cut short or
 * of another key is ignored and replaced.
 *
 * Whoever can write to the store can run code without metering in the
 * sandbox: keep it where only the host writes, as you would the library.
 */
export interface PreparedModuleStore {
  /** The artifact kept under `key`, or `undefined`. */
  get(key: string): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /** Keeps `artifact` under `key`, replacing any other. What it returns is not used; a load does not wait for it. */
  set(key: string, artifact: Uint8Array<ArrayBuffer>): unknown;
}

/** What a load's transforms depend on besides the module's bytes. */
export interface PreparedSettings {
  readonly maxMemoryBytes: number;
  readonly maxCallDepth: number;
  readonly costs: CostModel;
  readonly canonicalizeNaNs: boolean;
  readonly memoryGrowFailure: string;
}

/** A prepared module: the transformed module's bytes and its state layout. */
export interface Prepared {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly layout: StateLayout;
}

/** The first bytes of every artifact: "RIPM" (ri-sandbox prepared module). */
const MAGIC = [0x52, 0x49, 0x50, 0x4d] as const;
/**
 * The artifact format this library writes and reads (version 1 ended with an XXH32; version 2's
 * modules defined their memory, which now they import: see `MEMORY_IMPORT` in `@ri-sandbox/loader`).
 */
const FORMAT_VERSION = 3;
const KEY_BYTES = 32;
/** Magic, version and key; then the layout's and the module's lengths and bytes; then the checksum. */
const HEADER_BYTES = MAGIC.length + 4 + KEY_BYTES;
/** The checksum: XXH3-64 of every byte before it. */
const CHECKSUM_BYTES = 8;

/**
 * The store key of `moduleHash` (the module's SHA-256) loaded under
 * `settings` by this version of the library, as its SHA-256 digest: the
 * key is the digest in hex, and the artifact carries the digest.
 */
export async function preparedKey(moduleHash: Uint8Array, settings: PreparedSettings): Promise<Uint8Array> {
  const text = stringifyJson({
    format: FORMAT_VERSION,
    library: LIBRARY_VERSION,
    instrumentation: INSTRUMENTATION_VERSION,
    module: hex(moduleHash),
    maxMemoryBytes: settings.maxMemoryBytes,
    maxCallDepth: settings.maxCallDepth,
    costs: costsInNameOrder(settings.costs),
    canonicalizeNaNs: settings.canonicalizeNaNs,
    memoryGrowFailure: settings.memoryGrowFailure,
  }) as string;
  return sha256(new TextEncoder().encode(text));
}

/** `prepared` as an artifact bound to `key` (a digest from {@link preparedKey}). */
export function encodePrepared(key: Uint8Array, prepared: Prepared): Uint8Array<ArrayBuffer> {
  const layout = new TextEncoder().encode(stringifyJson(prepared.layout));
  const size = HEADER_BYTES + 4 + layout.length + 4 + prepared.bytes.length + CHECKSUM_BYTES;
  const artifact = new Uint8Array(size);
  const view = new DataView(artifact.buffer);
  artifact.set(MAGIC, 0);
  view.setUint32(MAGIC.length, FORMAT_VERSION, true);
  artifact.set(key, MAGIC.length + 4);
  let at = HEADER_BYTES;
  for (const part of [layout, prepared.bytes]) {
    view.setUint32(at, part.length, true);
    artifact.set(part, at + 4);
    at += 4 + part.length;
  }
  view.setBigUint64(at, xxh3(artifact.subarray(0, at)), true);
  return artifact;
}

/**
 * The prepared module in `artifact`, if it is one this library wrote under
 * `key`, whole; `undefined` for anything else (another format or key, a
 * damaged or truncated artifact, not bytes at all).
 */
export function decodePrepared(artifact: unknown, key: Uint8Array): Prepared | undefined {
  // The header, the two lengths and the checksum.
  if (!(artifact instanceof Uint8Array) || artifact.length < HEADER_BYTES + 4 + 4 + CHECKSUM_BYTES)
    return undefined;
  const view = new DataView(artifact.buffer, artifact.byteOffset, artifact.byteLength);
  const end = artifact.length - CHECKSUM_BYTES;
  if (MAGIC.some((byte, i) => artifact[i] !== byte)) return undefined;
  if (view.getUint32(MAGIC.length, true) !== FORMAT_VERSION) return undefined;
  if (!equalBytes(artifact.subarray(MAGIC.length + 4, HEADER_BYTES), key)) return undefined;
  if (view.getBigUint64(end, true) !== xxh3(artifact.subarray(0, end))) return undefined;
  const layoutLength = view.getUint32(HEADER_BYTES, true);
  const moduleAt = HEADER_BYTES + 4 + layoutLength;
  if (moduleAt + 4 > end || moduleAt + 4 + view.getUint32(moduleAt, true) !== end) return undefined;
  try {
    const layout = JSON.parse(
      new TextDecoder().decode(artifact.subarray(HEADER_BYTES + 4, moduleAt)),
    ) as unknown;
    if (typeof layout !== 'object' || layout === null) return undefined;
    // Compiled where it lies, unless it lies in shared memory, which the JS API's compile does not take
    // (a `BufferSource`: V8 does, other engines may refuse).
    const module = artifact.subarray(moduleAt + 4, end);
    return { layout: layout as StateLayout, bytes: unshared(module) ? module : module.slice() };
  } catch {
    return undefined;
  }
}

function unshared(bytes: Uint8Array): bytes is Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer;
}

/** The artifact `store` holds under `key`, or `undefined` if it holds none or fails. */
export async function readStore(store: PreparedModuleStore, key: string): Promise<unknown> {
  try {
    return await store.get(key);
  } catch {
    return undefined;
  }
}

/** Hands `artifact` to `store`, not waiting for it; a failure to keep it is ignored. */
export function writeStore(store: PreparedModuleStore, key: string, artifact: Uint8Array<ArrayBuffer>): void {
  try {
    Promise.resolve(store.set(key, artifact)).catch(() => undefined);
  } catch {
    // Not kept: the next load transforms the module again.
  }
}
