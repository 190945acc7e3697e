;; XXH3-64 (xxHash 0.8, seed 0, default secret): the checksum of WSNP version 4.
;; Memory: the secret at 0, the eight accumulators at 256, the input window at 1024.
;; The lines between the @simd-begin and @simd-end markers belong to the WebAssembly SIMD
;; build only, those between @scalar-begin and @scalar-end to the build for engines without
;; SIMD; scripts/build-kernels.mjs makes both into src/xxh3-modules.ts.
(module
  (memory (export "memory") 2 2)
  (data (i32.const 0)
    "\b8\fe\6c\39\23\a4\4b\be\7c\01\81\2c\f7\21\ad\1c\de\d4\6d\e9\83\90\97\db\72\40\a4\a4\b7\b3\67\1f"
    "\cb\79\e6\4e\cc\c0\e5\78\82\5a\d0\7d\cc\ff\72\21\b8\08\46\74\f7\43\24\8e\e0\35\90\e6\81\3a\26\4c"
    "\3c\28\52\bb\91\c3\00\cb\88\d0\65\8b\1b\53\2e\a3\71\64\48\97\a2\0d\f9\4e\38\19\ef\46\a9\de\ac\d8"
    "\a8\fa\76\3f\e3\9c\34\3f\f9\dc\bb\c7\c7\0b\4f\1d\8a\51\e0\4b\cd\b4\59\31\c8\9f\7e\c9\d9\78\73\64"
    "\ea\c5\ac\83\34\d3\eb\c3\c5\81\a0\ff\fa\13\63\eb\17\0d\dd\51\b7\f0\da\49\d3\16\55\26\29\d4\68\9e"
    "\2b\16\be\58\7d\47\a1\fc\8f\f8\b8\d1\7a\d0\31\ce\45\cb\3a\8f\95\16\04\28\af\d7\fb\ca\bb\4b\40\7e")

  (global $WINDOW i32 (i32.const 1024))

  (func $avalanche (param $h i64) (result i64)
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 37))))
    (local.set $h (i64.mul (local.get $h) (i64.const 0x165667919E3779F9)))
    (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 32))))

  (func $avalanche64 (param $h i64) (result i64)
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 33))))
    (local.set $h (i64.mul (local.get $h) (i64.const 0xC2B2AE3D27D4EB4F)))
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 29))))
    (local.set $h (i64.mul (local.get $h) (i64.const 0x165667B19E3779F9)))
    (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 32))))

  ;; The 128-bit product of $a and $b, its halves xor-ed.
  (func $fold (param $a i64) (param $b i64) (result i64)
    (local $ll i64) (local $hl i64) (local $lh i64) (local $cross i64)
    (local.set $ll (i64.mul (i64.and (local.get $a) (i64.const 0xFFFFFFFF)) (i64.and (local.get $b) (i64.const 0xFFFFFFFF))))
    (local.set $hl (i64.mul (i64.shr_u (local.get $a) (i64.const 32)) (i64.and (local.get $b) (i64.const 0xFFFFFFFF))))
    (local.set $lh (i64.mul (i64.and (local.get $a) (i64.const 0xFFFFFFFF)) (i64.shr_u (local.get $b) (i64.const 32))))
    (local.set $cross (i64.add (i64.add (i64.shr_u (local.get $ll) (i64.const 32)) (i64.and (local.get $hl) (i64.const 0xFFFFFFFF))) (local.get $lh)))
    (i64.xor
      (i64.or (i64.shl (local.get $cross) (i64.const 32)) (i64.and (local.get $ll) (i64.const 0xFFFFFFFF)))
      (i64.add (i64.add (i64.shr_u (local.get $hl) (i64.const 32)) (i64.shr_u (local.get $cross) (i64.const 32)))
               (i64.mul (i64.shr_u (local.get $a) (i64.const 32)) (i64.shr_u (local.get $b) (i64.const 32))))))

  ;; 16 input bytes at $p mixed with 16 secret bytes at $s.
  (func $mix16 (param $p i32) (param $s i32) (result i64)
    (call $fold
      (i64.xor (i64.load (local.get $p)) (i64.load (local.get $s)))
      (i64.xor (i64.load offset=8 (local.get $p)) (i64.load offset=8 (local.get $s)))))

  (func $bswap64 (param $x i64) (result i64)
    (local.set $x (i64.or
      (i64.shl (i64.and (local.get $x) (i64.const 0x00FF00FF00FF00FF)) (i64.const 8))
      (i64.and (i64.shr_u (local.get $x) (i64.const 8)) (i64.const 0x00FF00FF00FF00FF))))
    (local.set $x (i64.or
      (i64.shl (i64.and (local.get $x) (i64.const 0x0000FFFF0000FFFF)) (i64.const 16))
      (i64.and (i64.shr_u (local.get $x) (i64.const 16)) (i64.const 0x0000FFFF0000FFFF))))
    (i64.rotl (local.get $x) (i64.const 32)))

  ;; The hash of $len (at most 240) bytes at the window.
  (func (export "short") (param $len i32) (result i64)
    (local $p i32) (local $n i64) (local $h i64) (local $lo i64) (local $hi i64) (local $i i32) (local $rounds i32) (local $end i64)
    (local.set $p (global.get $WINDOW))
    (local.set $n (i64.extend_i32_u (local.get $len)))
    (if (i32.eqz (local.get $len))
      (then (return (call $avalanche64 (i64.xor (i64.load offset=56 (i32.const 0)) (i64.load offset=64 (i32.const 0)))))))
    (if (i32.lt_u (local.get $len) (i32.const 4))
      (then
        (return (call $avalanche64 (i64.xor
          (i64.extend_i32_u (i32.or (i32.or
            (i32.shl (i32.load8_u (local.get $p)) (i32.const 16))
            (i32.shl (i32.load8_u (i32.add (local.get $p) (i32.shr_u (local.get $len) (i32.const 1)))) (i32.const 24)))
            (i32.or (i32.load8_u (i32.add (local.get $p) (i32.sub (local.get $len) (i32.const 1))))
                    (i32.shl (local.get $len) (i32.const 8)))))
          (i64.extend_i32_u (i32.xor (i32.load (i32.const 0)) (i32.load offset=4 (i32.const 0)))))))))
    (if (i32.le_u (local.get $len) (i32.const 8))
      (then
        (local.set $h (i64.xor
          (i64.add (i64.load32_u (i32.add (local.get $p) (i32.sub (local.get $len) (i32.const 4))))
                   (i64.shl (i64.load32_u (local.get $p)) (i64.const 32)))
          (i64.xor (i64.load offset=8 (i32.const 0)) (i64.load offset=16 (i32.const 0)))))
        (local.set $h (i64.xor (local.get $h)
          (i64.xor (i64.rotl (local.get $h) (i64.const 49)) (i64.rotl (local.get $h) (i64.const 24)))))
        (local.set $h (i64.mul (local.get $h) (i64.const 0x9FB21C651E98DF25)))
        (local.set $h (i64.xor (local.get $h) (i64.add (i64.shr_u (local.get $h) (i64.const 35)) (local.get $n))))
        (local.set $h (i64.mul (local.get $h) (i64.const 0x9FB21C651E98DF25)))
        (return (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 28))))))
    (if (i32.le_u (local.get $len) (i32.const 16))
      (then
        (local.set $lo (i64.xor (i64.load (local.get $p))
          (i64.xor (i64.load offset=24 (i32.const 0)) (i64.load offset=32 (i32.const 0)))))
        (local.set $hi (i64.xor (i64.load (i32.add (local.get $p) (i32.sub (local.get $len) (i32.const 8))))
          (i64.xor (i64.load offset=40 (i32.const 0)) (i64.load offset=48 (i32.const 0)))))
        (return (call $avalanche (i64.add (i64.add (local.get $n) (call $bswap64 (local.get $lo)))
          (i64.add (local.get $hi) (call $fold (local.get $lo) (local.get $hi))))))))
    (local.set $h (i64.mul (local.get $n) (i64.const 0x9E3779B185EBCA87)))
    (if (i32.le_u (local.get $len) (i32.const 128))
      (then
        (if (i32.gt_u (local.get $len) (i32.const 32))
          (then
            (if (i32.gt_u (local.get $len) (i32.const 64))
              (then
                (if (i32.gt_u (local.get $len) (i32.const 96))
                  (then
                    (local.set $h (i64.add (local.get $h) (call $mix16 (i32.add (local.get $p) (i32.const 48)) (i32.const 96))))
                    (local.set $h (i64.add (local.get $h) (call $mix16 (i32.sub (i32.add (local.get $p) (local.get $len)) (i32.const 64)) (i32.const 112))))))
                (local.set $h (i64.add (local.get $h) (call $mix16 (i32.add (local.get $p) (i32.const 32)) (i32.const 64))))
                (local.set $h (i64.add (local.get $h) (call $mix16 (i32.sub (i32.add (local.get $p) (local.get $len)) (i32.const 48)) (i32.const 80))))))
            (local.set $h (i64.add (local.get $h) (call $mix16 (i32.add (local.get $p) (i32.const 16)) (i32.const 32))))
            (local.set $h (i64.add (local.get $h) (call $mix16 (i32.sub (i32.add (local.get $p) (local.get $len)) (i32.const 32)) (i32.const 48))))))
        (local.set $h (i64.add (local.get $h) (call $mix16 (local.get $p) (i32.const 0))))
        (local.set $h (i64.add (local.get $h) (call $mix16 (i32.sub (i32.add (local.get $p) (local.get $len)) (i32.const 16)) (i32.const 16))))
        (return (call $avalanche (local.get $h)))))
    ;; 129 to 240 bytes
    (loop $first
      (local.set $h (i64.add (local.get $h) (call $mix16 (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 4))) (i32.shl (local.get $i) (i32.const 4)))))
      (br_if $first (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 8))))
    (local.set $end (call $mix16 (i32.sub (i32.add (local.get $p) (local.get $len)) (i32.const 16)) (i32.const 119)))
    (local.set $h (call $avalanche (local.get $h)))
    (local.set $rounds (i32.shr_u (local.get $len) (i32.const 4)))
    (block $done
      (loop $rest
        (br_if $done (i32.ge_u (local.get $i) (local.get $rounds)))
        (local.set $end (i64.add (local.get $end) (call $mix16 (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 4)))
          (i32.add (i32.shl (i32.sub (local.get $i) (i32.const 8)) (i32.const 4)) (i32.const 3)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rest)))
    (call $avalanche (i64.add (local.get $h) (local.get $end))))

  ;; Sets the accumulators for a long input.
  (func (export "start")
    (i64.store offset=256 (i32.const 0) (i64.const 0xC2B2AE3D))
    (i64.store offset=264 (i32.const 0) (i64.const 0x9E3779B185EBCA87))
    (i64.store offset=272 (i32.const 0) (i64.const 0xC2B2AE3D27D4EB4F))
    (i64.store offset=280 (i32.const 0) (i64.const 0x165667B19E3779F9))
    (i64.store offset=288 (i32.const 0) (i64.const 0x85EBCA77C2B2AE63))
    (i64.store offset=296 (i32.const 0) (i64.const 0x85EBCA77))
    (i64.store offset=304 (i32.const 0) (i64.const 0x27D4EB2F165667C5))
    (i64.store offset=312 (i32.const 0) (i64.const 0x9E3779B1)))

