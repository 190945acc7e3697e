/*
 * Metering's writer: one scanned body rewritten with its charges (src/instrument.ts `meterBody`
 * calls it). The body is copied through; charges, checks, refills and the give-backs of exits go
 * in where the plan (plan.c) says; calls, `memory.grow` and bulk operations are rewritten; hot
 * loops get their wrapping and, when small, a fast version; the other transforms' insertions
 * (`riders`) are spliced in as the body is copied, in the order core's `Splicer` writes them.
 */
#include "kernel.h"

/* ---- Output. ---- */

/* Bytes written from `base`: `size` of at most `capacity`. */
typedef struct {
  u8 *base;
  u32 size;
  u32 capacity;
} Out;

enum { WRITTEN = 0, OUT_OF_ROOM = 1, TOO_LARGE = 2 };
/* After a write: [0] WRITTEN, OUT_OF_ROOM (more room is needed: [1] is at least how much) or TOO_LARGE (a number does not fit its encoding); [1] the bytes written. */
EXPORT u32 written[2];
static u32 failure;

static inline u8 *room(Out *w, u32 count) {
  if (w->size + count > w->capacity) {
    failure |= OUT_OF_ROOM;
    if (w->size + count > written[1]) written[1] = w->size + count;
    return 0;
  }
  u8 *at = w->base + w->size;
  w->size += count;
  return at;
}

static inline void u8_(Out *w, u8 byte) {
  u8 *at = room(w, 1);
  if (at) *at = byte;
}

static void leb(Out *w, u64 value) {
  do {
    u8 byte = value & 0x7f;
    value >>= 7;
    u8_(w, value ? byte | 0x80 : byte);
  } while (value);
}

static void u32_(Out *w, u64 value) {
  if (value > 0xffffffffu) {
    failure |= TOO_LARGE;
    return;
  }
  leb(w, value);
}

/* A signed LEB128 of an integral number (costs, and refunds as negative costs). */
static void s64_(Out *w, f64 value) {
  if (!(value >= -9223372036854775808.0 && value < 9223372036854775808.0)) {
    failure |= TOO_LARGE;
    return;
  }
  i64 rest = (i64)value;
  for (;;) {
    u8 byte = rest & 0x7f;
    rest >>= 7;
    u8 done = (rest == 0 && !(byte & 0x40)) || (rest == -1 && (byte & 0x40));
    u8_(w, done ? byte : byte | 0x80);
    if (done) return;
  }
}

static inline void copy(Out *w, const u8 *from, u32 count) {
  u8 *at = room(w, count);
  if (at) __builtin_memmove(at, from, count);
}

/* ---- The other transforms' insertions, spliced into the copy (core's `Splicer`). ---- */

/* The insertions of one rider's list: `count` of (offset in the body, first byte, end) triples. */
typedef struct {
  const u32 *entries;
  u32 count;
  u32 next;
} Cursor;

enum { MAX_LISTS = 16 };
static Cursor trailing[MAX_LISTS], leading[MAX_LISTS];
static u32 trailing_count, leading_count;
/* Where the next trailing and leading insertions go (UINT32_MAX when none is left). */
static u32 trailing_at, leading_at;
static const u8 *code;
static u32 copied;

static inline u32 cursor_at(const Cursor *c) { return c->next < c->count ? c->entries[3 * c->next] : UINT32_MAX; }

static u32 earliest(const Cursor *cursors, u32 count) {
  u32 first = UINT32_MAX;
  for (u32 c = 0; c < count; c++) {
    u32 at_c = cursor_at(&cursors[c]);
    if (at_c < first) first = at_c;
  }
  return first;
}

/* The first of `cursors` whose next insertion is at or before `limit` (the earliest; the first list on a tie). */
static Cursor *next_of(Cursor *cursors, u32 count, u64 limit) {
  Cursor *chosen = 0;
  u32 chosen_at = UINT32_MAX;
  for (u32 c = 0; c < count; c++) {
    u32 at_c = cursor_at(&cursors[c]);
    if (at_c <= limit && (!chosen || at_c < chosen_at)) {
      chosen = &cursors[c];
      chosen_at = at_c;
    }
  }
  return chosen;
}

