/** Browser entry of the cross-engine suites: exposes the runners for the test page. */
import { runDeterminismSuite } from './suite';
import { WASI_MODULE_NAMES, type WasiModules, runWasiSuite } from './wasi-suite';

/** The WASI cases, with their modules fetched from `/modules/<name>.wasm`. */
async function runWasiSuiteFetched(): Promise<unknown> {
  const fetched = await Promise.all(
    WASI_MODULE_NAMES.map(async (name) => {
      const response = await fetch(`/modules/${name}.wasm`);
      return [name, new Uint8Array(await response.arrayBuffer())] as const;
    }),
  );
  return runWasiSuite(Object.fromEntries(fetched) as unknown as WasiModules);
}

Object.assign(globalThis, { runDeterminismSuite, runWasiSuite: runWasiSuiteFetched });
