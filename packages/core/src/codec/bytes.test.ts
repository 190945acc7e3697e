import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ByteReader,
  ByteWriter,
  IdleWriter,
  WasmDecodeError,
  WasmEncodeError,
  f32ToBits,
  u32LebSize,
} from './bytes';

const read = (bytes: number[]) => new ByteReader(new Uint8Array(bytes));

describe('skipping LEB128', () => {
  /** Where `read` leaves the reader, or the message it fails with. */
  function outcome(bytes: Uint8Array, read: (r: ByteReader) => unknown): number | string {
    const reader = new ByteReader(bytes);
    try {
      read(reader);
      return reader.offset;
    } catch (error) {
      return (error as Error).message;
    }
  }

  it('skips exactly what reading reads, and fails exactly where reading fails', () => {
    // Any bytes: valid numbers of every length, overlong and overflowing ones, unfinished ones.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        expect(
          outcome(bytes, (r) => {
            r.skipU32();
          }),
        ).toEqual(outcome(bytes, (r) => r.u32()));
        expect(
          outcome(bytes, (r) => {
            r.skipS32();
          }),
        ).toEqual(outcome(bytes, (r) => r.s32()));
        expect(
          outcome(bytes, (r) => {
            r.skipS64();
          }),
        ).toEqual(outcome(bytes, (r) => r.s64()));
      }),
      { numRuns: 2000 },
    );
    const long = new ByteWriter();
    long
      .s64(-(2n ** 63n))
      .u32(0xffffffff)
      .s32(-(2 ** 31));
    const reader = new ByteReader(long.finish());
    reader.skipS64();
    reader.skipU32();
    reader.skipS32();
    expect(reader.done).toBe(true);
    expect(() => {
      new ByteReader(new Uint8Array(3)).skip(4);
    }).toThrow(/expected 4 bytes, only 3 remain/);
  });
});

describe('LEB128', () => {
  it('round-trips every u32 (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (value) => {
        expect(new ByteReader(new ByteWriter().u32(value).finish()).u32()).toBe(value);
      }),
    );
  });

  it('round-trips every s32 and s33 (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (value) => {
        expect(new ByteReader(new ByteWriter().s32(value).finish()).s32()).toBe(value);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 32), max: 2 ** 32 - 1 }), (value) => {
        expect(new ByteReader(new ByteWriter().s32(value).finish()).s33()).toBe(value);
      }),
    );
  });

  it('round-trips every s64 (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (value) => {
        expect(new ByteReader(new ByteWriter().s64(value).finish()).s64()).toBe(value);
      }),
    );
  });

  it('writes the canonical shortest form', () => {
    expect([...new ByteWriter().u32(0).u32(127).u32(128).finish()]).toEqual([0, 127, 0x80, 1]);
    expect([...new ByteWriter().s32(-1).s32(63).s32(64).s32(-64).s32(-65).finish()]).toEqual([
      0x7f, 0x3f, 0xc0, 0, 0x40, 0xbf, 0x7f,
    ]);
    expect([...new ByteWriter().s64(-1n).s64(64n).finish()]).toEqual([0x7f, 0xc0, 0]);
  });

  it('reads padded (non-canonical) encodings, as wasm-ld emits them', () => {
    expect(read([0x85, 0x80, 0x80, 0x80, 0x00]).u32()).toBe(5);
    expect(read([0xff, 0xff, 0xff, 0xff, 0x7f]).s32()).toBe(-1);
    expect(read([0x80, 0x80, 0x80, 0x80, 0x78]).s32()).toBe(-(2 ** 31));
    expect(read([0xff, 0xff, 0xff, 0xff, 0x0f]).u32()).toBe(0xffffffff);
    expect(read([0xff, 0xff, 0xff, 0xff, 0x0f]).s33()).toBe(0xffffffff);
    expect(read([0x80, 0x80, 0x80, 0x80, 0x70]).s33()).toBe(-(2 ** 32));
  });

  it.each([
    ['u32 overflow', [0xff, 0xff, 0xff, 0xff, 0x1f], (r: ByteReader) => r.u32()],
    ['u32 too long', [0x80, 0x80, 0x80, 0x80, 0x80, 0x00], (r: ByteReader) => r.u32()],
    ['s32 overflow', [0xff, 0xff, 0xff, 0xff, 0x4f], (r: ByteReader) => r.s32()],
    ['s32 too long', [0x80, 0x80, 0x80, 0x80, 0x80, 0x00], (r: ByteReader) => r.s32()],
    ['s33 overflow', [0xff, 0xff, 0xff, 0xff, 0x2f], (r: ByteReader) => r.s33()],
    ['s33 too long', [0x80, 0x80, 0x80, 0x80, 0x80, 0x00], (r: ByteReader) => r.s33()],
    [
      's64 overflow',
      [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02],
      (r: ByteReader) => r.s64(),
    ],
    [
      's64 too long',
      [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
      (r: ByteReader) => r.s64(),
    ],
    ['truncated', [0x80], (r: ByteReader) => r.u32()],
  ])('rejects %s', (_label, bytes, readValue) => {
    expect(() => readValue(read(bytes))).toThrow(WasmDecodeError);
  });

  it('refuses to write out-of-range values', () => {
    expect(() => new ByteWriter().u32(-1)).toThrow(WasmEncodeError);
    expect(() => new ByteWriter().u32(2 ** 32)).toThrow(WasmEncodeError);
    expect(() => new ByteWriter().u32(1.5)).toThrow(WasmEncodeError);
    expect(() => new ByteWriter().s32(2 ** 32)).toThrow(WasmEncodeError);
    expect(() => new ByteWriter().s64(2n ** 63n)).toThrow(WasmEncodeError);
    // Values the one-byte fast paths must not take for small integers.
    for (const value of [Number.NaN, Infinity, -Infinity, 0.5, -0.5, 127.5])
      expect(() => new ByteWriter().u32(value)).toThrow(WasmEncodeError);
    for (const value of [Number.NaN, Infinity, 0.5, -0.5, 63.5, -64.5])
      expect(() => new ByteWriter().s32(value)).toThrow(WasmEncodeError);
    expect([...new ByteWriter().u32(-0).s32(-0).finish()]).toEqual([0, 0]);
  });
});

