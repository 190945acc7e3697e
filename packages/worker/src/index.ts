/**
 * `@ri-sandbox/worker`: sandbox instances in workers, so that every core is
 * busy and a host function that blocks cannot hang the caller: past its time
 * limit and a grace period, its worker is terminated and replaced. This entry
 * uses Web Workers (browsers, Deno, Bun); in Node, import
 * `@ri-sandbox/worker/node`, which uses `worker_threads`.
 *
 * @packageDocumentation
 */
import { createPool, type WorkerHandle } from './pool';
import type { FromWorker } from './protocol';
import type { WorkerSandbox, WorkerSandboxOptions } from './types';

export type * from './types';
export type { SpawnWorker, WorkerHandle } from './pool';
export { DEFAULT_GRACE_MS, createPool } from './pool';
export type { WorkerEndpoint } from './serve';
export { serveSandbox } from './serve';

/** A Web Worker (module type) running the script at `url`. */
export function spawnWebWorker(url: string | URL): WorkerHandle {
  const worker = new Worker(url, { type: 'module' });
  return {
    sharesMemory: true,
    send: (message, transfer) => {
      worker.postMessage(message, [...transfer]);
    },
    listen(received, failed) {
      worker.addEventListener('message', (event: MessageEvent<FromWorker>) => {
        received(event.data);
      });
      worker.addEventListener('error', (event: ErrorEvent) => {
        event.preventDefault();
        failed(event.message || 'the worker failed');
      });
      worker.addEventListener('messageerror', () => {
        failed('a message from the worker could not be read');
      });
    },
    terminate: () => {
      worker.terminate();
    },
  };
}

/**
 * A worker sandbox over Web Workers running `options.workerUrl` (default: the
 * `worker.js` this package ships beside this module, which a bundler that
 * understands `new URL(..., import.meta.url)` picks up). Options it cannot use
 * throw, as `createWasmSandbox`'s do.
 */
export function createWorkerSandbox(options: WorkerSandboxOptions = {}): WorkerSandbox {
  const url = options.workerUrl ?? new URL('./worker.js', import.meta.url);
  const cores = typeof navigator === 'undefined' ? 1 : navigator.hardwareConcurrency;
  return createPool(spawnWebWorker, url, options, cores);
}
