/**
 * What a sandbox factory keeps per module it has compiled, found again by the
 * module's bytes: a load of bytes seen before costs a fingerprint and a
 * comparison, synchronously, instead of a cryptographic hash (asynchronous in
 * the Web Crypto API) and a compilation. The fingerprint only picks the
 * candidate; the bytes decide, so two modules that share one never mix.
 */
import { equalBytes } from '@ri-sandbox/snapshot';

/** Words sampled for a fingerprint, spread evenly over the module. */
const SAMPLES = 256;

/** A cheap, spread-out digest of `bytes`: its length and FNV-1a over sampled words. */
export function fingerprint(bytes: Uint8Array): string {
  const words = bytes.length >>> 2;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let hash = 0x811c9dc5;
  const step = Math.max(1, Math.floor(words / SAMPLES));
  for (let word = 0; word < words; word += step) {
    hash = Math.imul(hash ^ view.getUint32(word * 4, true), 0x01000193);
  }
  for (let i = words * 4; i < bytes.length; i++) hash = Math.imul(hash ^ (bytes[i] as number), 0x01000193);
  return `${bytes.length.toString(36)}.${(hash >>> 0).toString(36)}`;
}

/** Values by module bytes and a variant (the settings a compilation depends on), the least recently used dropped first. */
export class ModuleCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  /**
   * The entry found or kept last (so the most recently used), with its key and variant: loads of one
   * module in a row compare the bytes with it at once, without a fingerprint, a key or a lookup.
   */
  private last: { readonly key: string; readonly variant: string; readonly entry: Entry<T> } | undefined;

  /** The bytes of the modules kept. */
  private keptBytes = 0;

  /**
   * `onEvict` is given each value the cache lets go of to keep within `capacity` entries and
   * `maxBytes` of modules in all (the most recent entry is kept whatever its size), or replaces.
   */
  constructor(
    private readonly capacity: number,
    private readonly onEvict?: (value: T) => void,
    private readonly maxBytes = Infinity,
  ) {}

  /** The value kept for exactly these `bytes` under `variant`, if any. */
  get(bytes: Uint8Array, variant: string): T | undefined {
    const { last } = this;
    if (last !== undefined && last.variant === variant && equalBytes(last.entry.bytes, bytes))
      return last.entry.value;
    const key = `${fingerprint(bytes)}:${variant}`;
    const entry = this.entries.get(key);
    if (entry === undefined || !equalBytes(entry.bytes, bytes)) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.last = { key, variant, entry };
    return entry.value;
  }

  /** Keeps `value` for `bytes` (which must not change afterwards) under `variant`. */
  set(bytes: Uint8Array, variant: string, value: T): void {
    const key = `${fingerprint(bytes)}:${variant}`;
    const entry = { bytes, value };
    const replaced = this.entries.get(key);
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.keptBytes += bytes.length - (replaced?.bytes.length ?? 0);
    this.last = { key, variant, entry };
    if (replaced !== undefined && replaced.value !== value) this.onEvict?.(replaced.value);
    while (this.entries.size > this.capacity || (this.keptBytes > this.maxBytes && this.entries.size > 1)) {
      const oldest = this.entries.keys().next().value as string;
      const evicted = this.entries.get(oldest) as Entry<T>;
      this.entries.delete(oldest);
      this.keptBytes -= evicted.bytes.length;
      if (this.last?.key === oldest) this.last = undefined;
      this.onEvict?.(evicted.value);
    }
  }

  /** Forgets what is kept for `bytes` under `variant`, if it is still `value`. */
  delete(bytes: Uint8Array, variant: string, value: T): void {
    const key = `${fingerprint(bytes)}:${variant}`;
    const entry = this.entries.get(key);
    if (entry?.value !== value) return;
    this.entries.delete(key);
    this.keptBytes -= entry.bytes.length;
    if (this.last?.key === key) this.last = undefined;
  }
}

/** What a {@link ModuleCache} keeps for one module and variant. */
interface Entry<T> {
  readonly bytes: Uint8Array;
  readonly value: T;
}
