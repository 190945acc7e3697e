/*
 * Metering's scan of one function body, compiled to WebAssembly with plan.c and write.c (see
 * scripts/build-scan.mjs): the block boundaries and their static costs, the instructions the
 * rewriter changes, the structure the charge plan needs (constructs, exits, quiet and hot loops),
 * and the instructions the other transforms' scans asked to be shown. src/scan-kernel.ts drives
 * it: it fills the tables below from the core codec's layouts and metering's classification
 * (src/scan.ts), copies each body in, and reads the lists back through views of this memory. What
 * each list holds is documented in src/scan.ts (`BodyScan`, and `Constructs`, `Exits`,
 * `QuietLoops` and `HotLoops`).
 */
#include "kernel.h"

EXPORT u8 single_layout[256];
EXPORT u8 single_class[256];
EXPORT u8 single_special[256];
EXPORT u8 single_calls[256];
EXPORT f64 single_cost[256];
EXPORT u8 prefixed_layout[3][512];
EXPORT u8 prefixed_special[3][512];
EXPORT f64 prefixed_cost[3][512];
/* The scan's fast path for the visitors of the body (src/scan.ts `plainUnwanted`), and what they want. */
EXPORT u8 plain[256];
EXPORT u8 wanted[256];

enum { PLAIN_QUIET = 1, PLAIN_TRAPS = 2 };

/*
 * How the scan's loop dispatches each plain instruction (`prepare_dispatch` makes the table from
 * `plain` and the layouts): one jump per instruction on the commonest shapes, where testing the
 * classes, index space and layout one after another costs a branch each, most of them hard to
 * predict. `GENERAL` takes the general path, which handles every instruction; a fast case whose
 * instruction is unusual (a local index of more than one byte, an index out of bounds, a memarg
 * naming a memory) falls through to it too.
 */
enum { GENERAL, FIXED, NO_IMMEDIATES_TRAPS, LOCAL, GLOBAL, CONSTANT, ACCESS };
static u8 dispatch[256];
/* The length of a `FIXED` instruction: 1 without immediates, 5 for `f32.const`, 9 for `f64.const`. */
static u8 fixed_length[256];
enum { INDIRECT = 1, DIRECT = 2 };

/*
 * The index spaces whose indices the scan checks, because metering and the transforms that ride
 * along it append to them (locals, globals, functions, types, element segments) or replace what
 * names them (`memory.grow` becomes a call of a helper that grows memory 0): an index one past the
 * module's own would name what was added, and an invalid body would come out valid. `scan` takes
 * the size of each.
 */
enum { NO_SPACE, LOCALS, GLOBALS, FUNCTIONS, TYPES, BLOCK_TYPES, ELEMENTS, MEMORIES, SPACES };
enum { MEMORY_GROW = 0x40, TABLE_INIT = 12, ELEM_DROP = 13 };
/* Per single-byte opcode, the space its first immediate indexes. */
static const u8 index_space[256] = {
  [BLOCK] = BLOCK_TYPES, [LOOP] = BLOCK_TYPES, [IF] = BLOCK_TYPES, [TRY] = BLOCK_TYPES,
  [CALL_OP] = FUNCTIONS, [0x12] = FUNCTIONS, [REF_FUNC] = FUNCTIONS,
  [CALL_INDIRECT] = TYPES, [0x13] = TYPES,
  [0x20] = LOCALS, [0x21] = LOCALS, [0x22] = LOCALS, [0x23] = GLOBALS, [0x24] = GLOBALS,
  [MEMORY_GROW] = MEMORIES,
};
/* Each space's size; the largest u64 for a space not checked. */
static u64 space_sizes[SPACES];

/*
 * Makes the dispatch table from `plain` (call it whenever `plain` changes): only instructions
 * whose every check the fast case repeats get one, the rest the general path.
 */