static void emit(Out *w, Cursor *cursor) {
  const u32 *entry = &cursor->entries[3 * cursor->next];
  copy(w, (const u8 *)(uintptr_t)entry[1], entry[2] - entry[1]);
  cursor->next++;
  trailing_at = earliest(trailing, trailing_count);
  leading_at = earliest(leading, leading_count);
}

static void copy_original(Out *w, u32 offset) {
  if (offset > copied) copy(w, code + copied, offset - copied);
  if (offset > copied) copied = offset;
}

/* Copies the original up to `offset`, with the insertions before it, and the trailing ones at it. */
static void copy_to(Out *w, u32 offset) {
  while (trailing_at <= offset || leading_at < offset) {
    Cursor *t = next_of(trailing, trailing_count, offset);
    Cursor *l = offset > 0 ? next_of(leading, leading_count, (u64)offset - 1) : 0;
    /* At the same offset, trailing code comes first: it belongs to the instruction before. */
    Cursor *cursor = !t ? l : !l || cursor_at(t) <= cursor_at(l) ? t : l;
    if (!cursor) break;
    copy_original(w, cursor_at(cursor));
    emit(w, cursor);
  }
  copy_original(w, offset);
}

/* Writes the leading insertions at `offset` (where the writer replaces the instruction). */
static void lead(Out *w, u32 offset) {
  copy_to(w, offset);
  for (Cursor *c = next_of(leading, leading_count, offset); c; c = next_of(leading, leading_count, offset)) emit(w, c);
}

/* Moves past original bytes the writer replaced, up to `offset`. */
static inline void skip_to(u32 offset) { copied = offset; }

/*
 * Starts the splice of `body` with the riders at `riders` (see `write_body`), their entry code
 * written at once.
 */
static void start_splice(Out *w, const u8 *body, const u32 *riders) {
  code = body;
  copied = 0;
  trailing_count = leading_count = 0;
  copy(w, (const u8 *)(uintptr_t)riders[0], riders[1] - riders[0]);
  u32 count = riders[2];
  for (u32 i = 0; i < count; i++) {
    const u32 *list = &riders[3 + 3 * i];
    Cursor *cursor;
    if (list[0] == 0) {
      if (trailing_count == MAX_LISTS) continue;
      cursor = &trailing[trailing_count++];
    } else {
      if (leading_count == MAX_LISTS) continue;
      cursor = &leading[leading_count++];
    }
    cursor->count = list[1];
    cursor->entries = (const u32 *)(uintptr_t)list[2];
    cursor->next = 0;
  }
  trailing_at = earliest(trailing, trailing_count);
  leading_at = earliest(leading, leading_count);
}

/*
 * ---- Charges. ----
 * The balance lives in an i64 local kept equal to the counter `G`: a charge reads the local and
 * still stores `G` (`local.get $balance; cost; i64.sub; local.tee $balance; global.set G`), so that
 * `G` is exact at every instruction (a trap sees the right figure) without a load of `G` on the
 * loop-carried path. After anything that may change `G` behind the function's back (a call, the
 * fuel and grow helpers, an exception caught), `reload` copies `G` into the balance again. When
 * the body is `lazy`, `G` may lag behind the balance between the places where it is read: it is
 * then stored at checks, before calls and where the function may be left, not at every charge.
 */

static u32 gas_global, fuel_function, balance;
/* Whether the counter may lag behind the balance between the points where it is read. */
static u8 lazy;

/* `global.get G; local.set $balance`. */
static void reload(Out *w) {
  u8_(w, 0x23);
  u32_(w, gas_global);
  u8_(w, 0x21);
  u32_(w, balance);
}

/* `G = $balance`. */
static void store_now(Out *w) {
  u8_(w, 0x20);
  u32_(w, balance);
  u8_(w, 0x24);
  u32_(w, gas_global);
}

/* `G = $balance`, when `G` may lag behind. */
static void store(Out *w) {
  if (lazy) store_now(w);
}

