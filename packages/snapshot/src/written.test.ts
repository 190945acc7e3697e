import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WASM_PAGE_BYTES, decodeModule, encodeModule } from '@ri-sandbox/core';
import { FIXTURE_NAMES, fixture, fuzzModules } from '@ri-sandbox/test-fixtures';
import { wat } from '../../core/test/wat';
import { fixtureImports, fuzzImports } from '../../metering/test/differential';
import { captureState } from './capture';
import { exposeState } from './expose';
import type { StateLayout } from './layout';
import { applyState } from './restore';
import { type InstanceImage, MEMORY_BLOCK_BYTES, type MemoryChunk } from './state';
import { type MemoryRange, chunkRanges, dataSegmentRanges } from './written';

describe('dataSegmentRanges', () => {
  it('gives the bytes each active segment of memory 0 writes, in segment order', () => {
    const module = decodeModule(
      wat(`(module
        (memory 2)
        (data (i32.const 70000) "abc")
        (data "passive, never written at instantiation")
        (data (i32.const 8) "hello")
        (data (i32.const 100) ""))`),
    );
    expect(dataSegmentRanges(module)).toEqual([
      { start: 70000, end: 70003 },
      { start: 8, end: 13 },
      { start: 100, end: 100 },
    ]);
  });

  it('gives the same ranges whether the segments were decoded or not', () => {
    const module = decodeModule(
      wat(`(module (memory 1) (data "p") (data (i32.const 300) "ab") (data (i32.const 4) "xyz"))`),
    );
    const ranges = dataSegmentRanges(module);
    expect(ranges).toEqual([
      { start: 300, end: 302 },
      { start: 4, end: 7 },
    ]);
    expect(dataSegmentRanges({ ...module })).toEqual(ranges);
  });

  it('reads an offset as unsigned', () => {
    const high = decodeModule(wat(`(module (memory 1) (data (i32.const -65536) "x"))`));
    expect(dataSegmentRanges(high)).toEqual([{ start: 2 ** 32 - 65536, end: 2 ** 32 - 65535 }]);
  });

  it('is empty for a module without active segments, and undefined when an offset is not a constant', () => {
    expect(dataSegmentRanges(decodeModule(wat(`(module (memory 1))`)))).toEqual([]);
    const imported = decodeModule(
      wat(`(module (import "env" "base" (global $base i32)) (memory 1) (data (global.get $base) "x"))`),
    );
    expect(dataSegmentRanges(imported)).toBeUndefined();
  });
});

/** A memory of `pages` pages with `writes` applied (each cut at its end, none past it). */
function memoryWith(pages: number, writes: readonly { at: number; bytes: Uint8Array }[]) {
  const memory = new WebAssembly.Memory({ initial: pages });
  const view = new Uint8Array(memory.buffer);
  for (const { at, bytes } of writes) if (at < view.length) view.set(bytes.subarray(0, view.length - at), at);
  return memory;
}

const memoryLayout = (memory: WebAssembly.Memory) => {
  const instance = { exports: { memory } } as unknown as WebAssembly.Instance;
  const layout: StateLayout = {
    memory: 'memory',
    globals: [],
    tables: [],
    functions: [],
    dropFlags: [],
    redrop: undefined,
    start: undefined,
  };
  return { instance, layout };
};

/** The chunks a capture of `memory` finds, reading only where `written` says when it is given. */
function captured(memory: WebAssembly.Memory, written?: readonly MemoryRange[]): readonly MemoryChunk[] {
  const { instance, layout } = memoryLayout(memory);
  const image = captureState(instance, layout, { written });
  if (!image.ok) throw new Error(image.error.message);
  return image.value.memory?.chunks ?? [];
}

/**
 * Where the chunks of a capture of `memory` are: two captures of one memory that agree on it hold the
 * same bytes (each chunk is a view of the memory).
 */
const chunkPlaces = (memory: WebAssembly.Memory, written?: readonly MemoryRange[]) =>
  captured(memory, written).map((c) => `${c.offset}+${c.bytes.length}`);

const chunks = (memory: WebAssembly.Memory, written?: readonly MemoryRange[]) =>
  captured(memory, written).map((c) => ({ offset: c.offset, bytes: [...c.bytes] }));

