/*
 * The bench's walk in WebAssembly: where every instruction of the function bodies ends, and
 * nothing else, as bench/metering.mjs's `walkOnly` does in JavaScript. It is the floor of a
 * transform written in C (or Rust) and run as WebAssembly by the same engine, beside the floor of
 * one written in JavaScript. `meter` is the least a metering transform in C does on top of it: the
 * blocks and what each costs, then each block's charge written before a copy of its code. The
 * tables are filled by the bench from the core codec's opcode table. Compiled with (see build.sh):
 *   clang-14 --target=wasm32 -O3 -nostdlib -Wl,--no-entry -Wl,--export-dynamic \
 *     -mbulk-memory -Wl,--initial-memory=67108864 -o walk.wasm walk.c
 */
#include <stdint.h>

typedef uint8_t u8;
typedef uint32_t u32;
typedef int32_t i32;

/* How the immediates after an opcode are laid out (the numbers of the core walk's INSTRUCTION_LAYOUTS). */
enum { NONE, LEB, TWO_LEBS, MEMARG, FOUR_BYTES, EIGHT_BYTES, BR_TABLE, SELECT_TYPES, PREFIX, ONE_BYTE, SIXTEEN_BYTES, MEMARG_LANE };

__attribute__((visibility("default"))) u8 single_layout[256];
/* Per prefix (0xfc, 0xfd, 0xfe), the layouts of its sub-opcodes below 512. */
__attribute__((visibility("default"))) u8 prefixed_layout[3][512];

static inline u32 leb_end(const u8 *code, u32 p) {
  while (code[p++] & 0x80) {
  }
  return p;
}

static inline u32 read_leb(const u8 *code, u32 p) {
  u32 value = 0, shift = 0;
  u8 byte;
  do {
    byte = code[p++];
    value |= (u32)(byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80);
  return value;
}

static u32 immediates_end(const u8 *code, u32 p, u8 layout) {
  switch (layout) {
    case LEB: return leb_end(code, p);
    case TWO_LEBS:
    case MEMARG: return leb_end(code, leb_end(code, p));
    case FOUR_BYTES: return p + 4;
    case EIGHT_BYTES: return p + 8;
    case BR_TABLE:
    case SELECT_TYPES: {
      u32 count = read_leb(code, p) + (layout == BR_TABLE);
      p = leb_end(code, p);
      for (u32 i = 0; i < count; i++) p = leb_end(code, p);
      return p;
    }
    case ONE_BYTE: return p + 1;
    case SIXTEEN_BYTES: return p + 16;
    case MEMARG_LANE: return leb_end(code, leb_end(code, p)) + 1;
    default: return p;
  }
}

/* Where the instruction at `p` ends. */
static inline u32 instruction_end(const u8 *code, u32 p) {
  u8 byte = code[p];
  u8 layout = single_layout[byte];
  if (layout == LEB) return leb_end(code, p + 1);
  if (layout == NONE) return p + 1;
  if (layout != PREFIX) return immediates_end(code, p + 1, layout);
  u32 sub = read_leb(code, p + 1);
  const u8 *table = prefixed_layout[byte == 0xfc ? 0 : byte == 0xfd ? 1 : 2];
  return immediates_end(code, leb_end(code, p + 1), sub < 512 ? table[sub] : NONE);
}

/* Walks the body of `end` bytes at `code`; returns where the walk ended (`end`, for a valid body). */
__attribute__((visibility("default"))) u32 walk(const u8 *code, u32 end) {
  u32 p = 0;
  while (p < end) p = instruction_end(code, p);
  return p;
}

/* What each single-byte opcode costs, and whether a block starts after it (a branch, a call, a block's start or end). */
__attribute__((visibility("default"))) u8 cost_of[256];
__attribute__((visibility("default"))) u8 splits_after[256];

/* Where each block of the body being metered starts, and what it costs. */
#define MAX_BLOCKS (1 << 20)
static u32 block_start[MAX_BLOCKS + 1];
static u32 block_cost[MAX_BLOCKS];

static u8 *signed_leb(u8 *out, i32 value) {
  for (;;) {
    u8 byte = value & 0x7f;
    value >>= 7;
    int done = (value == 0 && !(byte & 0x40)) || (value == -1 && (byte & 0x40));
    *out++ = done ? byte : byte | 0x80;
    if (done) return out;
  }
}

/*
 * Meters the body of `end` bytes at `code` into `out` with the simplest cost model (each block pays
 * for its instructions on entry: `G -= cost; if (G < 0) call $exhausted`); returns the bytes written.
 * Two passes, as the JavaScript transform makes: the blocks and their costs, then the writing.
 */
__attribute__((visibility("default"))) u32 meter(const u8 *code, u32 end, u8 *out) {
  u32 p = 0, blocks = 0, cost = 0;
  block_start[0] = 0;
  while (p < end) {
    u8 byte = code[p];
    p = instruction_end(code, p);
    cost += cost_of[byte];
    if (splits_after[byte] && p < end && blocks < MAX_BLOCKS - 1) {
      block_cost[blocks++] = cost;
      block_start[blocks] = p;
      cost = 0;
    }
  }
  block_cost[blocks++] = cost;
  block_start[blocks] = end;
  u8 *o = out;
  for (u32 b = 0; b < blocks; b++) {
    if (block_cost[b] != 0) {
      /* global.get 5; i64.const cost; i64.sub; global.set 5; global.get 5; i64.const 0; i64.lt_s; if; call 3; end */
      *o++ = 0x23; *o++ = 0x05; *o++ = 0x42;
      o = signed_leb(o, (i32)block_cost[b]);
      *o++ = 0x7d; *o++ = 0x24; *o++ = 0x05; *o++ = 0x23; *o++ = 0x05; *o++ = 0x42; *o++ = 0x00;
      *o++ = 0x53; *o++ = 0x04; *o++ = 0x40; *o++ = 0x10; *o++ = 0x03; *o++ = 0x0b;
    }
    u32 from = block_start[b], length = block_start[b + 1] - from;
    if (length < 64) for (u32 i = 0; i < length; i++) o[i] = code[from + i];
    else __builtin_memcpy(o, code + from, length);
    o += length;
  }
  return (u32)(o - out);
}

/* Where the bench copies the bodies: past the data above. */
__attribute__((visibility("default"))) u32 code_start(void) {
  extern u8 __heap_base;
  return (u32)(uintptr_t)&__heap_base;
}