;; @simd-begin
  ;; $count 64-byte stripes at $p into the accumulators, the secret read from $s on, 8 bytes further each stripe.
  (func $accumulate (param $p i32) (param $s i32) (param $count i32)
    (local $d v128) (local $e v128) (local $k v128) (local $l v128) (local $lo v128) (local $hi v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (if (i32.eqz (local.get $count)) (then (return)))
    (local.set $a0 (v128.load offset=256 (i32.const 0)))
    (local.set $a1 (v128.load offset=272 (i32.const 0)))
    (local.set $a2 (v128.load offset=288 (i32.const 0)))
    (local.set $a3 (v128.load offset=304 (i32.const 0)))
    (loop $stripes
      ;; Two accumulators at a time: one shuffle gathers the low halves of both keys' 64-bit lanes and
      ;; one the high halves, and extmul_low and extmul_high multiply them (V8 spreads each operand's
      ;; lanes for pmuludq itself), where one key alone takes two shuffles and a multiply.
      (local.set $d (v128.load offset=0 (local.get $p)))
      (local.set $e (v128.load offset=16 (local.get $p)))
      (local.set $k (v128.xor (local.get $d) (v128.load offset=0 (local.get $s))))
      (local.set $l (v128.xor (local.get $e) (v128.load offset=16 (local.get $s))))
      (local.set $lo (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $k) (local.get $l)))
      (local.set $hi (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $k) (local.get $l)))
      (local.set $a0 (i64x2.add (local.get $a0) (i64x2.add
        (i64x2.extmul_low_i32x4_u (local.get $lo) (local.get $hi))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))
      (local.set $a1 (i64x2.add (local.get $a1) (i64x2.add
        (i64x2.extmul_high_i32x4_u (local.get $lo) (local.get $hi))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $e) (local.get $e)))))
      (local.set $d (v128.load offset=32 (local.get $p)))
      (local.set $e (v128.load offset=48 (local.get $p)))
      (local.set $k (v128.xor (local.get $d) (v128.load offset=32 (local.get $s))))
      (local.set $l (v128.xor (local.get $e) (v128.load offset=48 (local.get $s))))
      (local.set $lo (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $k) (local.get $l)))
      (local.set $hi (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $k) (local.get $l)))
      (local.set $a2 (i64x2.add (local.get $a2) (i64x2.add
        (i64x2.extmul_low_i32x4_u (local.get $lo) (local.get $hi))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))
      (local.set $a3 (i64x2.add (local.get $a3) (i64x2.add
        (i64x2.extmul_high_i32x4_u (local.get $lo) (local.get $hi))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $e) (local.get $e)))))
      (local.set $p (i32.add (local.get $p) (i32.const 64)))
      (local.set $s (i32.add (local.get $s) (i32.const 8)))
      (br_if $stripes (local.tee $count (i32.sub (local.get $count) (i32.const 1)))))
    (v128.store offset=256 (i32.const 0) (local.get $a0))
    (v128.store offset=272 (i32.const 0) (local.get $a1))
    (v128.store offset=288 (i32.const 0) (local.get $a2))
    (v128.store offset=304 (i32.const 0) (local.get $a3)))

  (func $scramble
    (local $a v128)
    (local.set $a (v128.load offset=256 (i32.const 0)))
    (v128.store offset=256 (i32.const 0) (i64x2.mul
      (v128.xor (v128.xor (local.get $a) (i64x2.shr_u (local.get $a) (i32.const 47))) (v128.load offset=128 (i32.const 0)))
      (i64x2.splat (i64.const 0x9E3779B1))))
    (local.set $a (v128.load offset=272 (i32.const 0)))
    (v128.store offset=272 (i32.const 0) (i64x2.mul
      (v128.xor (v128.xor (local.get $a) (i64x2.shr_u (local.get $a) (i32.const 47))) (v128.load offset=144 (i32.const 0)))
      (i64x2.splat (i64.const 0x9E3779B1))))
    (local.set $a (v128.load offset=288 (i32.const 0)))
    (v128.store offset=288 (i32.const 0) (i64x2.mul
      (v128.xor (v128.xor (local.get $a) (i64x2.shr_u (local.get $a) (i32.const 47))) (v128.load offset=160 (i32.const 0)))
      (i64x2.splat (i64.const 0x9E3779B1))))
    (local.set $a (v128.load offset=304 (i32.const 0)))
    (v128.store offset=304 (i32.const 0) (i64x2.mul
      (v128.xor (v128.xor (local.get $a) (i64x2.shr_u (local.get $a) (i32.const 47))) (v128.load offset=176 (i32.const 0)))
      (i64x2.splat (i64.const 0x9E3779B1)))))
