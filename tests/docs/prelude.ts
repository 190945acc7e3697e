/**
 * What the READMEs' hidden preludes (`<!-- prelude ... -->`) import as
 * `@docs/prelude`: the first example's two lines of wabt as `wat()`, and a
 * sandbox with a fixture loaded under limits no busy machine reaches, so an
 * example starts where the reader already is.
 */
import { type SandboxConfigInput, createWasmSandbox } from '@ri-sandbox/sandbox';
import { type FixtureName, fixture } from '@ri-sandbox/test-fixtures';
import createWabt from 'wabt';

const wabt = await createWabt();

/** Every proposal the examples may use (atomics, to show what the policy refuses, say). */
const FEATURES = {
  exceptions: true,
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  simd: true,
  threads: true,
  multi_value: true,
  tail_call: true,
  bulk_memory: true,
  reference_types: true,
} as const;

/** WebAssembly text compiled to bytes, as the README's first example does it. */
export function wat(source: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(wabt.parseWat('example.wat', source, FEATURES).toBinary({}).buffer);
}

/** A sandbox and an instance of it with the fixture `name` loaded. */
export async function loaded(name: FixtureName, config: SandboxConfigInput = {}) {
  const sandbox = createWasmSandbox();
  const created = sandbox.create({ maxExecutionMs: 60_000, ...config });
  if (!created.ok) throw new Error(created.error.message);
  const result = await sandbox.load(created.value, fixture(name));
  if (!result.ok) throw new Error(result.error.message);
  return { sandbox, instance: created.value };
}

export { fixture };
