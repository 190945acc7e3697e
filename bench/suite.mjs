#!/usr/bin/env node
// One benchmark suite in a process of its own: `node bench/suite.mjs <name>` prints its results as JSON on
// stdout and its progress on stderr. `pnpm bench` runs each suite this way, so that what one suite leaves
// in the heap (100,000 suspended sandboxes, say) does not slow the timings of the next.
import { fileURLToPath } from 'node:url';

/** The suites, in the order `pnpm bench` runs and reports them. */
export const SUITES = {
  metering: () => import('./metering.mjs'),
  sandbox: () => import('./sandbox.mjs'),
  snapshot: () => import('./snapshot.mjs'),
  wasi: () => import('./wasi.mjs'),
  worker: () => import('./worker.mjs'),
  peers: () => import('./peers.mjs'),
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const name = process.argv[2] ?? '';
  const load = SUITES[name];
  if (load === undefined) {
    process.stderr.write(`unknown suite "${name}" (known: ${Object.keys(SUITES).join(', ')})\n`);
    process.exit(2);
  }
  const suite = await load();
  const results = await suite.run((line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`${JSON.stringify(results)}\n`);
}
