import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from './crc32c';
import { SNAPSHOT_VERSION, decodeSnapshot, encodeSnapshot, sealSnapshot, snapshotChecksum } from './format';
import { xxh3 } from './xxh3';
import { xxh32 } from './xxh32';
import type { SavedValue, SnapshotContents } from './state';

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

const savedValue: fc.Arbitrary<SavedValue> = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((value) => ({ type: 'i32' as const, value })),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map((value) => ({ type: 'i64' as const, value })),
  fc.nat({ max: 0xffffffff }).map((bits) => ({ type: 'f32' as const, bits })),
  u64.map((bits) => ({ type: 'f64' as const, bits })),
  fc.tuple(u64, u64).map(([low, high]) => ({ type: 'v128' as const, low, high })),
  fc.option(fc.nat({ max: 10_000 })).map((f) => ({ type: 'funcref' as const, function: f })),
  fc.constant({ type: 'externref' as const }),
);

/** Memory images whose chunks are in place: block-aligned, ascending, inside the memory. */
const memoryImage = fc
  .tuple(
    fc.integer({ min: 0, max: 3 }),
    fc.array(fc.tuple(fc.nat(63), fc.uint8Array({ minLength: 1, maxLength: 5000 })), { maxLength: 4 }),
  )
  .map(([pages, raw]) => {
    const chunks: { offset: number; bytes: Uint8Array }[] = [];
    let next = 0;
    for (const [block, bytes] of raw.sort((a, b) => a[0] - b[0])) {
      const offset = Math.max(block * 4096, Math.ceil(next / 4096) * 4096);
      if (offset + bytes.length > pages * 65536) break;
      chunks.push({ offset, bytes });
      next = offset + bytes.length;
    }
    return { pages, chunks };
  });

const contents: fc.Arbitrary<SnapshotContents> = fc.record({
  binding: fc.record({ moduleHash: hash, configHash: hash }),
  host: fc.uint8Array({ maxLength: 64 }),
  globals: fc.array(fc.record({ index: fc.nat(1000), value: savedValue }), { maxLength: 8 }),
  tables: fc.array(
    fc.record({
      index: fc.nat(4),
      elements: fc.array(fc.integer({ min: -1, max: 500 }), { maxLength: 20 }).map((a) => Int32Array.from(a)),
    }),
    { maxLength: 3 },
  ),
  memory: fc.option(memoryImage, { nil: undefined }),
  extensions: fc
    .uniqueArray(fc.tuple(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.uint8Array({ maxLength: 40 })), {
      maxLength: 3,
      selector: ([name]) => name,
    })
    .map((entries) => new Map(entries)),
});

