import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteReader, WasmDecodeError } from './bytes';
import { derivedModule, forEachDataSegment, readData } from './data-section';
import { findUnknownIndex, indexSpaces } from './indices';
import { instruction } from './instructions';
import { decodeModule, encodeModule, moduleWith } from './module';
import type { DataSegment, WasmModule } from './types';

const PREAMBLE = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** An i32 whose `i32.const` takes one to five bytes. */
const anyI32 = fc.oneof(
  fc.integer({ min: -64, max: 63 }),
  fc.integer({ min: -(2 ** 27), max: 2 ** 27 - 1 }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
);
const contents = fc.uint8Array({ maxLength: 40 });

/** Segments of the plain forms (decoded when first read) and of the others (decoded at once). */
const anySegment: fc.Arbitrary<DataSegment> = fc.oneof(
  fc.record({ mode: fc.constant('passive' as const), memory: fc.constant(0), bytes: contents }),
  anyI32.chain((value) =>
    fc.record({
      mode: fc.constant('active' as const),
      memory: fc.constant(0),
      offset: fc.constant([instruction('i32.const', value)]),
      bytes: contents,
    }),
  ),
  fc.record({
    mode: fc.constant('active' as const),
    memory: fc.integer({ min: 0, max: 2 }),
    offset: fc.constantFrom(
      [instruction('global.get', 0)],
      [instruction('i32.const', 1), instruction('i32.const', 2), instruction('i32.add')],
    ),
    bytes: contents,
  }),
);

/** What `forEachDataSegment` gives for `segments`, worked out from the decoded segments. */
function outlines(segments: readonly DataSegment[]) {
  return segments.map((s) => {
    const [only, ...rest] = s.offset ?? [];
    const constant =
      s.mode === 'active' && only?.op.name === 'i32.const' && rest.length === 0
        ? (only.immediate as number) >>> 0
        : undefined;
    return [s.mode, s.memory, constant, s.bytes.length];
  });
}

function visited(module: WasmModule) {
  const seen: unknown[] = [];
  forEachDataSegment(module, (...args) => seen.push(args));
  return seen;
}

/** A module of one memory and `section` (a data section's content, count included) as its data section. */
function withDataSection(section: readonly number[]): Uint8Array {
  const size: number[] = [];
  for (let rest = section.length; ; rest >>>= 7) {
    if (rest < 0x80) {
      size.push(rest);
      break;
    }
    size.push((rest & 0x7f) | 0x80);
  }
  return Uint8Array.from([...PREAMBLE, 0x05, 0x03, 0x01, 0x00, 0x01, 0x0b, ...size, ...section]);
}

/** Every segment of `bytes`' data section read one by one, as decoding did before segments were left undecoded. */
function decodedEagerly(bytes: Uint8Array): DataSegment[] {
  const reader = new ByteReader(bytes, 14);
  const size = reader.u32();
  const section = new ByteReader(bytes, reader.offset, reader.offset + size);
  const data = section.vector(readData);
  if (!section.done) section.fail(`section 11 has ${section.end - section.offset} unread bytes`);
  return data;
}

describe('data segments decoded when first read', () => {
  it('give the segments, their outlines and their encoding as decoding them at once did (property)', () => {
    fc.assert(
      fc.property(fc.array(anySegment, { maxLength: 12 }), (data) => {
        const bytes = encodeModule(moduleWith({ memories: [{ min: 1, max: undefined }], data }));
        const module = decodeModule(bytes);
        // Before anything reads `data`: the outlines, the count, a copy, and the encodings.
        expect(visited(module)).toEqual(outlines(data));
        expect(indexSpaces(module).data).toBe(data.length);
        const copy = derivedModule(module, { globals: [] });
        expect(encodeModule(copy)).toEqual(bytes);
        expect(encodeModule(module)).toEqual(bytes);
        expect(copy.data).toEqual(data);
        expect(module.data).toBe(copy.data);
        expect(visited(module)).toEqual(outlines(data));
      }),
      { numRuns: 300 },
    );
  });

  it('decode, or refuse with the error of decoding every segment at once, any section content (property)', () => {
    const plainSection = fc
      .array(
        fc.oneof(
          fc.constant([0x01, 0x02, 0xaa, 0xbb]),
          fc.constant([0x00, 0x41, 0x80, 0x80, 0x80, 0x01, 0x0b, 0x00]),
          fc.constant([0x00, 0x41, 0x7f, 0x0b, 0x81, 0x00, 0xcc]),
        ),
        { maxLength: 6 },
      )
      .map((segments) => [segments.length, ...segments.flat()]);
    const damaged = fc
      .tuple(
        plainSection,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.nat(),
      )
      .map(([section, changes, cut]) => {
        const bytes = [...section];
        for (const [at, value] of changes) bytes[at % bytes.length] = value;
        return bytes.slice(0, bytes.length - (cut % 3));
      });
    fc.assert(
      fc.property(fc.oneof(plainSection, damaged), (section) => {
        const bytes = withDataSection(section);
        const outcome = (read: () => readonly DataSegment[]) => {
          try {
            return read();
          } catch (error) {
            expect(error).toBeInstanceOf(WasmDecodeError);
            return (error as Error).message;
          }
        };
        expect(outcome(() => decodeModule(bytes).data)).toEqual(outcome(() => decodedEagerly(bytes)));
      }),
      { numRuns: 1000 },
    );
  });

  it('are the same list for a module and every copy derivedModule makes; spreads and assignments decode them', () => {
    const bytes = withDataSection([2, 0x01, 0x01, 0x07, 0x00, 0x41, 0x10, 0x0b, 0x01, 0x08]);
    const module = decodeModule(bytes);
    const copies = [derivedModule(module, { exports: [] }), derivedModule(derivedModule(module, {}), {})];
    expect(Object.getOwnPropertyDescriptor(copies[1], 'data')).toHaveProperty('get');
    const spread = { ...module };
    expect(Object.getOwnPropertyDescriptor(spread, 'data')?.value).toBe(module.data);
    for (const copy of copies) expect(copy.data).toBe(module.data);
    expect(Object.create(module).data).toBe(module.data);
    expect(module.data.map((s) => [...s.bytes])).toEqual([[7], [8]]);
    // Written as read, by whichever copy; a copy given other segments writes those.
    expect(encodeModule(spread)).toEqual(bytes);
    const replaced = derivedModule(module, { data: [] });
    expect(encodeModule(replaced)).toEqual(encodeModule({ ...module, data: [] }));
    expect(encodeModule(replaced).length).toBeLessThan(bytes.length);
  });

  it('can be replaced by assignment, after which the module writes the new ones', () => {
    const module = decodeModule(withDataSection([1, 0x01, 0x01, 0x07])) as { data: readonly DataSegment[] };
    const segments: DataSegment[] = [{ mode: 'passive', memory: 0, bytes: Uint8Array.of(9, 9) }];
    module.data = segments;
    expect(module.data).toBe(segments);
    const reread = decodeModule(encodeModule(module as WasmModule));
    expect(reread.data.map((s) => [...s.bytes])).toEqual([[9, 9]]);
    expect(visited(module as WasmModule)).toEqual([['passive', 0, undefined, 2]]);
  });

  it('name memory 0 in the first active one, for a module without memory, as when decoded', () => {
    // A passive segment, then an active one: no memory for the second to write to.
    const section = [2, 0x01, 0x00, 0x00, 0x41, 0x00, 0x0b, 0x00];
    const bytes = Uint8Array.from([...PREAMBLE, 0x0b, section.length, ...section]);
    const module = decodeModule(bytes);
    const expected = 'unknown memory 0 in data segment 1';
    expect(findUnknownIndex(module)).toContain(expected);
    expect(findUnknownIndex({ ...module })).toBe(findUnknownIndex(module));
    expect(findUnknownIndex(decodeModule(withDataSection(section)))).toBeUndefined();
  });

  it('are written as an unsigned address when their i32.const offset is negative', () => {
    const module = decodeModule(withDataSection([1, 0x00, 0x41, 0x70, 0x0b, 0x01, 0x05]));
    expect(visited(module)).toEqual([['active', 0, 2 ** 32 - 16, 1]]);
  });
});
