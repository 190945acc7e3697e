;; Pure arithmetic over every value type, and a multi-value return.
(module
  (func (export "add") (param $a i32) (param $b i32) (result i32)
    (i32.add (local.get $a) (local.get $b)))
  (func (export "add_i64") (param $a i64) (param $b i64) (result i64)
    (i64.add (local.get $a) (local.get $b)))
  (func (export "add_f32") (param $a f32) (param $b f32) (result f32)
    (f32.add (local.get $a) (local.get $b)))
  (func (export "add_f64") (param $a f64) (param $b f64) (result f64)
    (f64.add (local.get $a) (local.get $b)))
  (func (export "swap") (param $a i32) (param $b i64) (result i64 i32)
    (local.get $b) (local.get $a))
  (func (export "nothing")))
