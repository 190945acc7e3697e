#!/usr/bin/env node
// One benchmark suite in a process of its own: `node bench/suite.mjs <name>` prints its results as JSON on
// stdout and its progress on stderr. `pnpm bench` runs most suites in its own process, one after the other
// (later ones find the code they share already optimised, as a long-running host would), and the suites
// marked `apart` this way: the worker round trip, measured in microseconds, read 5 to 10 µs more after the
// snapshot suite had left 100,000 suspended sandboxes in the heap, and execute(add) read 485 ns after the
// metering suite's transforms of ruby.wasm against 315 ns apart (the sandbox suite warms its code itself).
// The snapshot and peers suites too: after the metering suite, a 1-page snapshot read 4.1x to 5.7x a copy
// (3.0x to 3.4x apart), and ri-sandbox's create, load, call and destroy 80.6 µs (37 to 40 µs apart), while
// the peers they are compared with start fresh either way.
import { fileURLToPath } from 'node:url';

/** The suites, in the order `pnpm bench` runs and reports them. */
export const SUITES = {
  metering: { load: () => import('./metering.mjs') },
  sandbox: { load: () => import('./sandbox.mjs'), apart: true },
  snapshot: { load: () => import('./snapshot.mjs'), apart: true },
  wasi: { load: () => import('./wasi.mjs') },
  worker: { load: () => import('./worker.mjs'), apart: true },
  peers: { load: () => import('./peers.mjs'), apart: true },
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const name = process.argv[2] ?? '';
  const load = SUITES[name]?.load;
  if (load === undefined) {
    process.stderr.write(`unknown suite "${name}" (known: ${Object.keys(SUITES).join(', ')})\n`);
    process.exit(2);
  }
  const suite = await load();
  const results = await suite.run((line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`${JSON.stringify(results)}\n`);
}
