;; Calls host functions imported from env: numbers both ways, i64, and a string in memory.
(module
  (import "env" "host_add" (func $host_add (param i32 i32) (result i32)))
  (import "env" "host_log" (func $host_log (param i32 i32)))
  (import "env" "host_i64" (func $host_i64 (param i64) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from wasm")
  (global $after (mut i32) (i32.const 0))
  (func (export "call_add") (param $a i32) (param $b i32) (result i32)
    (call $host_add (local.get $a) (local.get $b)))
  ;; Two host calls in a row; the second must never run if the first fails.
  (func (export "call_twice") (param $a i32) (result i32)
    (drop (call $host_add (local.get $a) (local.get $a)))
    (global.set $after (i32.const 1))
    (call $host_add (local.get $a) (i32.const 1)))
  (func (export "ran_after_first_call") (result i32) (global.get $after))
  (func (export "call_log") (call $host_log (i32.const 16) (i32.const 15)))
  (func (export "call_i64") (param $x i64) (result i64)
    (call $host_i64 (local.get $x))))
