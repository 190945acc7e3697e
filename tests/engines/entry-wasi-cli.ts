/** Command-line entry of the WASI cases (for Bun): module paths in argv (see WASI_MODULE_NAMES), records as JSON. */
import { readFileSync } from 'node:fs';
import { WASI_MODULE_NAMES, type WasiModules, runWasiSuite } from './wasi-suite';

const paths = process.argv.slice(2);
const modules = Object.fromEntries(
  WASI_MODULE_NAMES.map((name, i) => [name, new Uint8Array(readFileSync(paths[i] ?? ''))]),
) as unknown as WasiModules;
console.log(JSON.stringify(await runWasiSuite(modules)));