;; @simd-end
;; @scalar-begin
  ;; $count 64-byte stripes at $p into the accumulators, the secret read from $s on, 8 bytes further each stripe.
  (func $accumulate (param $p i32) (param $s i32) (param $count i32)
    (local $d i64) (local $k i64) (local $a0 i64) (local $a1 i64) (local $a2 i64) (local $a3 i64)
    (local $a4 i64) (local $a5 i64) (local $a6 i64) (local $a7 i64)
    (if (i32.eqz (local.get $count)) (then (return)))
    (local.set $a0 (i64.load offset=256 (i32.const 0)))
    (local.set $a1 (i64.load offset=264 (i32.const 0)))
    (local.set $a2 (i64.load offset=272 (i32.const 0)))
    (local.set $a3 (i64.load offset=280 (i32.const 0)))
    (local.set $a4 (i64.load offset=288 (i32.const 0)))
    (local.set $a5 (i64.load offset=296 (i32.const 0)))
    (local.set $a6 (i64.load offset=304 (i32.const 0)))
    (local.set $a7 (i64.load offset=312 (i32.const 0)))
    (loop $stripes
        (local.set $d (i64.load offset=0 (local.get $p)))
        (local.set $k (i64.xor (local.get $d) (i64.load offset=0 (local.get $s))))
        (local.set $a1 (i64.add (local.get $a1) (local.get $d)))
        (local.set $a0 (i64.add (local.get $a0) (i64.mul (i64.and (local.get $k) (i64.const 0xFFFFFFFF)) (i64.shr_u (local.get $k) (i64.const 32)))))
        (local.set $d (i64.load offset=8 (local.get $p)))
        (local.set $k (i64.xor (local.get $d) (i64.load offset=8 (local.get $s))))
        (local.set $a0 (i64.add (local.get $a0) (local.get $d)))
        (local.set $a1 (i64.add (local.get $a1) (i64.mul (i64.and (local.get $k) (i64.const 0xFFFFFFFF)) (i64.shr_u (local.get $k) (i64.const 32)))))
        (local.set $d (i64.load offset=16 (local.get $p)))
        (local.set $k (i64.xor (local.get $d) (i64.load offset=16 (local.get $s))))
        (local.set $a3 (i64.add (local.get $a3) (local.get $d)))
        (local.set $a2 (i64.add (local.get $a2) (i64.mul (i64.and (local.get $k) (i64.const 0xFFFFFFFF)) (i64.shr_u (local.get $k) (i64.const 32)))))
        (local.set $d (i64.load offset=24 (local.get $p)))
        (local.set $k (i64.xor (local.get $d) (i64.load offset=24 (local.get $s))))
        (local.set $a2 (i64.add (local.get $a2) (local.get $d)))
        (local.set $a3 (i64.add (local.get $a3) (i64.mul (i64.and (local.get $k) (i64.const 0xFFFFFFFF)) (i64.shr_u (local.get $k) (i64.const 32)))))
        (local.set $d (i64.load offset=32 (local.get $p)))
        (local.set $k (i64.xor (local.get $d) (i64.load offset=32 (local.get $s))))
        (local.set $a5 (i64.add (local.get $a5) (local.get $d)))
        (local.set $a4 (i64.add (local.get $a4) (i64.mul (i64.and (local.get $k) (i64.const 0xFFFFFFFF)) (i64.shr_u (local.get $k) (i64.const 32)))))
        (local.set $d (i64.load offset=40 (local.get $p)))
        (local.set $k (i64.xor (local.get $d) (i64.load offset=40 (local.get $s))))
        (local.set $a4 (i64.add (local.get $a4) (local.get $d)))
        (local.set $a5 (i64.add (local.get $a5) (i64.mul (i64.and (local.get $k) (i64.const 0xFFFFFFFF)) (i64.shr_u (local.get $k) (i64.const 32)))))
        (local.set $d (i64.load offset=48 (local.get $p)))
        (local.set $k (i64.xor (local.get $d) (i64.load offset=48 (local.get $s))))
        (local.set $a7 (i64.add (local.get $a7) (local.get $d)))
        (local.set $a6 (i64.add (local.get $a6) (i64.mul (i64.and (local.get $k) (i64.const 0xFFFFFFFF)) (i64.shr_u (local.get $k) (i64.const 32)))))
        (local.set $d (i64.load offset=56 (local.get $p)))
        (local.set $k (i64.xor (local.get $d) (i64.load offset=56 (local.get $s))))
        (local.set $a6 (i64.add (local.get $a6) (local.get $d)))
        (local.set $a7 (i64.add (local.get $a7) (i64.mul (i64.and (local.get $k) (i64.const 0xFFFFFFFF)) (i64.shr_u (local.get $k) (i64.const 32)))))
      (local.set $p (i32.add (local.get $p) (i32.const 64)))
      (local.set $s (i32.add (local.get $s) (i32.const 8)))
      (br_if $stripes (local.tee $count (i32.sub (local.get $count) (i32.const 1)))))
    (i64.store offset=256 (i32.const 0) (local.get $a0))
    (i64.store offset=264 (i32.const 0) (local.get $a1))
    (i64.store offset=272 (i32.const 0) (local.get $a2))
    (i64.store offset=280 (i32.const 0) (local.get $a3))
    (i64.store offset=288 (i32.const 0) (local.get $a4))
    (i64.store offset=296 (i32.const 0) (local.get $a5))
    (i64.store offset=304 (i32.const 0) (local.get $a6))
    (i64.store offset=312 (i32.const 0) (local.get $a7)))

  (func $scramble
    (local $a i64)
    (local.set $a (i64.load offset=256 (i32.const 0)))
    (i64.store offset=256 (i32.const 0) (i64.mul
      (i64.xor (i64.xor (local.get $a) (i64.shr_u (local.get $a) (i64.const 47))) (i64.load offset=128 (i32.const 0)))
      (i64.const 0x9E3779B1)))
    (local.set $a (i64.load offset=264 (i32.const 0)))
    (i64.store offset=264 (i32.const 0) (i64.mul
      (i64.xor (i64.xor (local.get $a) (i64.shr_u (local.get $a) (i64.const 47))) (i64.load offset=136 (i32.const 0)))
      (i64.const 0x9E3779B1)))
    (local.set $a (i64.load offset=272 (i32.const 0)))
    (i64.store offset=272 (i32.const 0) (i64.mul
      (i64.xor (i64.xor (local.get $a) (i64.shr_u (local.get $a) (i64.const 47))) (i64.load offset=144 (i32.const 0)))
      (i64.const 0x9E3779B1)))
    (local.set $a (i64.load offset=280 (i32.const 0)))
    (i64.store offset=280 (i32.const 0) (i64.mul
      (i64.xor (i64.xor (local.get $a) (i64.shr_u (local.get $a) (i64.const 47))) (i64.load offset=152 (i32.const 0)))
      (i64.const 0x9E3779B1)))
    (local.set $a (i64.load offset=288 (i32.const 0)))
    (i64.store offset=288 (i32.const 0) (i64.mul
      (i64.xor (i64.xor (local.get $a) (i64.shr_u (local.get $a) (i64.const 47))) (i64.load offset=160 (i32.const 0)))
      (i64.const 0x9E3779B1)))
    (local.set $a (i64.load offset=296 (i32.const 0)))
    (i64.store offset=296 (i32.const 0) (i64.mul
      (i64.xor (i64.xor (local.get $a) (i64.shr_u (local.get $a) (i64.const 47))) (i64.load offset=168 (i32.const 0)))
      (i64.const 0x9E3779B1)))
    (local.set $a (i64.load offset=304 (i32.const 0)))
    (i64.store offset=304 (i32.const 0) (i64.mul
      (i64.xor (i64.xor (local.get $a) (i64.shr_u (local.get $a) (i64.const 47))) (i64.load offset=176 (i32.const 0)))
      (i64.const 0x9E3779B1)))
    (local.set $a (i64.load offset=312 (i32.const 0)))
    (i64.store offset=312 (i32.const 0) (i64.mul
      (i64.xor (i64.xor (local.get $a) (i64.shr_u (local.get $a) (i64.const 47))) (i64.load offset=184 (i32.const 0)))
      (i64.const 0x9E3779B1))))