EXPORT void prepare_dispatch(void) {
  for (u32 byte = 0; byte < 256; byte++) {
    u8 kind = plain[byte], layout = single_layout[byte], space = index_space[byte], shape = GENERAL;
    if (kind == PLAIN_QUIET && space == LOCALS && layout == LEB) shape = LOCAL;
    else if (kind == PLAIN_QUIET && space == GLOBALS && layout == LEB) shape = GLOBAL;
    else if (space != NO_SPACE) shape = GENERAL;
    else if (kind == PLAIN_TRAPS && layout == NONE) shape = NO_IMMEDIATES_TRAPS;
    else if (kind == PLAIN_TRAPS && layout == MEMARG) shape = ACCESS;
    else if (kind == PLAIN_QUIET && layout == LEB) shape = CONSTANT;
    else if (kind == PLAIN_QUIET && (layout == NONE || layout == FOUR_BYTES || layout == EIGHT_BYTES)) shape = FIXED;
    dispatch[byte] = shape;
    fixed_length[byte] = layout == FOUR_BYTES ? 5 : layout == EIGHT_BYTES ? 9 : 1;
  }
}

/* Per list: where its region starts (a byte offset in this memory) and how many numbers it holds. */
EXPORT u32 regions[LIST_COUNT][2];
/* After a scan or a plan: each list's length (after an overflow: at least the room it needs). */
EXPORT u32 lengths[LIST_COUNT];
/*
 * After a scan: [0] 0 if it went through, 1 if a list overflowed, 2 at an unknown opcode, 3 at an
 * unknown index; [1] where the walk ended (or the instruction at fault); [2] needsScratch,
 * [3] catches, [4] writesTables; after an unknown index, [5] its space and [6] the index (at most
 * 2^32 - 1).
 */
EXPORT u32 outcome[7];

List lists[LIST_COUNT];
u8 overflowed;

/* ---- The indices. ---- */

/*
 * Whether the index at `p` is past the end of `space`. Function indices are written again (shifted
 * by metering's import): theirs must also be at most 5 bytes long, as the binary format wants, for
 * the writer would give an overlong one its shortest form. A block type is an index only when it is
 * not a single byte of value type or 0x40; `memory.grow` must name memory 0, which its helper grows.
 */
static inline u8 unknown_index(const u8 *code, u32 p, u8 space, u64 *index) {
  u8 first = code[p];
  /* Most indices (locals, globals) are one byte. */
  if (space <= GLOBALS && !(first & 0x80)) {
    *index = first;
    return first >= space_sizes[space];
  }
  if (space == BLOCK_TYPES) {
    if (first == EMPTY || (first & 0xc0) == 0x40) return 0;
    space = TYPES;
  }
  *index = read_leb(code, p);
  if (space == MEMORIES) return *index != 0 || space_sizes[MEMORIES] == 0;
  if (space == FUNCTIONS && leb_end(code, p) - p > 5) return 1;
  return *index >= space_sizes[space];
}

/* A size given as a number, or infinity for a space not checked. */
static inline u64 size_of(f64 size) { return size >= 18446744073709551615.0 ? ~(u64)0 : (u64)size; }

/* ---- The structure: constructs and their joins, exits, and which loops are quiet or hot. ---- */

static u32 labels_results;
/* Per function type: bit 0 if it takes no parameters, bit 1 if it has no results (`types` of them). */
static const u8 *type_flags;
static u32 types;
/* Per table: 1 if its indirect calls reach only the module's own functions (`tables` of them). */
static const u8 *own_table;
static u32 tables;
static u8 catches;
static u8 no_quiet_open;
static f64 hot_loop;
static f64 hot_at, hot_start, hot_header;

/* Whether the block type at `p` takes no parameters. */
static u8 takes_nothing(const u8 *code, u32 p) {
  u8 first = code[p];
  if (first == 0x40 || (first & 0xc0) == 0x40) return 1;
  u64 index = read_leb(code, p);
  return index < types && (type_flags[index] & 1);
}

/* Whether the block type at `p` (of a `block`, `if` or `try`) has no results. */
static u8 carries_nothing(const u8 *code, u32 p) {
  u8 first = code[p];
  if (first == 0x40) return 1;
  if ((first & 0xc0) == 0x40) return 0;
  u64 index = read_leb(code, p);
  return index < types && (type_flags[index] & 2);
}

