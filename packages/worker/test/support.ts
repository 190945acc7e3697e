/** Shared set-up of the worker tests: the guest, the host functions module, and two ways to run workers. */
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { build } from 'esbuild';
import { wat } from '../../core/test/wat';
import type { SpawnWorker } from '../src/pool';
import type { FromWorker, ToWorker } from '../src/protocol';
import { serveSandbox } from '../src/serve';

/** The host functions module (plain JavaScript, for real workers too). */
export const HOST_FUNCTIONS = new URL('./host-functions.mjs', import.meta.url);

/** A store of prepared modules every worker imports: see `prepared-store.mjs`, and {@link preparedStore}. */
export const PREPARED_STORE = new URL('./prepared-store.mjs', import.meta.url);

/** What the workers' store of prepared modules holds, and the keys it was asked for, in order. */
export function preparedStore(): { entries: Map<string, Uint8Array>; asked: string[] } {
  const global = globalThis as {
    __riSandboxPreparedStore?: { entries: Map<string, Uint8Array>; asked: string[] };
  };
  return (global.__riSandboxPreparedStore ??= { entries: new Map(), asked: [] });
}

/**
 * The guest: `add`/`get` on a counter, `summed` (the host adds up "abc" in its memory: 294), `greeted`
 * (the host writes "hi!" and the guest reads it back as a little-endian word: 0x216968), `spin`,
 * `wait` and `crash` (host functions that never return, or end the worker), `fib`, `triple` (i64),
 * `trap` and `boom` (a host function that throws an `Error`).
 */
export const GUEST = wat(`(module
  (import "env" "sum" (func $sum (param i32 i32) (result i32)))
  (import "env" "greet" (func $greet (param i32)))
  (import "env" "spin" (func $spin))
  (import "env" "wait" (func $wait))
  (import "env" "crash" (func $crash))
  (import "env" "boom" (func $boom))
  (memory (export "memory") 1)
  (data (i32.const 100) "abc")
  (global $count (mut i32) (i32.const 0))
  (func (export "add") (param i32) (result i32)
    (global.set $count (i32.add (global.get $count) (local.get 0))) (global.get $count))
  (func (export "get") (result i32) (global.get $count))
  (func (export "summed") (result i32) (call $sum (i32.const 100) (i32.const 3)))
  (func (export "greeted") (result i32) (call $greet (i32.const 200)) (i32.load (i32.const 200)))
  (func (export "spin") (call $spin))
  (func (export "wait") (call $wait))
  (func (export "crash") (call $crash))
  (func (export "boom") (call $boom))
  (func (export "trap") unreachable)
  (func (export "triple") (param i64) (result i64) (i64.mul (local.get 0) (i64.const 3)))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2))))))))`);

/** Workers served on this thread, over message channels: the pool's logic, with coverage. */
export const spawnInThread: SpawnWorker = () => {
  const { port1, port2 } = new MessageChannel();
  serveSandbox({
    send: (message, transfer) => {
      port2.postMessage(message, [...transfer]);
    },
    receive: (handler) => {
      port2.on('message', (message: ToWorker) => {
        handler(message);
      });
    },
  });
  return {
    send: (message, transfer) => {
      port1.postMessage(message, [...transfer]);
    },
    listen: (received) => {
      port1.on('message', (message: FromWorker) => {
        received(message);
      });
    },
    terminate: () => {
      port1.close();
    },
  };
};

let bundled: Promise<URL> | undefined;

/** The Node worker script, bundled from its sources (the package's own build is not needed). */
export function nodeWorkerScript(): Promise<URL> {
  bundled ??= (async () => {
    const outfile = fileURLToPath(
      new URL('../../../node_modules/.cache/ri-sandbox-worker/worker-node.mjs', import.meta.url),
    );
    await build({
      entryPoints: [fileURLToPath(new URL('../src/worker-node.ts', import.meta.url))],
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'es2022',
      tsconfig: fileURLToPath(new URL('../../../tsconfig.json', import.meta.url)),
      outfile,
      logLevel: 'error',
    });
    return new URL(`file://${outfile}`);
  })();
  return bundled;
}
