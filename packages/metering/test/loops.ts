/**
 * A function `name(n)` whose innermost loop `$next` calls nothing: it has a
 * result, a `br_if` out of it whose taken edge gives back, and a `br_table` to
 * a block in it, to itself and to a block outside it. `step` runs first in
 * each of its iterations.
 */
export function walkFunction(name: string, step = ''): string {
  return `(func (export "${name}") (param $n i32) (result i32) (local $i i32) (local $sum i32)
    (block $done
      (loop $outer
        (block $odd
          (local.set $sum (i32.add (local.get $sum)
            (loop $next (result i32)
              ${step}
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
              (block $skip (br_table $skip $next $odd (i32.rem_u (local.get $i) (i32.const 3))))
              (local.get $i))))
          (br $outer))
        (local.set $sum (i32.xor (local.get $sum) (i32.const 7)))
        (br_if $outer (i32.lt_u (local.get $i) (local.get $n)))))
    (local.get $sum))`;
}