describe('ByteWriter sized exactly', () => {
  /** Writes `write` into a writer of exactly the bytes it takes, after `before` bytes: the writer must not grow. */
  const fitsExactly = (before: number, write: (writer: ByteWriter) => ByteWriter) => {
    const size = write(new ByteWriter()).size;
    const writer = write(new ByteWriter(before + size).bytes(new Uint8Array(before)));
    expect(writer.capacity).toBe(before + size);
    expect(writer.finish().buffer.byteLength).toBe(before + size);
  };

  it('does not grow for a last u32, s32, s33 or s64 that fits (property)', () => {
    const before = fc.nat(8);
    fc.assert(
      fc.property(before, fc.integer({ min: 0, max: 0xffffffff }), (n, value) => {
        expect(u32LebSize(value)).toBe(new ByteWriter().u32(value).size);
        fitsExactly(n, (writer) => writer.u32(value));
      }),
    );
    fc.assert(
      fc.property(before, fc.integer({ min: -(2 ** 32), max: 2 ** 32 - 1 }), (n, value) => {
        fitsExactly(n, (writer) => writer.s32(value));
      }),
    );
    fc.assert(
      fc.property(before, fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n, value) => {
        fitsExactly(n, (writer) => writer.s64(value));
      }),
    );
  });
});

describe('ByteWriter.insert and reset', () => {
  it('insert at the start, in the middle and at the end, growing the buffer', () => {
    const writer = new ByteWriter(4).bytes(new Uint8Array([1, 2, 3, 4]));
    writer
      .insert(0, new Uint8Array([9]))
      .insert(3, new Uint8Array([7, 7]))
      .insert(7, new Uint8Array([5]));
    expect([...writer.view()]).toEqual([9, 1, 2, 7, 7, 3, 4, 5]);
    expect(() => writer.insert(9, new Uint8Array([1]))).toThrow(WasmEncodeError);
    expect(() => writer.insert(-1, new Uint8Array([1]))).toThrow(WasmEncodeError);
    expect(writer.size).toBe(8);
  });

  it('reset forgets what was written and keeps writing', () => {
    const writer = new ByteWriter(2).u8(1).u8(2).u8(3);
    expect([...writer.reset().u8(4).view()]).toEqual([4]);
  });
});