/* `G = $balance` if `store_first`; `call $fuel`; reload: asks for gas. */
static void refill(Out *w, u8 store_first) {
  if (store_first) store_now(w);
  u8_(w, 0x10);
  u32_(w, fuel_function);
  reload(w);
}

static void branch_if_negative(Out *w, u8 store_first, f64 leave_to) {
  u8_(w, 0x20);
  u32_(w, balance);
  u8_(w, 0x42);
  u8_(w, 0x00);
  u8_(w, 0x53);
  if (leave_to >= 0) {
    u8_(w, 0x0d);
    u32_(w, (u64)leave_to);
    return;
  }
  u8_(w, 0x04);
  u8_(w, 0x40);
  refill(w, store_first);
  u8_(w, 0x0b);
}

/* `i64.sub`, then `G = $balance` if `store`, then with `check` a branch or a refill if negative. */
static void subtract(Out *w, u8 check, u8 store, f64 leave_to) {
  u8_(w, 0x7d);
  u8_(w, store ? 0x22 : 0x21);
  u32_(w, balance);
  if (store) {
    u8_(w, 0x24);
    u32_(w, gas_global);
  }
  if (check) branch_if_negative(w, !store, leave_to);
}

/* `$balance -= cost` (a negative cost gives gas back), stored and checked as `subtract` says. */
static void charge(Out *w, f64 cost, u8 check, u8 store, f64 leave_to) {
  u8_(w, 0x20);
  u32_(w, balance);
  u8_(w, 0x42);
  s64_(w, cost);
  subtract(w, check, store, leave_to);
}

/* A check with no charge; `G` stored first when `store`, else only before asking for gas. */
static void check_only(Out *w, u8 store, f64 leave_to) {
  if (store) store_now(w);
  branch_if_negative(w, !store, leave_to);
}

/* `br_if label` when `$balance < amount`: with no charge, whether `amount` is affordable. */
static void branch_if_below(Out *w, f64 amount, u32 label) {
  u8_(w, 0x20);
  u32_(w, balance);
  u8_(w, 0x42);
  s64_(w, amount);
  u8_(w, 0x53);
  u8_(w, 0x0d);
  u32_(w, label);
}

/* Charges `units * unit_cost` where `units` is the i32 in local `scratch` (`/ 64` rounded up when `per64`). */
static void dynamic_charge(Out *w, u32 scratch, f64 unit_cost, u8 per64) {
  u8_(w, 0x20);
  u32_(w, balance);
  u8_(w, 0x20);
  u32_(w, scratch);
  u8_(w, 0xad); /* i64.extend_i32_u */
  if (per64) {
    static const u8 round_up[] = {0x42, 63, 0x7c, 0x42, 6, 0x88}; /* + 63, >> 6 */
    copy(w, round_up, sizeof round_up);
  }
  if (unit_cost != 1) {
    u8_(w, 0x42);
    s64_(w, unit_cost);
    u8_(w, 0x7e);
  }
  subtract(w, 1, 1, -1);
}

/* ---- Labels of code that moves into new constructs: the hot loops' wrapping, and the fast version's copies. ---- */

/*
 * Writes the branch at `p` in `from` (`br`, `br_if` or `br_table`) with every label from `outside`
 * on moved by `shift`; returns where it ends.
 */
static u32 relabel(Out *w, const u8 *from, u32 p, u64 outside, u32 shift) {
  u8 opcode = from[p++];
  u8_(w, opcode);
  u64 labels = 1;
  if (opcode == BR_TABLE) {
    labels = read_leb(from, p) + 1;
    u32_(w, labels - 1);
    p = leb_end(from, p);
  }
  for (; labels > 0; labels--, p = leb_end(from, p)) {
    u64 label = read_leb(from, p);
    u32_(w, label >= outside ? label + shift : label);
  }
  return p;
}

