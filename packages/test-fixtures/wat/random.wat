;; Randomness and time from the sandbox's builtins only: __get_random (seeded PCG32) and __get_time (the event timestamp).
(module
  (import "env" "__get_random" (func $random (result i32)))
  (import "env" "__get_time" (func $time (result f64)))
  (memory (export "memory") 1)
  (func (export "random") (result i32) (call $random))
  (func (export "time") (result f64) (call $time))
  ;; Writes n random words into memory; returns their xor.
  (func (export "fill") (param $n i32) (result i32)
    (local $i i32) (local $word i32) (local $xor i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $word (call $random))
        (i32.store (i32.shl (local.get $i) (i32.const 2)) (local.get $word))
        (local.set $xor (i32.xor (local.get $xor) (local.get $word)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $xor)))