;; @scalar-end

  ;; $count whole 1024-byte blocks at the window.
  (func (export "blocks") (param $count i32)
    (local $p i32)
    (local.set $p (global.get $WINDOW))
    (loop $blocks
      (call $accumulate (local.get $p) (i32.const 0) (i32.const 16))
      (call $scramble)
      (local.set $p (i32.add (local.get $p) (i32.const 1024)))
      (br_if $blocks (local.tee $count (i32.sub (local.get $count) (i32.const 1))))))

  ;; The hash of a long input of $len bytes whose last $rest bytes (1 to 1024, after its whole
  ;; blocks) are at the window, with the 64 bytes before them just below it.
  (func (export "finish") (param $rest i32) (param $len i32) (result i64)
    (local $h i64) (local $i i32)
    (call $accumulate (global.get $WINDOW) (i32.const 0) (i32.shr_u (i32.sub (local.get $rest) (i32.const 1)) (i32.const 6)))
    (call $accumulate (i32.sub (i32.add (global.get $WINDOW) (local.get $rest)) (i32.const 64)) (i32.const 121) (i32.const 1))
    (local.set $h (i64.mul (i64.extend_i32_u (local.get $len)) (i64.const 0x9E3779B185EBCA87)))
    (loop $merge
      (local.set $h (i64.add (local.get $h) (call $fold
        (i64.xor (i64.load offset=256 (local.get $i)) (i64.load offset=11 (local.get $i)))
        (i64.xor (i64.load offset=264 (local.get $i)) (i64.load offset=19 (local.get $i))))))
      (br_if $merge (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (i32.const 64))))
    (call $avalanche (local.get $h)))
)
