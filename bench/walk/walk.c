/*
 * The bench's walk in WebAssembly: where every instruction of the function bodies ends, and
 * nothing else, as bench/metering.mjs's `walkOnly` does in JavaScript. It is the floor of a
 * transform written in C (or Rust) and run as WebAssembly by the same engine, beside the floor of
 * one written in JavaScript. The layout tables are filled by the bench from the core codec's
 * opcode table. Compiled with (see build.sh):
 *   clang-14 --target=wasm32 -O3 -nostdlib -Wl,--no-entry -Wl,--export-dynamic \
 *     -Wl,--initial-memory=67108864 -o walk.wasm walk.c
 */
#include <stdint.h>

typedef uint8_t u8;
typedef uint32_t u32;

/* How the immediates after an opcode are laid out (the numbers of bench/metering.mjs's WALK_LAYOUT). */
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

/* Walks the body of `end` bytes at `code`; returns where the walk ended (`end`, for a valid body). */
__attribute__((visibility("default"))) u32 walk(const u8 *code, u32 end) {
  u32 p = 0;
  while (p < end) {
    u8 byte = code[p];
    u8 layout = single_layout[byte];
    if (layout == LEB) p = leb_end(code, p + 1);
    else if (layout == NONE) p = p + 1;
    else if (layout != PREFIX) p = immediates_end(code, p + 1, layout);
    else {
      u32 sub = read_leb(code, p + 1);
      const u8 *table = prefixed_layout[byte == 0xfc ? 0 : byte == 0xfd ? 1 : 2];
      p = immediates_end(code, leb_end(code, p + 1), sub < 512 ? table[sub] : NONE);
    }
  }
  return p;
}

/* Where the bench copies the bodies: past the data above. */
__attribute__((visibility("default"))) u32 code_start(void) {
  extern u8 __heap_base;
  return (u32)(uintptr_t)&__heap_base;
}
