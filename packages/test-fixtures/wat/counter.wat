;; State that lives in a mutable global the module never exports.
(module
  (global $count (mut i32) (i32.const 0))
  (func (export "increment") (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.get $count))
  (func (export "add") (param $n i32) (result i32)
    (global.set $count (i32.add (global.get $count) (local.get $n)))
    (global.get $count))
  (func (export "get") (result i32) (global.get $count))
  (func (export "reset") (global.set $count (i32.const 0))))