describe('ByteReader and ByteWriter', () => {
  it('keep float bit patterns exactly, NaN payloads included', () => {
    const writer = new ByteWriter(1).f32Bits(0x7fa00001).f64Bits(0xfff8000000000123n);
    const reader = new ByteReader(writer.finish());
    expect(reader.f32Bits()).toBe(0x7fa00001);
    expect(reader.f64Bits()).toBe(0xfff8000000000123n);
    expect(f32ToBits(1.5)).toBe(0x3fc00000);
  });

  it('read names, vectors and bounded views', () => {
    const bytes = new ByteWriter()
      .name('héllo')
      .vector([1, 2, 3], (w, v) => w.u8(v))
      .finish();
    const reader = new ByteReader(bytes);
    expect(reader.name()).toBe('héllo');
    expect(reader.vector((r) => r.u8())).toEqual([1, 2, 3]);
    expect(reader.done).toBe(true);
    expect(() => reader.peek()).toThrow(/unexpected end/);
    expect(new ByteReader(bytes, 0, 1).take(1)).toEqual(new Uint8Array([6]));
    expect(() => new ByteReader(bytes, 0, 1).take(2)).toThrow(/only 1 remain/);
  });

  it('keep a name that starts with a byte order mark (U+FEFF) as it is', () => {
    for (const name of ['\u{FEFF}', '\u{FEFF}x', '\u{FEFF}\u{FEFF}', 'x\u{FEFF}']) {
      const bytes = new ByteWriter().name(name).finish();
      expect(new ByteReader(bytes).name()).toBe(name);
    }
  });

  it("write a name as the encoder's UTF-8 after its length, ASCII or not, short or long (property)", () => {
    const strings = fc.oneof(
      fc.string({ unit: fc.constantFrom('_', 'a', 'z', 'A', 'Z', '0', '9', '$', '.', '-'), maxLength: 100 }),
      fc.string({ unit: 'binary', maxLength: 100 }),
      fc.string({ unit: 'grapheme', maxLength: 100 }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), strings, (before, name) => {
        const utf8 = new TextEncoder().encode(name);
        const written = new ByteWriter(1).bytes(before).name(name).finish();
        const expected = new ByteWriter().bytes(before).u32(utf8.length).bytes(utf8).finish();
        expect(written).toEqual(expected);
      }),
    );
  });

  it('round-trip any name, byte for byte (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (name) => {
        const bytes = new ByteWriter().name(name).finish();
        const decoded = new ByteReader(bytes).name();
        expect(decoded).toBe(name);
        expect(new ByteWriter().name(decoded).finish()).toEqual(bytes);
      }),
    );
  });
});

describe('IdleWriter', () => {
  it('hands out the writer given back, emptied, while it is large enough; a new one otherwise', () => {
    const idle = new IdleWriter();
    const first = idle.take(100);
    expect(first.capacity).toBe(100);
    first.u8(1).u8(2);
    // Taken: one that needs a writer meanwhile gets a new one.
    const meanwhile = idle.take(10);
    expect(meanwhile).not.toBe(first);
    idle.give(first);
    expect(first.view()).toEqual(new Uint8Array([1, 2]));
    const again = idle.take(64);
    expect(again).toBe(first);
    expect(again.size).toBe(0);
    idle.give(again);
    const larger = idle.take(101);
    expect(larger).not.toBe(first);
    expect(larger.capacity).toBe(101);
    // The larger one is now taken and the smaller was let go: nothing idle.
    expect(idle.take(1)).not.toBe(first);
  });

  it('counts what a writer grew to as its capacity', () => {
    const idle = new IdleWriter();
    const writer = idle.take(2);
    writer.bytes(new Uint8Array(300));
    expect(writer.capacity).toBeGreaterThanOrEqual(300);
    idle.give(writer);
    expect(idle.take(300)).toBe(writer);
  });
});
