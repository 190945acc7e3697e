/**
 * A store of prepared modules in a directory of the file system: one file per
 * key, written under a temporary name and renamed into place, so that a
 * reader (another process, say) sees a whole artifact or none.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PreparedModuleStore } from '../prepared';

/** What a key the sandbox makes looks like: nothing else becomes a file name. */
const KEY = /^[0-9a-f]{64}$/;

function checkedKey(key: string): string {
  if (!KEY.test(key)) throw new TypeError(`not a prepared-module key: ${JSON.stringify(key)}`);
  return key;
}

/**
 * A {@link PreparedModuleStore} keeping each artifact in `folder` (made when
 * the first artifact is kept), as a file named by its key. Writes are atomic
 * (a temporary file renamed into place), so processes may share the folder.
 * Nothing is ever deleted: clear the folder to reclaim its space (a process
 * killed while writing leaves a `.tmp` file, which no reader ever opens).
 *
 * @example
 * ```ts
 * import { createWasmSandbox } from '@ri-sandbox/sandbox';
 * import { directoryStore } from '@ri-sandbox/sandbox/node';
 *
 * const sandbox = createWasmSandbox({ preparedModules: directoryStore('.cache/ri-sandbox') });
 * ```
 */
export function directoryStore(folder: string): PreparedModuleStore {
  let made: Promise<unknown> | undefined;
  return {
    async get(key) {
      try {
        const artifact = await readFile(join(folder, checkedKey(key)));
        return new Uint8Array(artifact.buffer, artifact.byteOffset, artifact.byteLength);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
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
    },
  };
}