static void forget_hot_loops(void) {
  lists[H_START].length = lists[H_HEADER].length = lists[H_END].length = lists[H_RELABELS].length = 0;
}

/* Marks the open loops at positions above `position` (all with -1) as not quiet. */
static void unquiet(f64 position) {
  List *open_loops = &lists[OPEN_LOOPS], *open_loop_at = &lists[OPEN_LOOP_AT];
  for (i32 i = (i32)open_loops->length - 1; i >= 0 && at(open_loop_at, (u32)i) > position; i--)
    set(&lists[LOOP_QUIET], (u32)at(open_loops, (u32)i), 0);
}

static inline void traps_or_calls(void) {
  if (no_quiet_open) return;
  unquiet(-1);
  no_quiet_open = 1;
}

/* A conditional jump past their joins: the constructs above the one `label` names are not hoistable. */
static void jumps_out(u64 label) {
  List *open = &lists[OPEN];
  u32 from = label >= open->length ? 0 : open->length - (u32)label;
  for (u32 i = from; i < open->length; i++) set(&lists[C_HOISTABLE], (u32)at(open, i), 0);
}

/*
 * Records an unconditional exit at `start` that leaves the constructs above the one `label` names
 * (and construct `also`, for a `br_if` that leaves the block after it; -1 otherwise); `branch` and
 * `branch_end` are a rewritable `br_if`'s label and end (-1 for the others).
 */
static void leaves(u32 start, u64 label, f64 branch, f64 branch_end, f64 also) {
  List *open = &lists[OPEN];
  u32 length = open->length;
  push(&lists[X_AT], start);
  push(&lists[X_INNERMOST], length > 0 ? last(open) : -1);
  push(&lists[X_COUNT], label >= length ? length : (f64)label);
  push(&lists[X_STOP], label >= length ? -1 : at(open, length - (u32)label - 1));
  push(&lists[X_ALSO], also);
  push(&lists[X_LABEL], branch);
  push(&lists[X_END], branch_end);
  push(&lists[X_LEAVES], label >= length ? 1 : 0);
}

/* Whether branching to `label` carries no values and goes forward. */
static u8 forward_to(u64 label) {
  List *open = &lists[OPEN];
  if (label < open->length) return at(&lists[FORWARD], open->length - 1 - (u32)label) == 1;
  return labels_results == 0;
}

/* Notes a branch to `label` at `start` if it leaves the candidate hot loop. */
static void may_leave_hot(u32 start, u64 label) {
  f64 outside = (f64)lists[OPEN].length - hot_at;
  List *branches = &lists[HOT_BRANCHES];
  if (hot_loop >= 0 && (f64)label >= outside &&
      (branches->length < 2 || at(branches, branches->length - 2) != start)) {
    push(branches, start);
    push(branches, outside);
  }
}

/* A branch to `label` leaves the loops inside its target: they stay quiet only if it is a block. */
static void branches_to(u64 label) {
  List *open = &lists[OPEN], *open_loops = &lists[OPEN_LOOPS], *open_loop_at = &lists[OPEN_LOOP_AT];
  f64 target = (f64)open->length - 1 - (f64)label;
  if (target < 0 || at(&lists[OPEN_IS_LOOP], (u32)target) == 1) {
    unquiet(target);
    return;
  }
  f64 construct = at(open, (u32)target);
  for (i32 i = (i32)open_loops->length - 1; i >= 0 && at(open_loop_at, (u32)i) > target; i--)
    if (at(&lists[LOOP_QUIET], (u32)at(open_loops, (u32)i)) == 1) {
      push(&lists[EXIT_STORES], at(open_loops, (u32)i));
      push(&lists[EXIT_STORES], construct);
    }
}

