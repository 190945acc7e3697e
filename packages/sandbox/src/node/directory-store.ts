/**
 * A store of prepared modules in a directory of the file system: one file per
 * key, written under a temporary name and renamed into place, so that a
 * reader (another process, say) sees a whole artifact or none; bounded in
 * size, the least recently used artifacts deleted first.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SandboxOptionsError, sandboxError } from '@ri-sandbox/core';
import type { PreparedModuleStore } from '../prepared';
import { describeOption } from '../text';

/** What a key the sandbox makes looks like: nothing else becomes a file name. */
const KEY = /^[0-9a-f]{64}$/;
/** A file being written: its key, a random part, `.tmp`. */
const TEMPORARY = /^[0-9a-f]{64}\.[0-9a-f]{12}\.tmp$/;
/** A temporary file this old was left by a writer that died: no write takes an hour. */
const STALE_TEMPORARY_MS = 60 * 60 * 1000;
/** The default bound on the artifacts' total size. */
const DEFAULT_MAX_BYTES = 2 ** 30;

/** Options of {@link directoryStore}. */
export interface DirectoryStoreOptions {
  /**
   * The most bytes the folder's artifacts may take (default 1 GiB). After an
   * artifact is kept, the least recently used others (by the time each was
   * last written or read) are deleted until they all fit; the one just kept
   * stays, whatever its size. `Infinity` deletes nothing.
   */
  readonly maxBytes?: number | undefined;
}

function checkedKey(key: string): string {
  if (!KEY.test(key)) throw new TypeError(`not a prepared-module key: ${JSON.stringify(key)}`);
  return key;
}

function checkedMaxBytes(maxBytes: unknown): number {
  if (maxBytes === undefined) return DEFAULT_MAX_BYTES;
  if (typeof maxBytes === 'number' && maxBytes >= 0) return maxBytes;
  throw new SandboxOptionsError(
    sandboxError.invalidConfig(
      'maxBytes',
      `must be a number of bytes, 0 or more, got ${describeOption(maxBytes)}`,
    ),
  );
}

/** A file of the folder this store wrote, and what it knows of it. */
interface Kept {
  readonly name: string;
  readonly size: number;
  readonly usedAt: number;
}

/**
 * Deletes the least recently used artifacts in `folder` but `keep` until the
 * rest take at most `maxBytes`, and temporary files their writers left
 * behind. Files of other names are never touched.
 */
async function prune(folder: string, keep: string, maxBytes: number): Promise<void> {
  const artifacts: Kept[] = [];
  let total = 0;
  for (const name of await readdir(folder)) {
    const artifact = KEY.test(name);
    if (!artifact && !TEMPORARY.test(name)) continue;
    // Another process may delete or replace it meanwhile.
    const stats = await stat(join(folder, name)).catch(() => undefined);
    if (stats === undefined) continue;
    if (!artifact) {
      if (Date.now() - stats.mtimeMs > STALE_TEMPORARY_MS) await rm(join(folder, name), { force: true });
      continue;
    }
    total += stats.size;
    if (name !== keep) artifacts.push({ name, size: stats.size, usedAt: stats.mtimeMs });
  }
  artifacts.sort((a, b) => a.usedAt - b.usedAt);
  for (const { name, size } of artifacts) {
    if (total <= maxBytes) break;
    await rm(join(folder, name), { force: true });
    total -= size;
  }
}

/**
 * A {@link PreparedModuleStore} keeping each artifact in `folder` (made when
 * the first artifact is kept), as a file named by its key. Writes are atomic
 * (a temporary file renamed into place), so processes may share the folder.
 * The artifacts are bounded in size (see {@link DirectoryStoreOptions}):
 * those of other settings or library versions, which no load asks for any
 * more, are the first to go. Files in the folder that are not artifacts are
 * left alone. Throws `SandboxOptionsError` (`INVALID_CONFIG`) for a
 * `maxBytes` that is not a number of bytes.
 *
 * @example
 * ```ts
 * import { createWasmSandbox } from '@ri-sandbox/sandbox';
 * import { directoryStore } from '@ri-sandbox/sandbox/node';
 *
 * const sandbox = createWasmSandbox({ preparedModules: directoryStore('.cache/ri-sandbox') });
 * ```
 */
export function directoryStore(folder: string, options: DirectoryStoreOptions = {}): PreparedModuleStore {
  const maxBytes = checkedMaxBytes(options.maxBytes);
  let made: Promise<unknown> | undefined;
  return {
    async get(key) {
      const path = join(folder, checkedKey(key));
      let artifact: Buffer;
      try {
        artifact = await readFile(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      // Read now: the last to be deleted. (Not waited for; it may fail where the folder is read-only.)
      const now = new Date();
      utimes(path, now, now).catch(() => undefined);
      return new Uint8Array(artifact.buffer, artifact.byteOffset, artifact.byteLength);
    },
    async set(key, artifact) {
      const path = join(folder, checkedKey(key));
      made ??= mkdir(folder, { recursive: true });
      await made;
      const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(temporary, artifact);
        await rename(temporary, path);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
      if (maxBytes !== Infinity) await prune(folder, key, maxBytes);
    },
  };
}
