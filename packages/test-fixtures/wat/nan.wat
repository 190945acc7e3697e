;; Float code that produces NaNs, scalar and SIMD, with payloads: raw engines may differ in the bits, the sandbox makes every one canonical.
(module
  (memory (export "memory") 1)
  (func (export "f32_div_zero") (result i32)
    (i32.reinterpret_f32 (f32.div (f32.const 0) (f32.const 0))))
  (func (export "f64_sqrt_negative") (result i64)
    (i64.reinterpret_f64 (f64.sqrt (f64.const -1))))
  (func (export "f32_payload_add") (result i32)
    (i32.reinterpret_f32 (f32.add (f32.reinterpret_i32 (i32.const 0x7fa00001)) (f32.const 1))))
  (func (export "f64_payload_mul") (result i64)
    (i64.reinterpret_f64 (f64.mul (f64.reinterpret_i64 (i64.const 0xfff4000000000123)) (f64.const 2))))
  (func (export "f32x4_div_zero") (result i64)
    (v128.store (i32.const 0) (f32x4.div (v128.const f32x4 0 0 0 0) (v128.const f32x4 0 -0 0 0)))
    (i64.load (i32.const 0)))
  ;; Writes n NaN-producing results (of mixed signs and payloads) into memory; returns the last one's bits.
  (func (export "fill") (param $n i32) (result i64)
    (local $i i32) (local $x f64)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $x
          (f64.sub
            (f64.reinterpret_i64 (i64.or (i64.const 0x7ff0000000000001) (i64.extend_i32_u (local.get $i))))
            (f64.convert_i32_s (local.get $i))))
        (f64.store (i32.shl (local.get $i) (i32.const 3)) (local.get $x))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i64.reinterpret_f64 (local.get $x))))