function encoded(value: SnapshotContents): Uint8Array<ArrayBuffer> {
  const result = encodeSnapshot(value);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

const SAMPLE: SnapshotContents = {
  binding: { moduleHash: new Uint8Array(32).fill(1), configHash: new Uint8Array(32).fill(2) },
  host: Uint8Array.of(9, 8, 7),
  globals: [
    { index: 0, value: { type: 'i32', value: -5 } },
    { index: 3, value: { type: 'f32', bits: 0x7fa00001 } },
  ],
  tables: [{ index: 0, elements: Int32Array.of(-1, 2, 3) }],
  memory: { pages: 2, chunks: [{ offset: 4096, bytes: new Uint8Array(5000).fill(0xab) }] },
};

/** About how long a snapshot of {@link SAMPLE} is (its memory chunk, and less than 1 KB more). */
const SAMPLE_BYTES = 6000;

function reason(bytes: Uint8Array): string {
  const decoded = decodeSnapshot(bytes);
  if (decoded.ok) throw new Error('expected the snapshot to be refused');
  expect(decoded.error.code).toBe('SNAPSHOT_ERROR');
  return decoded.error.reason;
}

/**
 * `bytes` with `edit` applied and the checksum made right again (the one of the version it then
 * claims): a well-formed-looking but wrong snapshot.
 */
function forged(bytes: Uint8Array, edit: (copy: Uint8Array, view: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  edit(copy, new DataView(copy.buffer));
  sealSnapshot(copy);
  return copy;
}

/** The checksum's size in the version this library writes. */
const CHECKSUM = 8;

/** A snapshot of this version made into one of an older `version`: its 4-byte checksum instead of 8. */
function asVersion(bytes: Uint8Array, version: number): Uint8Array {
  const old = new Uint8Array(bytes.length - 4);
  old.set(bytes.subarray(0, bytes.length - CHECKSUM));
  const view = new DataView(old.buffer);
  view.setUint16(4, version, true);
  view.setUint32(8, old.length, true);
  sealSnapshot(old);
  return old;
}

describe('the WSNP format', () => {
  it('round-trips every state exactly', () => {
    fc.assert(
      fc.property(contents, (value) => {
        const decoded = decodeSnapshot(encoded(value));
        expect(decoded).toEqual({ ok: true, value });
        // Extensions are written in name order: the same map gives the same bytes, however it was built.
        const reordered = new Map([...(value.extensions ?? [])].reverse());
        expect(encoded({ ...value, extensions: reordered })).toEqual(encoded(value));
      }),
    );
  });

  it('starts with the magic and version, and stores zero memory in no space', () => {
    const bytes = encoded({ ...SAMPLE, memory: { pages: 256, chunks: [] } });
    expect([...bytes.subarray(0, 6)]).toEqual([0x57, 0x53, 0x4e, 0x50, SNAPSHOT_VERSION, 0]);
    expect(bytes.length).toBeLessThan(300);
  });

  it('refuses every single flipped bit, and every truncation', () => {
    const bytes = encoded(SAMPLE);
    for (let at = 0; at < bytes.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = bytes.slice();
        damaged[at] = (damaged[at] as number) ^ (1 << bit);
        expect(decodeSnapshot(damaged).ok).toBe(false);
      }
      expect(reason(bytes.subarray(0, at))).toMatch(/truncated|bad magic/);
    }
  });

  it('says what is wrong', () => {
    const bytes = encoded(SAMPLE);
    expect(reason(new Uint8Array())).toMatch(/bad magic/);
    expect(reason(forged(bytes, (b) => (b[0] = 0x58)))).toMatch(/bad magic/);
    for (const version of [0, SNAPSHOT_VERSION + 1]) {
      expect(
        reason(
          forged(bytes, (_, v) => {
            v.setUint16(4, version, true);
          }),
        ),
      ).toMatch(
        new RegExp(`unsupported format version ${version} \\(this library reads 1 to ${SNAPSHOT_VERSION}\\)`),
      );
    }
    expect(
      reason(
        forged(bytes, (_, v) => {
          v.setUint16(6, 1, true);
        }),
      ),
    ).toMatch(/unknown flags/);
    expect(reason(bytes.subarray(0, 80))).toMatch(/truncated: 80 of/);
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expect(reason(longer)).toMatch(/3 bytes after the end/);
    const corrupted = bytes.slice();
    corrupted[100] = (corrupted[100] as number) ^ 0xff;
    expect(reason(corrupted)).toMatch(/checksum mismatch/);
    expect(reason('WSNP' as unknown as Uint8Array)).toMatch(/Uint8Array/);
  });

  it('refuses a snapshot whose checksum is right but whose structure is not', () => {
    const bytes = encoded(SAMPLE);
    // The host section's id, just after the header.
    expect(reason(forged(bytes, (b) => (b[76] = 7)))).toMatch(/malformed: expected the host section/);
    // The first global's type byte: header, host section (5 + 3), globals header (5), count (4), index (4).
    expect(reason(forged(bytes, (b) => (b[76 + 8 + 5 + 4 + 4] = 0x01)))).toMatch(/unknown value type/);
    const memoryFlag = bytes.length - CHECKSUM - (1 + 4 + 4 + 8 + 5000);
    expect(reason(forged(bytes, (b) => (b[memoryFlag] = 2)))).toMatch(/memory flag 2/);
    expect(
      reason(
        forged(bytes, (_, v) => {
          v.setUint32(memoryFlag + 9, 100, true);
        }),
      ),
    ).toMatch(/out of place/);
    expect(
      reason(
        forged(bytes, (_, v) => {
          v.setUint32(memoryFlag + 5, 7, true);
        }),
      ),
    ).toMatch(/runs past the end/);
    expect(
      reason(
        forged(bytes, (_, v) => {
          v.setUint32(memoryFlag + 1, 0, true);
        }),
      ),
    ).toMatch(/out of place/);
  });

  it('ends with XXH3-64 since version 4, and still reads version 3 (XXH32) and 2 (CRC-32C)', () => {
    const bytes = encoded(SAMPLE);
    const end = bytes.length - CHECKSUM;
    expect(new DataView(bytes.buffer).getBigUint64(end, true)).toBe(xxh3(bytes.subarray(0, end)));
    expect(snapshotChecksum(bytes.subarray(0, end))).toBe(xxh3(bytes.subarray(0, end)));
    const withoutExtensions = { ok: true, value: { ...SAMPLE, extensions: new Map() } };
    for (const [version, checksum] of [
      [3, xxh32],
      [2, crc32c],
    ] as const) {
      const older = asVersion(bytes, version);
      const body = older.subarray(0, older.length - 4);
      const view = new DataView(older.buffer);
      expect(view.getUint32(older.length - 4, true)).toBe(checksum(body));
      expect(decodeSnapshot(older)).toEqual(withoutExtensions);
      // An older version with the other version's checksum is damaged.
      view.setUint32(older.length - 4, (version === 3 ? crc32c : xxh32)(body), true);
      expect(reason(older)).toMatch(/checksum mismatch/);
    }
    // Version 4's checksum is eight bytes: a version 4 header with four after it is truncated.
    const short = bytes.slice(0, 76 + 4);
    new DataView(short.buffer).setUint32(8, short.length, true);
    expect(reason(short)).toMatch(/80 bytes is shorter than a version 4 header/);
  });

  it('seals an edited snapshot for its version, and refuses what is too short to hold a header', () => {
    const bytes = encoded(SAMPLE);
    const edited = bytes.slice();
    edited[76 + 5] = (edited[76 + 5] as number) ^ 1; // a byte of the host state
    expect(reason(edited)).toMatch(/checksum mismatch/);
    expect(sealSnapshot(edited)).toEqual({ ok: true, value: undefined });
    expect(decodeSnapshot(edited).ok).toBe(true);
    for (const short of [new Uint8Array(79), bytes.slice(0, 83)]) {
      const before = short.slice();
      expect(sealSnapshot(short)).toMatchObject({ ok: false, error: { code: 'SNAPSHOT_ERROR' } });
      expect(short).toEqual(before);
    }
    expect(sealSnapshot('WSNP' as never).ok).toBe(false);
  });

  it('reads version 1 snapshots, which have no extensions, and refuses one that claims some', () => {
    const asVersion1 = (contents: SnapshotContents) => asVersion(encoded(contents), 1);
    expect(decodeSnapshot(asVersion1(SAMPLE))).toEqual({
      ok: true,
      value: { ...SAMPLE, extensions: new Map() },
    });
    const withExtension = asVersion1({ ...SAMPLE, extensions: new Map([['wasi', Uint8Array.of(1)]]) });
    expect(reason(withExtension)).toMatch(/malformed: the snapshot section has 14 extra bytes/);
  });

  it('keeps extensions apart by name, and refuses a name twice or not in UTF-8', () => {
    const two = new Map([
      ['wasi', Uint8Array.of(1, 2)],
      ['zz', Uint8Array.of(3)],
    ]);
    const bytes = encoded({ ...SAMPLE, extensions: two });
    const decoded = decodeSnapshot(bytes);
    expect(decoded.ok && [...(decoded.value.extensions ?? [])]).toEqual([...two]);
    // The last extension's name ("zz", just before its one byte and the checksum), made invalid UTF-8.
    const lastName = bytes.length - CHECKSUM - 1 - 2;
    expect(
      reason(
        forged(bytes, (b) => {
          b.set([0xff, 0xfe], lastName);
        }),
      ),
    ).toMatch(/extension name is not UTF-8/);
    const same = encoded({
      ...SAMPLE,
      extensions: new Map([
        ['ab', Uint8Array.of(1)],
        ['ac', Uint8Array.of(1)],
      ]),
    });
    const secondName = same.length - CHECKSUM - 1 - 2;
    expect(
      reason(
        forged(same, (b) => {
          b.set([0x61, 0x62], secondName);
        }),
      ),
    ).toMatch(/"ab" appears twice/);
  });

  it("writes into a buffer of the caller's when it fits, the same bytes at any offset, and a new one when not", () => {
    fc.assert(
      fc.property(contents, fc.nat(40), fc.integer({ min: -8, max: 64 }), (value, offset, spare) => {
        const alone = encoded(value);
        const room = Math.max(0, alone.length + spare);
        const into = new Uint8Array(new ArrayBuffer(offset + room + 8), offset, room).fill(0xee);
        const result = encodeSnapshot(value, into);
        if (!result.ok) throw new Error(result.error.message);
        expect(result.value).toEqual(alone);
        expect(result.value.buffer === into.buffer).toBe(spare >= 0);
        if (spare >= 0) expect(result.value.byteOffset).toBe(offset);
        // What lies past the snapshot, or the whole buffer when it did not fit, is as it was.
        expect(into.subarray(spare >= 0 ? alone.length : 0).every((b) => b === 0xee)).toBe(true);
      }),
    );
  });

  it('refuses to write into a buffer that holds a part longer than 64 bytes of what it would snapshot', () => {
    const memory = new Uint8Array(3 * 65536);
    const sample = {
      ...SAMPLE,
      memory: { pages: 3, chunks: [{ offset: 65536, bytes: memory.subarray(65536) }] },
    };
    const big = new Uint8Array(70_000);
    const withLongHost = { ...SAMPLE, host: big.subarray(69_000, 69_065) };
    for (const [contents, into] of [
      [sample, memory.subarray(0, 65536)],
      [withLongHost, big.subarray(0, 60_000)],
    ] as const) {
      const result = encodeSnapshot(contents, into);
      expect(result).toMatchObject({
        ok: false,
        error: { code: 'SNAPSHOT_ERROR', reason: expect.stringMatching(/shares memory/) as unknown },
      });
    }
    expect(memory.every((b) => b === 0)).toBe(true);
    expect(big.every((b) => b === 0)).toBe(true);
  });

  it('writes the same bytes when short parts (hashes, a small host) are views of the buffer it writes into', () => {
    fc.assert(
      fc.property(
        fc.nat(64),
        fc.uniqueArray(fc.nat(SAMPLE_BYTES - 64), { minLength: 3, maxLength: 3 }),
        (hostLength, [moduleAt, configAt, hostAt]) => {
          const into = new Uint8Array(SAMPLE_BYTES + 4096);
          for (let i = 0; i < into.length; i++) into[i] = (i * 7 + 3) & 0xff;
          const view = (at: number, length: number) => into.subarray(at, at + length);
          const contents: SnapshotContents = {
            ...SAMPLE,
            binding: { moduleHash: view(moduleAt as number, 32), configHash: view(configAt as number, 32) },
            host: view(hostAt as number, hostLength),
          };
          const alone = encoded({
            ...contents,
            binding: {
              moduleHash: contents.binding.moduleHash.slice(),
              configHash: contents.binding.configHash.slice(),
            },
            host: contents.host.slice(),
          });
          const result = encodeSnapshot(contents, into);
          if (!result.ok) throw new Error(result.error.message);
          expect(result.value.buffer).toBe(into.buffer);
          expect(result.value).toEqual(alone);
        },
      ),
    );
  });

  it('refuses to encode hashes of the wrong length', () => {
    const result = encodeSnapshot({
      ...SAMPLE,
      binding: { ...SAMPLE.binding, moduleHash: new Uint8Array(3) },
    });
    expect(result.ok).toBe(false);
  });
});
