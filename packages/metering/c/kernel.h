/*
 * What metering's kernel (scan.c, plan.c, write.c) shares: the opcode tables src/scan-kernel.ts
 * fills in, the lists every step reads and writes, and the reading of instructions.
 *
 * Every list lives in a region src/scan-kernel.ts lays out (`regions`), as doubles. A push past a
 * region's capacity sets `overflowed` and is dropped; the caller then lays the regions out larger
 * and scans the body again. Reads and writes out of a list's bounds are ignored (reads give 0), so
 * that a step that overflowed stays within its regions.
 */
#ifndef KERNEL_H
#define KERNEL_H
#include <stdint.h>

typedef uint8_t u8;
typedef uint32_t u32;
typedef int32_t i32;
typedef uint64_t u64;
typedef int64_t i64;
typedef double f64;

#define EXPORT __attribute__((visibility("default")))
#define INF __builtin_inf()

/* How the immediates after an opcode are laid out (core's walk.ts). */
enum { NONE, LEB, TWO_LEBS, MEMARG, FOUR_BYTES, EIGHT_BYTES, BR_TABLE_LAYOUT, SELECT_TYPES, PREFIX, ONE_BYTE, SIXTEEN_BYTES, MEMARG_LANE, UNKNOWN = 255 };

/* Per single-byte opcode: its layout, its classes (see the CLASS_ bits), what it costs. */
extern u8 single_layout[256];
extern u8 single_class[256];
extern u8 single_special[256];
extern u8 single_calls[256];
extern f64 single_cost[256];
/* Per prefix (0xfc, 0xfd, 0xfe) and sub-opcode: layout, special kind, cost. */
extern u8 prefixed_layout[3][512];
extern u8 prefixed_special[3][512];
extern f64 prefixed_cost[3][512];

enum {
  CLASS_SPLITS = 1,
  CLASS_OPENS = 2,
  CLASS_LEAVES = 4,
  CLASS_CONTROL = 8,
  CLASS_QUIET = 16,
  CLASS_PREFIX = 32,
};
/* The rewrite kinds of src/scan.ts (`CALL` to `RELOAD`). */
enum { CALL = 1, GROW = 2, BULK_MEMORY_OP = 3, BULK_TABLE_OP = 4, RELOAD = 5 };
enum {
  BLOCK = 0x02, LOOP = 0x03, IF = 0x04, ELSE = 0x05, TRY = 0x06, CATCH = 0x07, THROW = 0x08, RETHROW = 0x09,
  END = 0x0b, BR = 0x0c, BR_IF = 0x0d, BR_TABLE = 0x0e, CALL_OP = 0x10, CALL_INDIRECT = 0x11,
  DELEGATE = 0x18, CATCH_ALL = 0x19, REF_FUNC = 0xd2, TABLE_SET = 0x26, EMPTY = 0x40
};

/* The lists, in the order of src/scan.ts's `ScanLists.kernel`: the first `OUTPUTS` are read there. */
enum {
  BLOCK_STARTS, BLOCK_COSTS, BLOCK_CHECKS, SPECIALS, SHOWN,
  C_OPENER, C_JOIN, C_HOISTABLE, C_PARENT, C_ELSES,
  X_AT, X_INNERMOST, X_COUNT, X_ALSO, X_LABEL, X_END, X_LEAVES,
  Q_HEADERS, Q_STORES,
  H_START, H_HEADER, H_END, H_RELABELS,
  /* The charge plan's (plan.c). */
  CHARGES, P_EXIT_AT, P_REFUNDS, P_EXIT_LABEL, P_EXIT_END, P_EXIT_LEAVES,
  OUTPUTS,
  /* The scan's own. */
  HOT_BRANCHES = OUTPUTS, OPEN, FORWARD, OPEN_IS_LOOP, LOOPS, LOOP_HEADER, LOOP_QUIET, OPEN_LOOPS, OPEN_LOOP_AT, EXIT_STORES,
  /* Per exit, the construct its walk outward stops at (the first it does not leave; -1 for none). */
  X_STOP,
  /*
   * The plan's and the writer's own: the first block of each `if`'s `else` arm, what each construct
   * and those around it paid ahead for their joins, and marks per block.
   */
  ELSE_ARM, PAID_OUTWARD, BLOCK_MARKS,
  LIST_COUNT
};

