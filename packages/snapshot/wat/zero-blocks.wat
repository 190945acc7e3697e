;; Finds runs of 4 KiB blocks of a guest's linear memory that are all zeros, where the memory is: the
;; snapshot's scan of memory, at memory speed (a JavaScript loop over 32-bit words reads about 4 GB/s).
;; The memory is imported, so an instance serves one memory (of any size, after any growth).
;; The lines between the @simd-begin and @simd-end markers belong to the WebAssembly SIMD build only,
;; those between @scalar-begin and @scalar-end to the build for engines without SIMD;
;; scripts/build-kernels.mjs makes both into src/zero-blocks-modules.ts.
(module
  (import "env" "memory" (memory 0))

;; @simd-begin
  ;; Whether the 4 KiB block at byte $p holds a byte that is not zero.
  (func $nonZero (param $p i32) (result i32)
    (local $lines i32)
    (local.set $lines (i32.const 64))
    (loop $line
      (if (v128.any_true (v128.or
            (v128.or (v128.load offset=0 (local.get $p)) (v128.load offset=16 (local.get $p)))
            (v128.or (v128.load offset=32 (local.get $p)) (v128.load offset=48 (local.get $p)))))
        (then (return (i32.const 1))))
      (local.set $p (i32.add (local.get $p) (i32.const 64)))
      (br_if $line (local.tee $lines (i32.sub (local.get $lines) (i32.const 1)))))
    (i32.const 0))
;; @simd-end
;; @scalar-begin
  ;; Whether the 4 KiB block at byte $p holds a byte that is not zero.
  (func $nonZero (param $p i32) (result i32)
    (local $lines i32)
    (local.set $lines (i32.const 64))
    (loop $line
      (if (i64.ne (i64.const 0) (i64.or
            (i64.or (i64.or (i64.load offset=0 (local.get $p)) (i64.load offset=8 (local.get $p)))
                    (i64.or (i64.load offset=16 (local.get $p)) (i64.load offset=24 (local.get $p))))
            (i64.or (i64.or (i64.load offset=32 (local.get $p)) (i64.load offset=40 (local.get $p)))
                    (i64.or (i64.load offset=48 (local.get $p)) (i64.load offset=56 (local.get $p))))))
        (then (return (i32.const 1))))
      (local.set $p (i32.add (local.get $p) (i32.const 64)))
      (br_if $line (local.tee $lines (i32.sub (local.get $lines) (i32.const 1)))))
    (i32.const 0))
;; @scalar-end

  ;; The first block from $block on, before $blocks, that is all zeros if $wantZero is 1, or that is
  ;; not if it is 0; $blocks if there is none.
  (func (export "next") (param $block i32) (param $blocks i32) (param $wantZero i32) (result i32)
    (block $found
      (loop $blocks
        (br_if $found (i32.ge_u (local.get $block) (local.get $blocks)))
        (br_if $found (i32.ne (call $nonZero (i32.shl (local.get $block) (i32.const 12))) (local.get $wantZero)))
        (local.set $block (i32.add (local.get $block) (i32.const 1)))
        (br $blocks)))
    (local.get $block))
)
