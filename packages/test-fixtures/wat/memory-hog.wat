;; Defines its own memory with no maximum and tries to take as much as it can.
(module
  (memory (export "memory") 1)
  ;; Grows by $pages and returns the old size in pages, or -1 if refused.
  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages)))
  (func (export "pages") (result i32) (memory.size))
  ;; Grows one page at a time until refused; returns the final size in pages.
  (func (export "hog") (result i32)
    (block $refused
      (loop $more
        (br_if $refused (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $more)))
    (memory.size))
  ;; Fills the whole memory with one byte value (memory.fill) and returns the byte count.
  (func (export "fill") (param $value i32) (result i32)
    (memory.fill (i32.const 0) (local.get $value) (i32.mul (memory.size) (i32.const 65536)))
    (i32.mul (memory.size) (i32.const 65536)))
  (func (export "load") (param $address i32) (result i32)
    (i32.load8_u (local.get $address))))