describe('captureState with the written ranges', () => {
  it('finds the chunks a scan of the whole memory finds, when nothing is written elsewhere', () => {
    const pages = 3;
    const size = pages * WASM_PAGE_BYTES;
    const write = fc.record({
      at: fc.nat(size - 1),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 3 * MEMORY_BLOCK_BYTES }),
    });
    fc.assert(
      fc.property(
        fc.array(write, { maxLength: 8 }),
        fc.array(fc.record({ at: fc.nat(size - 1), length: fc.nat(2 * MEMORY_BLOCK_BYTES) }), {
          maxLength: 3,
        }),
        (writes, unwritten) => {
          const memory = memoryWith(pages, writes);
          // The ranges the writes cover, and some where nothing was written (a segment of zeros).
          const written: MemoryRange[] = [
            ...writes.map(({ at, bytes }) => ({ start: at, end: at + bytes.length })),
            ...unwritten.map(({ at, length }) => ({ start: at, end: at + length })),
          ];
          expect(chunkPlaces(memory, written)).toEqual(chunkPlaces(memory));
        },
      ),
    );
  });

  it('reads only the blocks the ranges touch', () => {
    const memory = memoryWith(2, [
      { at: 10, bytes: new Uint8Array([1]) },
      { at: 5 * MEMORY_BLOCK_BYTES, bytes: new Uint8Array([2]) },
    ]);
    expect(chunks(memory, [{ start: 0, end: 11 }])).toEqual([
      { offset: 0, bytes: [...new Uint8Array(MEMORY_BLOCK_BYTES).fill(1, 10, 11)] },
    ]);
    expect(chunks(memory, [])).toEqual([]);
  });

  it('scans a large run of blocks by the kernel, and gives what the whole scan gives', () => {
    const writes = [
      { at: 3, bytes: new Uint8Array(2 * WASM_PAGE_BYTES).fill(7) },
      { at: 9 * WASM_PAGE_BYTES + 1, bytes: new Uint8Array([9]) },
    ];
    const memory = memoryWith(16, writes);
    const written = writes.map(({ at, bytes }) => ({ start: at, end: at + bytes.length }));
    expect(chunkPlaces(memory, written)).toEqual(chunkPlaces(memory));
  });
});

const CORPUS: readonly (readonly [string, Uint8Array<ArrayBuffer>])[] = [
  ...FIXTURE_NAMES.map((name) => [name, fixture(name)] as const),
  ...fuzzModules().map((m) => [m.name, m.bytes] as const),
];

describe('a fresh instance, captured where its data segments wrote, as captured whole', () => {
  it.each(CORPUS)('for %s', (_name, bytes) => {
    const module = decodeModule(bytes);
    const exposed = exposeState(module);
    if (!exposed.ok) throw new Error(exposed.error.message);
    const { layout } = exposed.value;
    const rewritten = new Uint8Array(encodeModule(exposed.value.module));
    const imports = { ...fuzzImports(rewritten, [], () => ({})), ...fixtureImports() };
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(new WebAssembly.Module(rewritten), imports);
    } catch {
      return; // A segment out of bounds (instantiation refused): nothing to capture.
    }
    const written = dataSegmentRanges(module);
    expect(written).toBeDefined();
    expect(captureState(instance, layout, { written })).toEqual(captureState(instance, layout));
  });
});

/** The first index at which `a` and `b` differ (a length, if one is the other's start), or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : length;
}

/** A memory image of `pages` pages from `writes`, as a capture finds it: ascending chunks of whole blocks. */
function imageOf(pages: number, writes: readonly { at: number; bytes: Uint8Array }[]): InstanceImage {
  // Copies, not views of the memory the image was taken from.
  const copies = captured(memoryWith(pages, writes)).map((c) => ({
    offset: c.offset,
    bytes: c.bytes.slice(),
  }));
  return { globals: [], tables: [], memory: { pages, chunks: copies } };
}

describe('applyState with the written ranges', () => {
  const write = (size: number) =>
    fc.record({
      at: fc.nat(size - 1),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 2 * MEMORY_BLOCK_BYTES }),
    });

  it('leaves the memory as applying the state without them does, when nothing is written elsewhere', () => {
    const pages = 2;
    fc.assert(
      fc.property(
        fc.array(write(pages * WASM_PAGE_BYTES), { maxLength: 6 }),
        fc.array(write(3 * WASM_PAGE_BYTES), { maxLength: 6 }),
        fc.integer({ min: pages, max: 3 }),
        (before, state, statePages) => {
          const image = imageOf(statePages, state);
          const written = before.map(({ at, bytes }) => ({ start: at, end: at + bytes.length }));
          const targets = [memoryWith(pages, before), memoryWith(pages, before)];
          const results = targets.map((memory, i) => {
            const { instance, layout } = memoryLayout(memory);
            expect(applyState(instance, layout, image, i === 0 ? { written } : {}).ok).toBe(true);
            return new Uint8Array(memory.buffer);
          });
          // (Not `toEqual`: it compares 128 KiB element by element, seconds a run with coverage.)
          expect(firstDifference(results[0] as Uint8Array, results[1] as Uint8Array)).toBe(-1);
        },
      ),
    );
  });

  it('clears only inside them: a byte outside, which the caller said was zero, is left as it is', () => {
    const memory = memoryWith(1, [
      { at: 100, bytes: new Uint8Array([1]) },
      { at: 3 * MEMORY_BLOCK_BYTES, bytes: new Uint8Array([2]) },
    ]);
    const { instance, layout } = memoryLayout(memory);
    const empty: InstanceImage = { globals: [], tables: [], memory: { pages: 1, chunks: [] } };
    expect(applyState(instance, layout, empty, { written: [{ start: 100, end: 101 }] }).ok).toBe(true);
    const bytes = new Uint8Array(memory.buffer);
    expect([bytes[100], bytes[3 * MEMORY_BLOCK_BYTES]]).toEqual([0, 2]);
  });

  it('gives, after a state is applied, the ranges of its chunks as where the memory may be written', () => {
    const image = imageOf(1, [{ at: 5000, bytes: new Uint8Array([1, 2]) }]);
    expect(chunkRanges(image)).toEqual([{ start: 4096, end: 8192 }]);
    expect(chunkRanges({ globals: [], tables: [], memory: undefined })).toEqual([]);
  });
});