/* A control instruction `byte` at `start`, its immediates at `p`, after `blocks` blocks started. */
static void control(const u8 *code, u32 start, u32 p, u8 byte, u32 blocks, u32 end) {
  List *open = &lists[OPEN];
  if (single_class[byte] & CLASS_OPENS) {
    push(&lists[C_PARENT], open->length > 0 ? last(open) : -1);
    push(open, lists[C_OPENER].length);
    push(&lists[FORWARD], byte != LOOP && carries_nothing(code, p) ? 1 : 0);
    push(&lists[OPEN_IS_LOOP], byte == LOOP ? 1 : 0);
    if (byte == LOOP) {
      push(&lists[OPEN_LOOPS], lists[LOOPS].length);
      push(&lists[OPEN_LOOP_AT], open->length - 1);
      push(&lists[LOOPS], lists[C_OPENER].length);
      push(&lists[LOOP_HEADER], blocks);
      push(&lists[LOOP_QUIET], 1);
      no_quiet_open = 0;
      hot_loop = takes_nothing(code, p) ? (f64)lists[C_OPENER].length : -1;
      hot_at = (f64)open->length - 1;
      hot_start = start;
      hot_header = blocks;
      lists[HOT_BRANCHES].length = 0;
    }
    push(&lists[C_OPENER], (f64)blocks - 1);
    push(&lists[C_JOIN], -1);
    push(&lists[C_HOISTABLE], 1);
    if (byte == TRY) catches = 1;
  } else if (byte == END || byte == DELEGATE) {
    f64 closed = open->length > 0 ? pop(open) : -1;
    if (closed >= 0 && pop(&lists[OPEN_IS_LOOP]) == 1) {
      pop(&lists[OPEN_LOOPS]);
      pop(&lists[OPEN_LOOP_AT]);
      if (closed == hot_loop) {
        push(&lists[H_START], hot_start);
        push(&lists[H_HEADER], hot_header);
        push(&lists[H_END], p);
        List *branches = &lists[HOT_BRANCHES];
        for (u32 i = 0; i < branches->length; i++) push(&lists[H_RELABELS], branches->items[i]);
        hot_loop = -1;
      }
    }
    if (closed >= 0) {
      pop(&lists[FORWARD]);
      set(&lists[C_JOIN], (u32)closed, p < end || byte == DELEGATE ? (f64)blocks : -1);
    } else
      leaves(start, 0, -1, -1, -1);
  } else if (byte == BR) {
    u64 label = read_leb(code, p);
    branches_to(label);
    may_leave_hot(start, label);
    leaves(start, label, -1, -1, -1);
  } else if (byte == BR_IF) {
    u64 label = read_leb(code, p);
    branches_to(label);
    may_leave_hot(start, label);
    if (forward_to(label)) {
      leaves(start, label, (f64)label, leb_end(code, p), lists[C_OPENER].length);
      push(&lists[C_OPENER], (f64)blocks - 1);
      push(&lists[C_JOIN], blocks);
      push(&lists[C_HOISTABLE], 1);
      push(&lists[C_PARENT], -1);
    } else {
      jumps_out(label);
      if (label >= open->length) leaves(start, label, -1, -1, -1);
    }
  } else if (single_class[byte] & CLASS_LEAVES) {
    leaves(start, open->length, -1, -1, -1);
  } else if (byte == ELSE) {
    push(&lists[C_ELSES], last(open));
    push(&lists[C_ELSES], blocks);
  } else if (byte == BR_TABLE) {
    u32 q = leb_end(code, p);
    u64 outermost = 0;
    u64 count = read_leb(code, p);
    for (u64 i = 0; i <= count && q <= end; i++, q = leb_end(code, q)) {
      u64 label = read_leb(code, q);
      branches_to(label);
      may_leave_hot(start, label);
      if (label > outermost) outermost = label;
    }
    jumps_out(outermost);
    if (outermost >= open->length) leaves(start, outermost, -1, -1, -1);
  }
}

