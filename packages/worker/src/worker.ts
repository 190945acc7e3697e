/** The worker script for Web Workers: serves the pool on the worker's global scope. */
import type { FromWorker, ToWorker } from './protocol';
import { serveSandbox } from './serve';

const scope = globalThis as unknown as {
  postMessage(message: FromWorker, transfer: ArrayBuffer[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<ToWorker>) => void): void;
};

serveSandbox({
  send: (message, transfer) => {
    scope.postMessage(message, [...transfer]);
  },
  receive: (handler) => {
    scope.addEventListener('message', (event) => {
      handler(event.data);
    });
  },
});
