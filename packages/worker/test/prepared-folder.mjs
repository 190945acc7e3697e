// A store of prepared modules in a folder, for the tests on real worker threads: each thread has a
// globalThis of its own, so what workers share must be on disk. The folder is the environment's
// RI_SANDBOX_TEST_PREPARED (workers inherit the test's environment).
import { directoryStore } from '@ri-sandbox/sandbox/node';

export default directoryStore(process.env.RI_SANDBOX_TEST_PREPARED ?? '');
