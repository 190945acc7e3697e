/** Test helper: compiles WebAssembly text to binary with wabt, every feature Node 20 knows enabled. */
import createWabt from 'wabt';

const wabt = await createWabt();

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
  relaxed_simd: true,
} as const;

/** Compiles `source` to bytes; `validate: false` encodes without type-checking. */
export function wat(source: string, options: { validate?: boolean } = {}): Uint8Array<ArrayBuffer> {
  const module = wabt.parseWat('test.wat', source, FEATURES);
  try {
    module.resolveNames();
    if (options.validate !== false) module.validate();
    return new Uint8Array(module.toBinary({ write_debug_names: true }).buffer);
  } finally {
    module.destroy();
  }
}
