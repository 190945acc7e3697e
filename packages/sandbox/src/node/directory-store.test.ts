import { mkdtempSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture } from '@ri-sandbox/test-fixtures';
import { SandboxOptionsError } from '@ri-sandbox/core';
import { testSandbox } from '../../test/helpers';
import { directoryStore } from './directory-store';

const KEY = 'ab'.repeat(32);
const OTHER = 'cd'.repeat(32);
const THIRD = 'ef'.repeat(32);

/** Sets the time `name` in `where` was last used to `secondsAgo` before now. */
function usedAgo(where: string, name: string, secondsAgo: number): void {
  const at = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(join(where, name), at, at);
}

function folder(): string {
  return join(mkdtempSync(join(tmpdir(), 'ri-sandbox-store-')), 'prepared');
}

describe('directoryStore', () => {
  it('keeps each artifact in a file named by its key, making the folder, and gives it back', async () => {
    const where = folder();
    const store = directoryStore(where);
    expect(await store.get(KEY)).toBeUndefined();
    await store.set(KEY, new Uint8Array([1, 2, 3]));
    await store.set(OTHER, new Uint8Array([4]));
    await store.set(KEY, new Uint8Array([5, 6]));
    expect(await store.get(KEY)).toEqual(new Uint8Array([5, 6]));
    expect(await directoryStore(where).get(OTHER)).toEqual(new Uint8Array([4]));
    // Written under a temporary name and renamed: nothing else is left in the folder.
    expect(readdirSync(where).sort()).toEqual([KEY, OTHER]);
  });

  it('writes each artifact whole, even when writes of one key overlap', async () => {
    const where = folder();
    const store = directoryStore(where);
    const artifacts = [1, 2, 3, 4].map((n) => new Uint8Array(200_000).fill(n));
    await Promise.all(artifacts.map((artifact) => store.set(KEY, artifact)));
    const kept = new Uint8Array(readFileSync(join(where, KEY)));
    expect(artifacts.some((artifact) => Buffer.compare(kept, artifact) === 0)).toBe(true);
    expect(readdirSync(where)).toEqual([KEY]);
  });

  it('refuses anything but a key as a file name, and reports what it cannot read or write', async () => {
    const where = folder();
    const store = directoryStore(where);
    for (const bad of ['../escape', 'AB'.repeat(32), `${KEY}/x`, ''])
      await expect(Promise.resolve().then(() => store.get(bad))).rejects.toThrow(/not a prepared-module key/);
    await expect(Promise.resolve().then(() => store.set('../x', new Uint8Array()))).rejects.toThrow(
      TypeError,
    );
    // A folder that is a file: reading and writing fail, and no temporary file is left behind.
    const file = join(mkdtempSync(join(tmpdir(), 'ri-sandbox-store-')), 'file');
    writeFileSync(file, 'not a folder');
    await expect(Promise.resolve().then(() => directoryStore(file).get(KEY))).rejects.toThrow();
    await expect(directoryStore(file).set(KEY, new Uint8Array(1))).rejects.toThrow();
    await expect(directoryStore(join(where)).set(KEY, new Uint8Array(1))).resolves.toBeUndefined();
  });

  it('serves a sandbox factory: a second factory loads what the first kept, with the same results', async () => {
    const where = folder();
    const runs: unknown[] = [];
    for (let round = 0; round < 2; round++) {
      const sandbox = testSandbox({ preparedModules: directoryStore(where) });
      const created = sandbox.create();
      if (!created.ok) throw new Error(created.error.message);
      expect((await sandbox.load(created.value, fixture('fibonacci'))).ok).toBe(true);
      const result = sandbox.execute(created.value, 'fib', 20);
      runs.push(result.ok ? [result.value, result.gasUsed] : result.error.code);
      // The first load's write is not waited for by the load: wait for the file.
      await expect.poll(() => readdirSync(where).length, { timeout: 10_000 }).toBe(1);
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[0]).toEqual([6765n, 229852]);
  });

  it('deletes the least recently used artifacts past its size, never the one just kept', async () => {
    const where = folder();
    const store = directoryStore(where, { maxBytes: 2500 });
    await store.set(KEY, new Uint8Array(1000));
    await store.set(OTHER, new Uint8Array(1000));
    usedAgo(where, KEY, 30);
    usedAgo(where, OTHER, 20);
    // Reading KEY makes it the most recently used: OTHER goes when a third does not fit.
    expect(await store.get(KEY)).toHaveLength(1000);
    await expect
      .poll(() => statSync(join(where, KEY)).mtimeMs > Date.now() - 10_000, { timeout: 10_000 })
      .toBe(true);
    await store.set(THIRD, new Uint8Array(1000));
    expect(readdirSync(where).sort()).toEqual([KEY, THIRD].sort());
    // One larger than the bound is kept, alone.
    await store.set(OTHER, new Uint8Array(3000));
    expect(readdirSync(where)).toEqual([OTHER]);
    expect(await store.get(OTHER)).toHaveLength(3000);
  });

  it('leaves files that are not its own, clears temporary files their writers left, and may keep all', async () => {
    const where = folder();
    const store = directoryStore(where, { maxBytes: 0 });
    await store.set(KEY, new Uint8Array(10));
    const stale = `${OTHER}.0123456789ab.tmp`;
    const fresh = `${OTHER}.ba9876543210.tmp`;
    for (const name of [stale, fresh, 'notes.txt', 'ABCD']) writeFileSync(join(where, name), 'x');
    usedAgo(where, stale, 2 * 60 * 60);
    usedAgo(where, 'notes.txt', 2 * 60 * 60);
    await store.set(THIRD, new Uint8Array(10));
    expect(readdirSync(where).sort()).toEqual(['ABCD', THIRD, fresh, 'notes.txt'].sort());
    const unbounded = directoryStore(where, { maxBytes: Infinity });
    for (const key of [KEY, OTHER]) await unbounded.set(key, new Uint8Array(10));
    expect(
      readdirSync(where)
        .filter((name) => name.length === 64)
        .sort(),
    ).toEqual([KEY, OTHER, THIRD].sort());
  });

  it('refuses a size that is not a number of bytes', () => {
    for (const bad of [-1, Number.NaN, '1000', null]) {
      const refused = (() => {
        try {
          directoryStore(folder(), { maxBytes: bad as number });
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(refused).toBeInstanceOf(SandboxOptionsError);
      expect((refused as SandboxOptionsError).error).toMatchObject({
        code: 'INVALID_CONFIG',
        field: 'maxBytes',
      });
    }
  });
});