/* The quiet loops and where the counter must be stored after them, once the body is scanned. */
static void quiet_loops(void) {
  List *loops = &lists[LOOPS], *loop_quiet = &lists[LOOP_QUIET], *exit_stores = &lists[EXIT_STORES];
  for (u32 l = 0; l < loops->length; l++) {
    if (at(loop_quiet, l) != 1) continue;
    push(&lists[Q_HEADERS], at(&lists[LOOP_HEADER], l));
    f64 join = at(&lists[C_JOIN], (u32)at(loops, l));
    if (join >= 0) push(&lists[Q_STORES], join);
  }
  for (u32 i = 0; i + 1 < exit_stores->length; i += 2) {
    f64 join = at(&lists[C_JOIN], (u32)at(exit_stores, i + 1));
    if (at(loop_quiet, (u32)at(exit_stores, i)) == 1 && join >= 0) push(&lists[Q_STORES], join);
  }
}

/* Asks for room for `count` numbers in `list`, which the plan or the writer fills. */
static void need_room(u32 list, u32 count) {
  if (lists[list].capacity >= count) return;
  overflowed = 1;
  lengths[list] = count;
}

/*
 * The plan's and the writer's lists hold a number per block, construct or exit: a body whose
 * lists would not fit is scanned again with more room, so that planning and writing never run out.
 */
static void make_room(void) {
  u32 blocks = lists[BLOCK_STARTS].length, exits = lists[X_AT].length;
  need_room(CHARGES, blocks);
  need_room(BLOCK_MARKS, blocks);
  need_room(ELSE_ARM, lists[C_OPENER].length);
  need_room(PAID_OUTWARD, lists[C_OPENER].length);
  for (u32 list = P_EXIT_AT; list <= P_EXIT_LEAVES; list++) need_room(list, exits);
}

/*
 * Scans the body of `end` bytes at `code` (for `scanBody` in src/scan.ts), in a module whose first `imported`
 * functions are imports, for a function with `results` results, the function's entry costing
 * `entry`; `flags` and `own` are the module's types' and tables' flags (see above). The indices are
 * checked against `locals` to `memories` (infinity for none; see `unknown_index`). The lists are
 * at `regions`; the results in `lengths` and `outcome`. The bytes after the body must be zeros
 * for at least 32 bytes.
 */
