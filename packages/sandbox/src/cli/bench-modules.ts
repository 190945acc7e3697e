/**
 * The modules `ri-sandbox bench` runs, written here as WebAssembly text (the
 * command line compiles text with wabt already): small ones for the calls, and
 * a generated one of about 10 KB for `load`.
 */
import type { BenchModules } from '../bench/suite';

const ADD = `(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))`;

const FIBONACCI = `(module
  (func $fib (export "fib") (param $n i32) (result i64)
    (if (result i64) (i32.lt_u (local.get $n) (i32.const 2))
      (then (i64.extend_i32_u (local.get $n)))
      (else (i64.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2))))))))`;

const COUNTER = `(module
  (global $count (mut i32) (i32.const 0))
  (func (export "add") (param i32) (result i32)
    (global.set $count (i32.add (global.get $count) (local.get 0))) (global.get $count))
  (func (export "get") (result i32) (global.get $count)))`;

const PAGE = `(module (memory (export "memory") 1)
  (func (export "fill") (param i32) (result i32)
    (memory.fill (i32.const 0) (local.get 0) (i32.const 65536)) (i32.const 65536)))`;

/** A module of `functions` small loops over memory: about 70 bytes of code each. */
function generated(functions: number): string {
  const bodies = Array.from(
    { length: functions },
    (_, i) => `
  (func (export "f${i}") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const ${i + 3}))
                               (i32.load (i32.and (i32.mul (local.get $i) (i32.const 4)) (i32.const 65532)))))
      (i32.store (i32.and (local.get $acc) (i32.const 65532)) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $acc))`,
  );
  return `(module (memory (export "memory") 1)${bodies.join('')})`;
}

/** Compiles the suite's modules with `watToWasm`. */
export async function benchModules(
  watToWasm: (source: string, path: string) => Promise<Uint8Array>,
): Promise<BenchModules> {
  const [add, fibonacci, counter, page, load] = await Promise.all([
    watToWasm(ADD, 'add.wat'),
    watToWasm(FIBONACCI, 'fibonacci.wat'),
    watToWasm(COUNTER, 'counter.wat'),
    watToWasm(PAGE, 'page.wat'),
    watToWasm(generated(110), 'generated.wat'),
  ]);
  return {
    add,
    fibonacci,
    counter,
    page,
    load: { bytes: load, label: `${(load.length / 1024).toFixed(0)} KB module` },
  };
}