/*
 * ---- Hot loops. ----
 * A hot loop (src/scan.ts `HotLoops`) asks for gas only at its header: its other blocks subtract
 * without checking. When its body is small (at most UNROLL_MAX_LOOP bytes of the original code, so
 * that the decision does not depend on what other transforms insert), a fast version goes before
 * it: a loop whose header checks that UNROLL_COPIES iterations at their dearest are affordable,
 * then runs that many copies of the body one after another, each charging what the original
 * header charges (without the check). When they are not affordable, control falls into the
 * original loop, which checks every iteration and asks for gas as before:
 *
 *   block $slow
 *     loop $fast
 *       br_if $slow (balance < copies × iteration cost)
 *       block  body (charge; branches to the loop end the block, labels outside move by 2)  br $exit  end
 *       … (copies in all)
 *       br $fast
 *     end
 *   end
 *   loop  (the original, checked)  end
 *
 * Every iteration therefore charges, and stores the counter, exactly as the original does, and the
 * fast path runs only where no check of the original could have failed: the counter, what a trap
 * reports, where gas runs out and when the host is asked for more are all unchanged.
 */

enum { UNROLL_COPIES = 2, UNROLL_MAX_LOOP = 96, ADDED_LABELS = 2, EXIT_LABEL = 5, HOT_LOOP_WRAPPERS = 3 };

/* The open hot loop, as written: where it starts, its header's charge, and what an iteration costs at most. */
static u32 hot_start, charge_start, charge_end;
static f64 header_cost, iteration_cost;
static u8 header_store;

/*
 * Copies `from[start, end)`, met at nesting `depth` within the loop body, into `w` with labels past
 * the loop moved by ADDED_LABELS. Returns the nesting after it, or -1 for what a copy cannot hold
 * (exception handling, or an `end` that closes the loop itself).
 */
static i32 copy_shifted(Out *w, const u8 *from, u32 start, u32 end, i32 depth) {
  i32 nesting = depth;
  u32 p = start, run = start;
  u8 unknown = 0;
  while (p < end) {
    u8 opcode = from[p];
    if (opcode == TRY || opcode == CATCH || opcode == CATCH_ALL || opcode == RETHROW || opcode == DELEGATE) return -1;
    if (opcode == BR || opcode == BR_IF || opcode == BR_TABLE) {
      copy(w, from + run, p - run);
      p = relabel(w, from, p, (u64)nesting + 1, ADDED_LABELS);
      run = p;
      continue;
    }
    if (opcode == BLOCK || opcode == LOOP || opcode == IF) nesting++;
    else if (opcode == END && --nesting < 0) return -1;
    p = instruction_end(from, p, end, &unknown);
    if (unknown) return -1;
  }
  copy(w, from + run, p - run);
  return nesting;
}

/*
 * Puts the fast version before the hot loop that ends with the last byte written (its `loop` at
 * `hot_start`), when its original was `source_size` bytes and its iterations charge something.
 */
static void unroll_hot_loop(Out *w, u32 source_size) {
  f64 budget = iteration_cost * UNROLL_COPIES;
  if (source_size > UNROLL_MAX_LOOP || iteration_cost <= 0 || budget > 9007199254740991.0) return;
  const u8 *out = w->base;
  u32 end = w->size, last = end - 1;
  if (out[hot_start] != LOOP || out[last] != END) return;
  u8 unknown = 0;
  u32 body_start = instruction_end(out, hot_start, end, &unknown);
  if (unknown || charge_start < body_start || charge_end > last) return;
  /* The body's copy after what is written, then the fast version after it, then the two turned around. */
  Out body = {w->base, end, w->capacity};
  if (copy_shifted(&body, out, body_start, charge_start, 0) != 0) return;
  /* The header's charge, stored as the header stores it, without the check. */
  if (header_cost != 0) charge(&body, header_cost, 0, header_store, -1);
  else if (header_store) store_now(&body);
  if (copy_shifted(&body, out, charge_end, last, 0) != 0) return;
  Out fast = {w->base, body.size, w->capacity};
  static const u8 open[] = {BLOCK, EMPTY, LOOP, EMPTY};
  copy(&fast, open, sizeof open);
  branch_if_below(&fast, budget, 1);
  for (u32 k = 0; k < UNROLL_COPIES; k++) {
    u8_(&fast, BLOCK);
    u8_(&fast, EMPTY);
    copy(&fast, w->base + end, body.size - end);
    u8 leave[] = {BR, EXIT_LABEL, END};
    copy(&fast, leave, sizeof leave);
  }
  static const u8 close[] = {BR, 0, END, END};
  copy(&fast, close, sizeof close);
  u32 fast_size = fast.size - body.size, loop_size = end - hot_start;
  if (failure || !room(&fast, loop_size)) return;
  u8 *base = w->base;
  __builtin_memmove(base + end, base + body.size, fast_size);
  __builtin_memmove(base + end + fast_size, base + hot_start, loop_size);
  __builtin_memmove(base + hot_start, base + end, fast_size + loop_size);
  w->size = end + fast_size;
}

