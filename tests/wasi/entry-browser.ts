/**
 * Browser entry of the WASI suite: runs one program in the sandbox, its
 * settings from `/manifest.json` and its module from `/modules/<file>`.
 */
import { type ManifestEntry, fromManifestEntry, moduleFileOf } from './manifest';
import { type SuiteRun, runInSandbox } from './suite-run';

async function runSuiteProgram(name: string): Promise<SuiteRun> {
  const manifest = (await (await fetch('/manifest.json')).json()) as ManifestEntry[];
  const entry = manifest.find((candidate) => candidate.name === name);
  if (entry === undefined) throw new Error(`${name} is not in the manifest`);
  const wasm = new Uint8Array(await (await fetch(`/modules/${moduleFileOf(name)}`)).arrayBuffer());
  return runInSandbox(fromManifestEntry(entry, wasm));
}

Object.assign(globalThis, { runSuiteProgram });
