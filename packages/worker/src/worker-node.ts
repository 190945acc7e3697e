/** The worker script for Node's `worker_threads`: serves the pool on the parent port. */
import { parentPort } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './protocol';
import { serveSandbox } from './serve';

if (parentPort === null) throw new Error('worker-node.js runs as a worker_threads worker');
const port = parentPort;

serveSandbox({
  send: (message: FromWorker, transfer) => {
    port.postMessage(message, [...transfer]);
  },
  receive: (handler) => {
    port.on('message', (message: ToWorker) => {
      handler(message);
    });
  },
});