/* The start of a hot loop's wrapping: `block bt; loop $again bt; block $refill`. */
static void open_hot_loop(Out *w, u32 loop_at) {
  u32 type_end = leb_end(code, loop_at + 1);
  u8_(w, BLOCK);
  copy(w, code + loop_at + 1, type_end - loop_at - 1);
  u8_(w, LOOP);
  copy(w, code + loop_at + 1, type_end - loop_at - 1);
  u8_(w, BLOCK);
  u8_(w, EMPTY);
}

/* After a hot loop's `end`: `br 2` out, then the refill, which gives back the header's `cost` and enters again. */
static void close_hot_loop(Out *w, f64 cost, u8 header_stored) {
  u8_(w, BR);
  u8_(w, 2);
  u8_(w, END);
  refill(w, !header_stored);
  if (cost != 0) charge(w, -cost, 0, 0, -1);
  static const u8 again[] = {BR, 0, END, END};
  copy(w, again, sizeof again);
}

/* ---- The body. ---- */

static u32 imported_functions, grow_function;
static const u8 *own_tables;
static u32 table_count;

enum { SILENT = 1, STORES = 2 };

/* Whether the instruction at `p` is a `call_indirect` through a table whose calls reach only defined functions. */
static u8 calls_own_table(u32 p) {
  if (code[p] != CALL_INDIRECT) return 0;
  u64 table = read_leb(code, leb_end(code, p + 1));
  return table < table_count && own_tables[table];
}

/*
 * How many stores of the counter keeping it lazily saves in the body, counted statically: one per
 * charge that need not store (those without a check, and give-backs), minus one per place where it
 * must be stored instead (calls of defined functions, `memory.grow`, exits from the function).
 * Small functions that call and return (a recursive `fib`, say) store more that way, and keep
 * storing at every charge.
 */
static f64 stores_saved(void) {
  List *charges = &lists[CHARGES], *checks = &lists[BLOCK_CHECKS];
  List *refunds = &lists[P_REFUNDS], *leaves = &lists[P_EXIT_LEAVES], *specials = &lists[SPECIALS];
  f64 saved = 0;
  for (u32 b = 0; b < charges->length; b++)
    if (charges->items[b] != 0 && at(checks, b) != 1) saved++;
  for (u32 e = 0; e < refunds->length; e++) {
    if (refunds->items[e] > 0) saved++;
    if (at(leaves, e) == 1) saved--;
  }
  for (u32 i = 0; i + 2 < specials->length; i += 3) {
    u32 p = (u32)specials->items[i];
    f64 kind = specials->items[i + 2];
    u8 calls_defined = kind == CALL ? code[p] == CALL_OP && read_leb(code, p + 1) >= imported_functions
                                    : kind == RELOAD && calls_own_table(p);
    if (calls_defined || kind == GROW) saved--;
  }
  return saved;
}

/* Marks the quiet loops' headers (SILENT) and the blocks where the counter must be stored (STORES). */
static void mark_quiet(u8 hoist) {
  List *marks = &lists[BLOCK_MARKS];
  u32 blocks = lists[BLOCK_STARTS].length;
  marks->length = 0;
  for (u32 b = 0; b < blocks; b++) push(marks, 0);
  if (!hoist) return;
  List *headers = &lists[Q_HEADERS], *stores = &lists[Q_STORES];
  for (u32 i = 0; i < headers->length; i++) {
    u32 b = (u32)headers->items[i];
    set(marks, b, (f64)((u32)at(marks, b) | SILENT));
  }
  for (u32 i = 0; i < stores->length; i++) {
    u32 b = (u32)stores->items[i];
    set(marks, b, (f64)((u32)at(marks, b) | STORES));
  }
}

