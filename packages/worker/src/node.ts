/**
 * `@ri-sandbox/worker/node`: the worker sandbox over Node's `worker_threads`.
 *
 * @packageDocumentation
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { createPool, type WorkerHandle } from './pool';
import type { FromWorker } from './protocol';
import type { WorkerSandbox, WorkerSandboxOptions } from './types';

export type * from './types';
export { DEFAULT_GRACE_MS } from './pool';

/** A `worker_threads` worker running the script at `url`. */
export function spawnNodeWorker(url: string | URL): WorkerHandle {
  const worker = new Worker(url instanceof URL ? url : new URL(url, 'file:///'));
  let ended = false;
  return {
    sharesMemory: true,
    // An idle worker must not keep the process alive; one with calls to answer must.
    busy: (busy) => {
      if (busy) worker.ref();
      else worker.unref();
    },
    send: (message, transfer) => {
      worker.postMessage(message, [...transfer]);
    },
    listen(received, failed) {
      const fail = (reason: string) => {
        if (ended) return;
        ended = true;
        failed(reason);
      };
      worker.on('message', (message: FromWorker) => {
        received(message);
      });
      worker.on('error', (error) => {
        fail(error.message);
      });
      worker.on('messageerror', () => {
        fail('a message from the worker could not be read');
      });
      worker.on('exit', (code) => {
        fail(`the worker exited with code ${code}`);
      });
    },
    terminate: () => {
      ended = true;
      void worker.terminate();
    },
  };
}

/**
 * A worker sandbox over `worker_threads`, running `options.workerUrl`
 * (default: the `worker-node.js` this package ships beside this module).
 * Options it cannot use throw, as `createWasmSandbox`'s do.
 */
export function createWorkerSandbox(options: WorkerSandboxOptions = {}): WorkerSandbox {
  const url = options.workerUrl ?? new URL('./worker-node.js', import.meta.url);
  return createPool(spawnNodeWorker, url, options, availableParallelism());
}
