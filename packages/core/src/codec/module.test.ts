import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { FIXTURE_NAMES, fixture, fixtureInfo } from '@ri-sandbox/test-fixtures';
import { anyModule } from '../../test/arbitrary';
import { wat } from '../../test/wat';
import { ByteWriter, WasmDecodeError, WasmEncodeError } from './bytes';
import { decodeInstructions, encodeInstructions, instruction } from './instructions';
import { decodeImports, decodeModule, encodeModule, moduleWith } from './module';
import { readNameSection } from './names';
import { ValType, type WasmModule } from './types';

function withoutAnchors(module: WasmModule) {
  return { ...module, customSections: module.customSections.map(({ name, bytes }) => ({ name, bytes })) };
}

describe('decodeModule / encodeModule', () => {
  it.each(FIXTURE_NAMES)('round-trips %s byte for byte', (name) => {
    const bytes = fixture(name);
    expect(encodeModule(decodeModule(bytes))).toEqual(bytes);
  });

  it.each(FIXTURE_NAMES)('encodes %s into a buffer sized once, handed out without a copy', (name) => {
    const module = decodeModule(fixture(name));
    const slice = vi.spyOn(Uint8Array.prototype, 'slice');
    const encoded = encodeModule(module);
    const copies = slice.mock.calls.length;
    slice.mockRestore();
    expect(copies).toBe(0);
    expect(encoded.buffer.byteLength).toBe(encoded.length);
  });

  it.each(FIXTURE_NAMES.filter((name) => fixtureInfo(name).origin === 'wat'))(
    're-encodes every instruction of %s to the same bytes',
    (name) => {
      for (const body of decodeModule(fixture(name)).code) {
        expect(encodeInstructions(decodeInstructions(body.code))).toEqual(body.code);
      }
    },
  );

  // wasm-ld pads relocated LEB128s (call targets, addresses) to 5 bytes; the codec writes
  // the canonical shortest form, so clang output gets smaller but must decode to the same
  // instructions and behave the same.
  it.each(FIXTURE_NAMES.filter((name) => fixtureInfo(name).origin === 'clang'))(
    're-encodes every instruction of %s to an equivalent body',
    (name) => {
      for (const body of decodeModule(fixture(name)).code) {
        const instructions = decodeInstructions(body.code);
        const reencoded = encodeInstructions(instructions);
        expect(reencoded.length).toBeLessThanOrEqual(body.code.length);
        expect(decodeInstructions(reencoded)).toEqual(instructions);
      }
    },
  );

  it('re-encodes real compiler output, instruction by instruction, to a module that behaves identically', async () => {
    const original = fixture('sha256');
    const module = decodeModule(original);
    const copy = encodeModule({
      ...module,
      code: module.code.map((body) => ({ ...body, code: encodeInstructions(decodeInstructions(body.code)) })),
    });
    expect(copy.length).toBeLessThan(original.length);
    const run = async (bytes: Uint8Array<ArrayBuffer>) => {
      const { instance } = await WebAssembly.instantiate(bytes);
      return (instance.exports['sha256_pattern'] as (n: number) => number)(100_000);
    };
    expect(await run(copy)).toBe(await run(original));
  });

  it('round-trips any structurally well-formed module (property)', () => {
    fc.assert(
      fc.property(anyModule, (module) => {
        const bytes = encodeModule(module);
        const decoded = decodeModule(bytes);
        expect(encodeModule(decoded)).toEqual(bytes);
        expect(withoutAnchors(decoded)).toEqual(
          expect.objectContaining({
            ...withoutAnchors(module),
            customSections: expect.any(Array) as unknown,
          }),
        );
        expect(decoded.customSections.map((c) => c.name).sort()).toEqual(
          module.customSections.map((c) => c.name).sort(),
        );
        decoded.code.forEach((body, i) => {
          expect(encodeInstructions(decodeInstructions(body.code))).toEqual(module.code[i]!.code);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('encodes the same bytes transiently, into one buffer reused by the next transient encoding (property)', () => {
    const buffers = new Set<ArrayBufferLike>();
    fc.assert(
      fc.property(anyModule, anyModule, (first, second) => {
        const owned = [encodeModule(first), encodeModule(second)];
        const a = encodeModule(first, { transient: true });
        expect(a).toEqual(owned[0]);
        const b = encodeModule(second, { transient: true });
        expect(b).toEqual(owned[1]);
        // An owned encoding fills a buffer of its own; the transient one is a view of the kept buffer.
        expect(owned[0]!.byteLength).toBe(owned[0]!.buffer.byteLength);
        if (a.buffer.byteLength >= b.length) expect(b.buffer).toBe(a.buffer);
        buffers.add(b.buffer);
      }),
      { numRuns: 100 },
    );
    // Grown only when a larger module came: far fewer buffers than encodings.
    expect(buffers.size).toBeLessThan(20);
  });

  it('keeps export names that start with a byte order mark (names.wast)', async () => {
    const bytes = wat(`(module
      (func (export "") (result i32) (i32.const 0))
      (func (export "\\ef\\bb\\bf") (result i32) (i32.const 1)))`);
    const module = decodeModule(bytes);
    expect(module.exports.map((e) => e.name)).toEqual(['', '\u{FEFF}']);
    const copy = encodeModule(module);
    expect(copy).toEqual(bytes);
    const { instance } = await WebAssembly.instantiate(copy);
    expect((instance.exports['\u{FEFF}'] as () => number)()).toBe(1);
  });

  it('keeps custom sections where they were', () => {
    const module = decodeModule(fixture('sha256'));
    const names = module.customSections.map((c) => [c.name, c.after]);
    expect(names).toEqual([
      ['name', 11],
      ['producers', 11],
    ]);
    const moved = encodeModule({ ...module, data: [] });
    expect(decodeModule(moved).customSections.map((c) => c.name)).toEqual(['name', 'producers']);
  });

  it('writes a data section it decoded as it was read, and one a pass made anew from its segments', () => {
    // One active segment at offset 3 whose length is a padded LEB128 (0x82 0x00 for 2): valid, not minimal.
    const section = [1, 0x00, 0x41, 3, 0x0b, 0x82, 0x00, 7, 8];
    const bytes = Uint8Array.from([
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      ...[0x05, 0x03, 0x01, 0x00, 0x01], // memory 1
      ...[0x0b, section.length, ...section],
    ]);
    const module = decodeModule(bytes);
    expect([...module.data[0]!.bytes]).toEqual([7, 8]);
    expect(encodeModule(module)).toEqual(bytes);
    expect(encodeModule({ ...module, globals: [] })).toEqual(bytes);
    // A new list of the same segments: encoded from them, minimal again.
    const remade = encodeModule({ ...module, data: [...module.data] });
    expect(remade.length).toBe(bytes.length - 1);
    expect(decodeModule(remade).data).toEqual(module.data);
  });

  it('decodes every section kind wabt can produce', () => {
    const bytes = wat(
      `(module
      (type $t (func (param i32) (result i32)))
      (import "env" "f" (func $imp (type $t)))
      (import "env" "tab" (table 1 2 funcref))
      (import "env" "mem" (memory 1 2 shared))
      (import "env" "g" (global $ig i64))
      (import "env" "e" (tag $ie (param i32)))
      (table $t2 3 externref)
      (tag $e (param f64))
      (global $g (mut f32) (f32.const 1.5))
      (global $r funcref (ref.func $f))
      (func $f (type $t) (local i64 i64 f32) local.get 0)
      (start $s)
      (func $s)
      (export "f" (func $f))
      (export "t2" (table $t2))
      (export "g" (global $g))
      (export "e" (tag $e))
      (elem (i32.const 0) $f)
      (elem $p funcref (ref.func $f) (ref.null func))
      (elem declare func $s)
      (elem (table $t2) (i32.const 0) externref (ref.null extern))
      (data (i32.const 8) "hi")
      (data $passive "passive")
      (func (memory.init $passive (i32.const 0) (i32.const 0) (i32.const 1)) (data.drop $passive)))`,
      { validate: false },
    );
    const module = decodeModule(bytes);
    expect(module.imports.map((i) => i.descriptor.kind)).toEqual([
      'function',
      'table',
      'memory',
      'global',
      'tag',
    ]);
    expect(module.imports[2]!.descriptor).toEqual({
      kind: 'memory',
      memory: { min: 1, max: 2, shared: true },
    });
    expect(module.tables).toEqual([{ elementType: 0x6f, limits: { min: 3, max: undefined } }]);
    expect(module.tags).toHaveLength(1);
    expect(module.types[module.tags[0]!.type]).toEqual({ params: [0x7c], results: [] });
    expect(module.globals).toHaveLength(2);
    expect(module.start).toBe(2);
    expect(module.elements.map((e) => e.mode)).toEqual(['active', 'passive', 'declarative', 'active']);
    expect(module.elements[3]).toMatchObject({ table: 1, elementType: 0x6f });
    expect(module.data.map((d) => d.mode)).toEqual(['active', 'passive']);
    expect(module.dataCount).toBe(2);
    expect(module.code[0]!.locals).toEqual([
      { count: 2, type: 0x7e },
      { count: 1, type: 0x7d },
    ]);
    expect(encodeModule(module)).toEqual(bytes);
    expect(readNameSection(module)?.functions.get(1)).toBe('f');
  });
});

describe('malformed input', () => {
  it.each([
    ['empty input', new Uint8Array(), /empty input/],
    ['too short', new Uint8Array([0, 0x61]), /too short/],
    ['bad magic', new Uint8Array([1, 2, 3, 4, 1, 0, 0, 0]), /bad magic/],
    ['bad version', new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]), /version/],
    ['unknown section', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 14, 0]), /unknown section id 14/],
    ['section past the end', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 9, 0]), /claims 9 bytes/],
    [
      'sections out of order',
      new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 3, 1, 0, 1, 1, 0]),
      /out of order/,
    ],
    [
      'trailing bytes in a section',
      new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 2, 0, 0]),
      /unread bytes/,
    ],
    [
      'function without body',
      new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0]),
      /code section has 0/,
    ],
    ['memory64', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 4, 1]), /memory64/],
    ['bad limits flag', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 9, 1]), /limits flags/],
    [
      'bad function type form',
      new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 2, 1, 0x50]),
      /function type/,
    ],
    [
      'more than 2^32 - 1 locals in all (binary.wast: too many locals)',
      // prettier-ignore
      new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0,
        10, 12, 1, 10, 2, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 2, 0x7e, 0x0b]),
      /more than 2\^32 - 1 locals/,
    ],
    ['bad name UTF-8', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, 2, 1, 0xff]), /UTF-8/],
    [
      'bad external kind',
      new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 7, 4, 1, 0, 9, 0]),
      /external kind/,
    ],
    [
      'bad mutability',
      new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 6, 6, 1, 0x7f, 2, 0x41, 0, 0x0b]),
      /mutability/,
    ],
    [
      'bad element flags',
      new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 9, 2, 1, 8]),
      /element segment flags/,
    ],
    ['bad element kind', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 9, 4, 1, 1, 5, 0]), /element kind/],
    ['bad data flags', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 11, 2, 1, 3]), /data segment flags/],
    ['bad tag attribute', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 13, 3, 1, 1, 0]), /tag attribute/],
    [
      'body larger than its section',
      new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 10, 2, 1, 9]),
      /exceeds the section/,
    ],
    [
      'body without instructions',
      new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 10, 3, 1, 1, 0]),
      /no instructions/,
    ],
    [
      'body with local groups and no instructions',
      // prettier-ignore
      new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0,
        10, 5, 1, 3, 1, 1, 0x7f]),
      /no instructions/,
    ],
    [
      'more local groups than the body holds',
      // prettier-ignore
      new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0,
        10, 5, 1, 3, 3, 1, 0x7f]),
      /exceeds the remaining/,
    ],
    [
      'vector longer than input',
      new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 2, 0x7f, 0]),
      /exceeds the remaining/,
    ],
  ])('%s is a WasmDecodeError', (_label, bytes, message) => {
    expect(() => decodeModule(bytes)).toThrow(WasmDecodeError);
    expect(() => decodeModule(bytes)).toThrow(message);
  });

  it('reads the local groups of a body, in their usual form or not, as they were written', () => {
    // Fewer than 128 groups of fewer than 128 locals each are read straight from the bytes; more of
    // either (two-byte LEB128s) by the general reading. Both must give the groups written.
    const group = fc.record({
      count: fc.oneof(fc.integer({ min: 0, max: 127 }), fc.integer({ min: 128, max: 100_000 })),
      type: fc.constantFrom(ValType.i32, ValType.i64, ValType.f32, ValType.f64, ValType.v128),
    });
    fc.assert(
      fc.property(fc.array(group, { maxLength: 200 }), (groups) => {
        const body = new ByteWriter().u32(groups.length);
        for (const { count, type } of groups) body.u32(count).u8(type);
        body.u8(0x01).u8(0x0b);
        const code = new ByteWriter().u32(1).u32(body.size).append(body);
        const bytes = new ByteWriter()
          .bytes(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10))
          .u32(code.size)
          .append(code)
          .finish();
        const module = decodeModule(bytes);
        expect(module.code[0]?.locals).toEqual(groups);
        expect([...(module.code[0]?.code ?? [])]).toEqual([0x01, 0x0b]);
        expect(encodeModule(module)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('reports an unknown opcode with its encoding', () => {
    expect(() => decodeInstructions(new Uint8Array([0xff]))).toThrow(/unknown opcode 0xff/);
    expect(() => decodeInstructions(new Uint8Array([0xfd, 0x9a, 0x01]))).toThrow(/unknown opcode 0xfd 154/);
  });

  it('rejects every truncation of a real module with a WasmDecodeError, never anything else', () => {
    const bytes = fixture('sort');
    for (let length = 0; length < bytes.length; length += 97) {
      expect(() => decodeModule(bytes.subarray(0, length))).toThrow(WasmDecodeError);
    }
  });

  it('either decodes or throws WasmDecodeError on random corruption (property)', () => {
    const original = fixture('json-echo');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(original.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (flips) => {
          const bytes = original.slice();
          for (const [at, value] of flips) bytes[at] = value;
          try {
            const module = decodeModule(bytes);
            for (const body of module.code) decodeInstructions(body.code);
          } catch (error) {
            expect(error).toBeInstanceOf(WasmDecodeError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses to encode inconsistent modules', () => {
    const module = decodeModule(fixture('add'));
    expect(() => encodeModule({ ...module, functions: [] })).toThrow(WasmEncodeError);
    expect(() =>
      encodeModule({
        ...module,
        elements: [
          { mode: 'passive', table: 0, elementType: 0x6f, init: { kind: 'functions', indices: [0] } },
        ],
      }),
    ).toThrow(/funcref/);
    const tooMany = [
      { count: 2 ** 31, type: ValType.i32 },
      { count: 2 ** 31, type: ValType.i64 },
    ];
    const code = module.code.map((body, i) => (i === 0 ? { ...body, locals: tooMany } : body));
    expect(() => encodeModule({ ...module, code })).toThrow(/2\^32 - 1/);
  });

  it('refuses instructions whose immediate does not fit', () => {
    expect(() => instruction('no.such.op')).toThrow(WasmEncodeError);
    expect(() => encodeInstructions([instruction('i32.const', 'x' as never)])).toThrow(
      /invalid immediate for i32.const/,
    );
    expect(() => encodeInstructions([instruction('v128.const', new Uint8Array(3))])).toThrow(WasmEncodeError);
    expect(() => encodeInstructions([instruction('br_table', 5)])).toThrow(WasmEncodeError);
    expect(() => encodeInstructions([instruction('memory.copy', [1] as never)])).toThrow(WasmEncodeError);
    expect(() => encodeInstructions([instruction('i64.const', 5)])).toThrow(WasmEncodeError);
    expect(() => encodeInstructions([instruction('f64.const', 5)])).toThrow(WasmEncodeError);
    expect(() => encodeInstructions([instruction('select_t', 5)])).toThrow(WasmEncodeError);
    expect(() => encodeInstructions([instruction('local.get', -1)])).toThrow(/not a u32/);
  });
});

describe('moduleWith', () => {
  it('is a module of only the parts given, which encodes as one with nothing else', () => {
    const types = [{ params: [ValType.i32], results: [ValType.i32] }];
    const imports = [{ module: 'env', name: 'f', descriptor: { kind: 'function' as const, type: 0 } }];
    const module = moduleWith({ types, imports });
    expect(module.types).toBe(types);
    expect(module.imports).toBe(imports);
    expect([module.functions, module.code, module.data, module.exports, module.customSections]).toEqual([
      [],
      [],
      [],
      [],
      [],
    ]);
    expect([module.start, module.dataCount]).toEqual([undefined, undefined]);
    const decoded = decodeModule(encodeModule(module));
    expect(decoded.types).toEqual(types);
    expect(decoded.imports).toEqual(imports);
    // Each call makes lists of its own.
    expect(moduleWith({}).functions).not.toBe(moduleWith({}).functions);
  });
});

describe('decodeImports', () => {
  const PREAMBLE = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
  /** `(type (func (param i32)))` and `(import "env" "f" (func (type 0)))`. */
  const TYPE_AND_IMPORT = [1, 5, 1, 0x60, 1, 0x7f, 0, 2, 9, 1, 3, 0x65, 0x6e, 0x76, 1, 0x66, 0, 0];

  it("gives decodeModule's types and imports, for any structurally well-formed module (property)", () => {
    fc.assert(
      fc.property(anyModule, (module) => {
        const bytes = encodeModule(module);
        const whole = decodeModule(bytes);
        expect(decodeImports(bytes)).toEqual({ types: whole.types, imports: whole.imports });
      }),
      { numRuns: 200 },
    );
    for (const name of FIXTURE_NAMES) {
      const whole = decodeModule(fixture(name));
      expect(decodeImports(fixture(name))).toEqual({ types: whole.types, imports: whole.imports });
    }
  });

  it('reads nothing after the import section: a module whose code is damaged still gives its imports', () => {
    // A function section declaring one function, then a code section of one body that claims 9 bytes.
    const bytes = new Uint8Array([...PREAMBLE, ...TYPE_AND_IMPORT, 3, 2, 1, 0, 10, 3, 1, 9, 0]);
    expect(() => decodeModule(bytes)).toThrow(WasmDecodeError);
    expect(decodeImports(bytes)).toEqual({
      types: [{ params: [ValType.i32], results: [] }],
      imports: [{ module: 'env', name: 'f', descriptor: { kind: 'function', type: 0 } }],
    });
  });

  it('checks what it reads, as decodeModule does', () => {
    // The import section claims one byte more than the module holds.
    const past = new Uint8Array([
      ...PREAMBLE,
      1,
      5,
      1,
      0x60,
      1,
      0x7f,
      0,
      2,
      10,
      1,
      3,
      0x65,
      0x6e,
      0x76,
      1,
      0x66,
      0,
      0,
    ]);
    expect(() => decodeImports(past)).toThrow(/claims 10 bytes/);
    // An import section before the type section.
    const disordered = new Uint8Array([
      ...PREAMBLE,
      ...TYPE_AND_IMPORT.slice(7),
      ...TYPE_AND_IMPORT.slice(0, 7),
    ]);
    expect(() => decodeImports(disordered)).toThrow(/out of order/);
    expect(() => decodeImports(new Uint8Array([1, 2, 3, 4, 1, 0, 0, 0]))).toThrow(/bad magic/);
  });
});