EXPORT void scan(const u8 *code, u32 end, f64 entry, u32 imported, const u8 *flags, u32 type_count,
                 const u8 *own, u32 table_count, u32 results, f64 locals, f64 globals, f64 functions,
                 f64 type_bound, f64 elements, f64 memories) {
  space_sizes[LOCALS] = size_of(locals);
  space_sizes[GLOBALS] = size_of(globals);
  space_sizes[FUNCTIONS] = size_of(functions);
  space_sizes[TYPES] = size_of(type_bound);
  space_sizes[ELEMENTS] = size_of(elements);
  space_sizes[MEMORIES] = size_of(memories);
  type_flags = flags;
  types = type_count;
  own_table = own;
  tables = table_count;
  for (u32 i = 0; i < LIST_COUNT; i++) {
    lists[i].items = (f64 *)(uintptr_t)regions[i][0];
    lists[i].capacity = regions[i][1];
    lists[i].length = 0;
  }
  overflowed = 0;
  labels_results = results;
  catches = 0;
  no_quiet_open = 1;
  hot_loop = -1;
  hot_at = hot_start = hot_header = 0;
  u8 needs_scratch = 0, writes_tables = 0, unknown = 0, bad_space = NO_SPACE;
  u64 bad_index = 0;
  u8 check = 1;
  f64 current = entry;
  List *block_starts = &lists[BLOCK_STARTS], *block_costs = &lists[BLOCK_COSTS];
  List *block_checks = &lists[BLOCK_CHECKS], *specials = &lists[SPECIALS];
  push(block_starts, 0);
  u32 p = 0, start = 0;
  u64 local_count = space_sizes[LOCALS], global_count = space_sizes[GLOBALS];
  while (p < end) {
    start = p;
    u8 byte = code[p];
    switch (dispatch[byte]) {
      case FIXED:
        current += single_cost[byte];
        p = start + fixed_length[byte];
        continue;
      case NO_IMMEDIATES_TRAPS:
        current += single_cost[byte];
        if (!no_quiet_open) traps_or_calls();
        p = start + 1;
        continue;
      case LOCAL:
      case GLOBAL: {
        u8 index = code[start + 1];
        if ((index & 0x80) || index >= (dispatch[byte] == LOCAL ? local_count : global_count)) break;
        current += single_cost[byte];
        p = start + 2;
        continue;
      }
      case CONSTANT:
        current += single_cost[byte];
        p = leb_end(code, start + 1);
        continue;
      case ACCESS:
        if (code[start + 1] & 0x40) break;
        current += single_cost[byte];
        if (!no_quiet_open) traps_or_calls();
        p = leb_end(code, leb_end(code, start + 1));
        continue;
      default:
        break;
    }
    p = start + 1;
    u8 kind = plain[byte];
    u8 space = index_space[byte];
    if (space != NO_SPACE && unknown_index(code, p, space, &bad_index)) {
      bad_space = space == BLOCK_TYPES ? TYPES : space;
      break;
    }
    if (kind != 0) {
      current += single_cost[byte];
      if (kind == PLAIN_TRAPS && !no_quiet_open) traps_or_calls();
      p = instruction_end(code, start, end, &unknown);
      if (unknown) break;
      continue;
    }
    u8 classes = single_class[byte];
    u8 split = (classes & CLASS_SPLITS) != 0;
    u8 special = single_special[byte];
    if (classes & CLASS_PREFIX) {
      p = instruction_end(code, start, end, &unknown);
      if (unknown) break;
      u64 sub = read_leb(code, start + 1);
      u32 prefix = prefix_index(byte);
      if (byte == 0xfc && (sub == TABLE_INIT || sub == ELEM_DROP) &&
          unknown_index(code, leb_end(code, start + 1), ELEMENTS, &bad_index)) {
        bad_space = ELEMENTS;
        break;
      }
      current += prefixed_cost[prefix][sub];
      split = 0;
      traps_or_calls();
      special = prefixed_special[prefix][sub];
      if (special != 0) {
        needs_scratch = 1;
        hot_loop = -1;
      }
      if (special == BULK_TABLE_OP) writes_tables = 1;
    } else {
      current += single_cost[byte];
      u8 calls = single_calls[byte];
      if (calls == INDIRECT) {
        u64 table = read_leb(code, leb_end(code, p));
        if (table >= tables || !own_table[table]) check = 1;
      } else if (calls == DIRECT && read_leb(code, p) < imported)
        check = 1;
      if (byte == TABLE_SET) writes_tables = 1;
      if (calls != 0 || (special != 0 && byte != REF_FUNC)) hot_loop = -1;
      if (!(classes & CLASS_QUIET)) traps_or_calls();
      if (classes & CLASS_CONTROL) control(code, start, p, byte, block_starts->length, end);
      p = instruction_end(code, start, end, &unknown);
      if (unknown) break;
    }
    if (wanted[byte]) {
      push(&lists[SHOWN], start);
      push(&lists[SHOWN], p);
    }
    if (special != 0) {
      push(specials, start);
      push(specials, p);
      push(specials, special);
    }
    if (split && p < end) {
      push(block_starts, p);
      push(block_costs, current);
      push(block_checks, check);
      current = 0;
      check = byte == LOOP;
    }
  }
  push(block_costs, current);
  push(block_checks, check);
  quiet_loops();
  if (catches) forget_hot_loops();
  for (u32 i = 0; i < LIST_COUNT; i++) lengths[i] = lists[i].length;
  make_room();
  outcome[0] = unknown ? 2 : bad_space != NO_SPACE ? 3 : overflowed ? 1 : 0;
  outcome[1] = unknown || bad_space != NO_SPACE ? start : p;
  outcome[2] = needs_scratch;
  outcome[3] = catches;
  outcome[4] = writes_tables;
  outcome[5] = bad_space;
  outcome[6] = bad_index > 0xffffffff ? 0xffffffff : (u32)bad_index;
}

/* Where the caller may lay out the body and the regions: past the data above. */
EXPORT u32 heap_start(void) {
  extern u8 __heap_base;
  return (u32)(uintptr_t)&__heap_base;
}