/*
 * Rewrites the body of `end` bytes at `body` (the one the last scan saw) into `out` (room for
 * `capacity` bytes), with the rider insertions laid out at `riders`: [0] and [1] where their entry
 * code starts and ends, [2] how many lists there are, then per list its kind (0 trailing, 1
 * leading), its count and where its (offset, first byte, end) triples are; every place an address
 * in this memory. `hoist` pays straight-line code ahead, `unroll` gives small hot loops a fast
 * version. The result is in `written`.
 */
EXPORT void write_body(const u8 *body, u32 end, u32 hoist, u32 unroll, u32 imported, u32 gas, u32 fuel, u32 grow,
                       u32 first_local, const u8 *own, u32 tables, f64 memory_unit, f64 table_unit,
                       const u32 *riders, u8 *out, u32 capacity) {
  Out output = {out, 0, capacity}, *w = &output;
  failure = 0;
  written[1] = 0;
  imported_functions = imported;
  gas_global = gas;
  fuel_function = fuel;
  grow_function = grow;
  own_tables = own;
  table_count = tables;
  balance = first_local;
  u32 scratch = first_local + 1;
  code = body;
  plan_charges(hoist);
  mark_quiet(hoist);
  lazy = hoist && stores_saved() > 0;
  List *block_starts = &lists[BLOCK_STARTS], *block_checks = &lists[BLOCK_CHECKS], *specials = &lists[SPECIALS];
  List *charges = &lists[CHARGES], *marks = &lists[BLOCK_MARKS];
  List *exit_at = &lists[P_EXIT_AT], *refunds = &lists[P_REFUNDS], *exit_label = &lists[P_EXIT_LABEL];
  List *exit_end = &lists[P_EXIT_END], *exit_leaves = &lists[P_EXIT_LEAVES];
  List *h_start = &lists[H_START], *h_header = &lists[H_HEADER], *h_end = &lists[H_END], *h_relabels = &lists[H_RELABELS];
  start_splice(w, body, riders);
  reload(w);
  u32 block = 0, special = 0, exit = 0, hot_open = 0, hot_close = 0, relabelled = 0;
  hot_start = charge_start = charge_end = 0;
  header_cost = iteration_cost = 0;
  header_store = 0;
  for (;;) {
    f64 special_at = or_inf(specials, special), exit_next = or_inf(exit_at, exit);
    f64 open_at = or_inf(h_start, hot_open), close_at = or_inf(h_end, hot_close);
    f64 relabel_at = or_inf(h_relabels, relabelled);
    f64 next = special_at;
    if (exit_next < next) next = exit_next;
    if (open_at < next) next = open_at;
    if (close_at < next) next = close_at;
    if (relabel_at < next) next = relabel_at;
    /* Blocks, the most common, are charged in a loop of their own up to the next of the others. */
    for (; block < block_starts->length; block++) {
      f64 block_at = block_starts->items[block];
      if (block_at > next || (block_at == next && close_at == next)) break;
      f64 cost = at(charges, block);
      u8 check = at(block_checks, block) == 1;
      u32 mark = (u32)at(marks, block);
      u8 must_store = (mark & STORES) != 0;
      if (hot_open > hot_close && cost > 0) iteration_cost += cost;
      if (cost == 0 && !check && !must_store) continue;
      u8 quiet_header = (mark & SILENT) != 0;
      f64 leave_to = hot_open > 0 && at(h_header, hot_open - 1) == block ? 1 : -1;
      copy_to(w, (u32)block_at);
      /* Whether `G` is stored here: a quiet loop's header never stores it (its check does, before asking). */
      u8 stores = cost == 0 ? check && !quiet_header && (lazy || must_store)
                            : !quiet_header && (check || !lazy || must_store);
      u32 written_at = w->size;
      if (cost != 0) charge(w, cost, check, stores, leave_to);
      else if (check) check_only(w, stores, leave_to);
      else store_now(w);
      if (leave_to >= 0) {
        charge_start = written_at;
        charge_end = w->size;
        header_cost = cost;
        header_store = stores;
      }
    }
    if (next == INF || failure) break;
    if (close_at == next) {
      copy_to(w, (u32)close_at);
      if (unroll) unroll_hot_loop(w, (u32)(close_at - at(h_start, hot_close)));
      close_hot_loop(w, at(charges, (u32)at(h_header, hot_close)), header_store);
      hot_close++;
      continue;
    }
    if (open_at == next) {
      copy_to(w, (u32)open_at);
      open_hot_loop(w, (u32)open_at);
      hot_open++;
      hot_start = charge_start = charge_end = w->size;
      header_cost = iteration_cost = 0;
      header_store = 0;
      continue;
    }
    if (exit_next == next) {
      /* An exit gives back what was paid for code it skips, and stores the counter if it may leave;
         a `br_if` that gives back becomes `if { give back; br }`. */
      f64 amount = at(refunds, exit);
      f64 label = amount > 0 ? at(exit_label, exit) : -1;
      u8 leaves = at(exit_leaves, exit) == 1;
      u32 branch_end = (u32)at(exit_end, exit);
      exit++;
      copy_to(w, (u32)exit_next);
      if (label >= 0) {
        u8_(w, IF);
        u8_(w, EMPTY);
      }
      if (amount > 0) charge(w, -amount, 0, !lazy, -1);
      if (leaves) store(w);
      if (label >= 0) {
        /* A `br_if` that leaves a hot loop (renumbered below otherwise) is renumbered here. */
        u8 leaves_hot = relabel_at == exit_next;
        if (leaves_hot) relabelled += 2;
        lead(w, (u32)exit_next);
        u8_(w, BR);
        u32_(w, (u64)label + 1 + (leaves_hot ? HOT_LOOP_WRAPPERS : 0));
        u8_(w, END);
        skip_to(branch_end);
      }
      continue;
    }
    if (relabel_at == next) {
      lead(w, (u32)relabel_at);
      skip_to(relabel(w, code, (u32)relabel_at, (u64)at(h_relabels, relabelled + 1), HOT_LOOP_WRAPPERS));
      relabelled += 2;
      continue;
    }
    u32 p = (u32)special_at;
    u32 special_end = (u32)at(specials, special + 1);
    f64 kind = at(specials, special + 2);
    special += 3;
    copy_to(w, p);
    if (kind == CALL) {
      u8 opcode = code[p];
      u64 index = read_leb(code, p + 1);
      /* The callee reads the counter at its entry (an import's block stored it at its check). */
      if (opcode == CALL_OP && index >= imported_functions) store(w);
      lead(w, p);
      u8_(w, opcode);
      u32_(w, index >= imported_functions ? index + 1 : index);
      skip_to(special_end);
      /* The callee (or the host) may have spent gas; a tail call or a ref.func leaves nothing to reload. */
      if (opcode == CALL_OP) reload(w);
    } else if (kind == GROW) {
      store(w);
      lead(w, p);
      u8_(w, CALL_OP);
      u32_(w, grow_function);
      reload(w);
      skip_to(special_end);
    } else if (kind == RELOAD) {
      /* The callee through an own table reads the counter at its entry (an unchecked block did not store it). */
      if (calls_own_table(p)) store(w);
      copy_to(w, special_end);
      reload(w);
    } else {
      f64 unit_cost = kind == BULK_MEMORY_OP ? memory_unit : table_unit;
      if (unit_cost > 0) {
        u8_(w, 0x21);
        u32_(w, scratch);
        dynamic_charge(w, scratch, unit_cost, kind == BULK_MEMORY_OP);
        u8_(w, 0x20);
        u32_(w, scratch);
      }
    }
  }
  if (!failure) copy_to(w, end);
  written[0] = failure & OUT_OF_ROOM ? OUT_OF_ROOM : failure;
  if (!failure) written[1] = w->size;
}
