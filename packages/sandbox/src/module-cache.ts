/**
 * What a sandbox factory keeps per module it has compiled, found again by the
 * module's bytes: a load of bytes seen before costs a fingerprint and a
 * comparison, synchronously, instead of a cryptographic hash (asynchronous in
 * the Web Crypto API) and a compilation. The fingerprint only picks the
 * candidate; the bytes decide, so two modules that share one never mix.
 */

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

/** Below this length bytes are compared one by one: V8 keeps such arrays on its heap, and asking for their `buffer` moves them out. */
const WORDWISE_FROM = 64;

/** Whether `a` and `b` hold the same bytes (by 32-bit words where both are long and aligned). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  if (a.length >= WORDWISE_FROM && a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const words = a.length >>> 2;
    const wa = new Uint32Array(a.buffer, a.byteOffset, words);
    const wb = new Uint32Array(b.buffer, b.byteOffset, words);
    for (; i < words; i++) if (wa[i] !== wb[i]) return false;
    i = words * 4;
  }
  for (; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Values by module bytes and a variant (the settings a compilation depends on), the least recently used dropped first. */
export class ModuleCache<T> {
  private readonly entries = new Map<string, { readonly bytes: Uint8Array; readonly value: T }>();

  constructor(private readonly capacity: number) {}

  /** The value kept for exactly these `bytes` under `variant`, if any. */
  get(bytes: Uint8Array, variant: string): T | undefined {
    const key = `${fingerprint(bytes)}:${variant}`;
    const entry = this.entries.get(key);
    if (entry === undefined || !equalBytes(entry.bytes, bytes)) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Keeps `value` for `bytes` (which must not change afterwards) under `variant`. */
  set(bytes: Uint8Array, variant: string, value: T): void {
    const key = `${fingerprint(bytes)}:${variant}`;
    this.entries.delete(key);
    this.entries.set(key, { bytes, value });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** Forgets what is kept for `bytes` under `variant`, if it is still `value`. */
  delete(bytes: Uint8Array, variant: string, value: T): void {
    const key = `${fingerprint(bytes)}:${variant}`;
    if (this.entries.get(key)?.value === value) this.entries.delete(key);
  }
}
