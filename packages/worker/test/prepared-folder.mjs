// A store of prepared modules in a folder, for the tests on real worker threads: each thread has a
// globalThis of its own, so what workers share must be on disk. The folder is the environment's
// RI_SANDBOX_TEST_PREPARED (workers inherit the test's environment).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const folder = process.env.RI_SANDBOX_TEST_PREPARED ?? '';

export default {
  /** @param {string} key */
  get: (key) =>
    readFile(join(folder, key)).then(
      (file) => new Uint8Array(file),
      () => undefined,
    ),
  /** @param {string} key @param {Uint8Array} artifact */
  set: (key, artifact) => writeFile(join(folder, key), artifact),
};
