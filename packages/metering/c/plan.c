/*
 * Where a scanned body pays (src/scan.ts `planCharges` documents it): the charge at the start of
 * each block, and the exits that give back what was paid for code they skip or that may leave the
 * function, from the lists the last scan left.
 */
#include "kernel.h"

extern u32 lengths[LIST_COUNT];

/* What construct `c` (none below 0) paid ahead for its join, which an exit from it gives back. */
static f64 paid_join(f64 c, const List *total) {
  if (c < 0) return 0;
  f64 join = at(&lists[C_JOIN], (u32)c);
  return at(&lists[C_HOISTABLE], (u32)c) == 1 && join >= 0 ? at(total, (u32)join) : 0;
}

/* The joins paid ahead: what each block pays, the joins it pays for included (from the last block). */
static void pay_ahead(List *total) {
  List *opener = &lists[C_OPENER], *join = &lists[C_JOIN], *hoistable = &lists[C_HOISTABLE];
  List *elses = &lists[C_ELSES], *else_arm = &lists[ELSE_ARM];
  else_arm->length = 0;
  if (elses->length > 0)
    for (u32 c = 0; c < opener->length; c++) push(else_arm, -1);
  for (u32 i = 0; i + 1 < elses->length; i += 2) set(else_arm, (u32)at(elses, i), at(elses, i + 1));
  i32 k = (i32)opener->length - 1;
  for (i32 b = (i32)total->length - 1; b >= 0; b--) {
    for (; k >= 0 && at(opener, (u32)k) == b; k--) {
      f64 j = at(join, (u32)k);
      if (at(hoistable, (u32)k) == 1 && j >= 0) set(total, (u32)b, at(total, (u32)b) + at(total, (u32)j));
      /* One arm of an `if` with an `else` surely runs: what both pay, the block before pays. */
      f64 otherwise = (u32)k < else_arm->length ? at(else_arm, (u32)k) : -1;
      if (otherwise >= 0) {
        f64 then_first = at(total, (u32)b + 1), else_first = at(total, (u32)otherwise);
        f64 both = then_first < else_first ? then_first : else_first;
        set(total, (u32)b, at(total, (u32)b) + both);
        set(total, (u32)b + 1, at(total, (u32)b + 1) - both);
        set(total, (u32)otherwise, at(total, (u32)otherwise) - both);
      }
    }
  }
}

/*
 * The exits that give back or leave, with what each gives back: what was paid for the join of each
 * construct it leaves (from its innermost outward, up to the one its walk stops at), and for the
 * block after it if it is a `br_if`. What the constructs paid is summed outward once per body
 * (`PAID_OUTWARD`: a construct's, and all those around it), so that each exit takes a difference.
 */
static void exits_of(const List *total) {
  List *parent = &lists[C_PARENT], *outward = &lists[PAID_OUTWARD];
  outward->length = 0;
  for (u32 c = 0; c < lists[C_OPENER].length; c++) {
    f64 around = at(parent, c);
    push(outward, paid_join(c, total) + (around >= 0 ? at(outward, (u32)around) : 0));
  }
  List *x_at = &lists[X_AT];
  for (u32 e = 0; e < x_at->length; e++) {
    f64 innermost = at(&lists[X_INNERMOST], e), stop = at(&lists[X_STOP], e);
    f64 left = (innermost >= 0 ? at(outward, (u32)innermost) : 0) - (stop >= 0 ? at(outward, (u32)stop) : 0);
    f64 refund = paid_join(at(&lists[X_ALSO], e), total) + left;
    f64 leaves = at(&lists[X_LEAVES], e);
    if (refund == 0 && leaves == 0) continue;
    push(&lists[P_EXIT_AT], at(x_at, e));
    push(&lists[P_REFUNDS], refund);
    push(&lists[P_EXIT_LABEL], at(&lists[X_LABEL], e));
    push(&lists[P_EXIT_END], at(&lists[X_END], e));
    push(&lists[P_EXIT_LEAVES], leaves);
  }
}

/*
 * Plans the charges of the last body scanned into CHARGES and the P_ lists. Without `hoist`, each
 * block pays its own cost and no exit gives anything back.
 */
EXPORT void plan_charges(u8 hoist) {
  List *total = &lists[CHARGES], *costs = &lists[BLOCK_COSTS];
  total->length = 0;
  for (u32 b = 0; b < costs->length; b++) push(total, costs->items[b]);
  for (u32 list = P_EXIT_AT; list <= P_EXIT_LEAVES; list++) lists[list].length = 0;
  if (hoist) {
    pay_ahead(total);
    exits_of(total);
    /* The refunds are reckoned: what each block charges is its total, 0 for the joins paid ahead. */
    List *join = &lists[C_JOIN], *hoistable = &lists[C_HOISTABLE];
    for (u32 c = 0; c < lists[C_OPENER].length; c++) {
      f64 j = at(join, c);
      if (at(hoistable, c) == 1 && j >= 0) set(total, (u32)j, 0);
    }
  }
  for (u32 list = CHARGES; list <= P_EXIT_LEAVES; list++) lengths[list] = lists[list].length;
}
