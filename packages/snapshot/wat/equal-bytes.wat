;; Whether two runs of bytes are the same: the left one at byte 0 of the kernel's memory, the right one
;; right after it. A cached load compares a module with the copy its cache kept, and a JavaScript loop
;; runs in V8's first tiers (about 6 ns a word) for its first few dozen calls; this runs at memory speed
;; from the first.
;; The lines between the @simd-begin and @simd-end markers belong to the WebAssembly SIMD build only,
;; those between @scalar-begin and @scalar-end to the build for engines without SIMD;
;; scripts/build-kernels.mjs makes both into src/equal-bytes-modules.ts.
(module
  ;; Two windows of 64 KiB, and a page to spare.
  (memory (export "memory") 3 3)

  ;; Whether bytes [0, $length) equal bytes [$length, 2 * $length): 64 at a time, then one at a time.
  (func (export "equal") (param $length i32) (result i32)
    (local $p i32) (local $whole i32)
    (local.set $whole (i32.and (local.get $length) (i32.const -64)))
    (block $tail
      (loop $chunks
        (br_if $tail (i32.ge_u (local.get $p) (local.get $whole)))
;; @simd-begin
        (if (v128.any_true (v128.or
              (v128.or
                (v128.xor (v128.load offset=0 (local.get $p))
                          (v128.load offset=0 (i32.add (local.get $p) (local.get $length))))
                (v128.xor (v128.load offset=16 (local.get $p))
                          (v128.load offset=16 (i32.add (local.get $p) (local.get $length)))))
              (v128.or
                (v128.xor (v128.load offset=32 (local.get $p))
                          (v128.load offset=32 (i32.add (local.get $p) (local.get $length))))
                (v128.xor (v128.load offset=48 (local.get $p))
                          (v128.load offset=48 (i32.add (local.get $p) (local.get $length)))))))
          (then (return (i32.const 0))))
;; @simd-end
;; @scalar-begin
        (if (i64.ne (i64.const 0) (i64.or
              (i64.or
                (i64.or (i64.xor (i64.load offset=0 (local.get $p))
                                 (i64.load offset=0 (i32.add (local.get $p) (local.get $length))))
                        (i64.xor (i64.load offset=8 (local.get $p))
                                 (i64.load offset=8 (i32.add (local.get $p) (local.get $length)))))
                (i64.or (i64.xor (i64.load offset=16 (local.get $p))
                                 (i64.load offset=16 (i32.add (local.get $p) (local.get $length))))
                        (i64.xor (i64.load offset=24 (local.get $p))
                                 (i64.load offset=24 (i32.add (local.get $p) (local.get $length))))))
              (i64.or
                (i64.or (i64.xor (i64.load offset=32 (local.get $p))
                                 (i64.load offset=32 (i32.add (local.get $p) (local.get $length))))
                        (i64.xor (i64.load offset=40 (local.get $p))
                                 (i64.load offset=40 (i32.add (local.get $p) (local.get $length)))))
                (i64.or (i64.xor (i64.load offset=48 (local.get $p))
                                 (i64.load offset=48 (i32.add (local.get $p) (local.get $length))))
                        (i64.xor (i64.load offset=56 (local.get $p))
                                 (i64.load offset=56 (i32.add (local.get $p) (local.get $length))))))))
          (then (return (i32.const 0))))
;; @scalar-end
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $chunks)))
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $p) (local.get $length)))
        (if (i32.ne (i32.load8_u (local.get $p)) (i32.load8_u (i32.add (local.get $p) (local.get $length))))
          (then (return (i32.const 0))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $bytes)))
    (i32.const 1))
)