typedef struct {
  f64 *items;
  u32 length;
  u32 capacity;
} List;

extern List lists[LIST_COUNT];
extern u8 overflowed;

static inline void push(List *list, f64 value) {
  if (list->length < list->capacity) list->items[list->length++] = value;
  else overflowed = 1;
}
static inline f64 at(const List *list, u32 index) { return index < list->length ? list->items[index] : 0; }
static inline void set(List *list, u32 index, f64 value) {
  if (index < list->length) list->items[index] = value;
}
/* The last number; NaN for an empty list (an `else` outside any construct, in a body that did not validate). */
static inline f64 last(const List *list) { return list->length > 0 ? list->items[list->length - 1] : __builtin_nan(""); }
static inline f64 pop(List *list) { return list->length > 0 ? list->items[--list->length] : 0; }
/* The number at `index`, or infinity past the list's end (a list of events that is done). */
static inline f64 or_inf(const List *list, u32 index) { return index < list->length ? list->items[index] : INF; }

static inline u32 leb_end(const u8 *code, u32 p) {
  while (code[p++] & 0x80) {
  }
  return p;
}

/* An unsigned LEB128 value (validated bodies: at most 10 bytes are read). */
static inline u64 read_leb(const u8 *code, u32 p) {
  u64 value = 0;
  u32 shift = 0;
  u8 byte;
  do {
    byte = code[p++];
    if (shift < 64) value |= (u64)(byte & 0x7f) << shift;
    shift += 7;
  } while ((byte & 0x80) && shift < 70);
  return value;
}

static u32 immediates_end(const u8 *code, u32 p, u8 layout, u32 end, u8 *unknown) {
  switch (layout) {
    case NONE: return p;
    case LEB: return leb_end(code, p);
    case TWO_LEBS: return leb_end(code, leb_end(code, p));
    case MEMARG: {
      u8 flags = code[p];
      u32 after = leb_end(code, p);
      return leb_end(code, flags & 0x40 ? leb_end(code, after) : after);
    }
    case FOUR_BYTES: return p + 4;
    case EIGHT_BYTES: return p + 8;
    case BR_TABLE_LAYOUT: {
      u64 count = read_leb(code, p) + 1;
      u32 q = p;
      for (u64 i = 0; i <= count && q <= end; i++) q = leb_end(code, q);
      return q;
    }
    case SELECT_TYPES: {
      u64 count = read_leb(code, p);
      u64 q = (u64)leb_end(code, p) + count;
      return q > (u64)end + 1 ? end + 1 : (u32)q;
    }
    case ONE_BYTE: return p + 1;
    case SIXTEEN_BYTES: return p + 16;
    case MEMARG_LANE: return immediates_end(code, p, MEMARG, end, unknown) + 1;
    default: *unknown = 1; return p;
  }
}

static inline u32 prefix_index(u8 byte) { return byte == 0xfc ? 0 : byte == 0xfd ? 1 : 2; }

/* Where the instruction at `p` ends (core's `instructionEnd`); sets `unknown` at an unknown opcode. */
static inline u32 instruction_end(const u8 *code, u32 p, u32 end, u8 *unknown) {
  u8 byte = code[p];
  u8 layout = single_layout[byte];
  if (layout == LEB) return leb_end(code, p + 1);
  if (layout == NONE) return p + 1;
  if (layout != PREFIX) return immediates_end(code, p + 1, layout, end, unknown);
  u64 sub = read_leb(code, p + 1);
  u8 sub_layout = sub < 512 ? prefixed_layout[prefix_index(byte)][sub] : UNKNOWN;
  return immediates_end(code, leb_end(code, p + 1), sub_layout, end, unknown);
}

/* What plan.c and write.c export to each other. */
void plan_charges(u8 hoist);

#endif
