;; Imports its memory from the host (env.memory), as emscripten-style modules do.
(module
  (import "env" "memory" (memory 1))
  (func (export "store") (param $address i32) (param $value i32)
    (i32.store (local.get $address) (local.get $value)))
  (func (export "load") (param $address i32) (result i32)
    (i32.load (local.get $address)))
  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages)))
  (func (export "pages") (result i32) (memory.size)))
