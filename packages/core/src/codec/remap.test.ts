import { describe, expect, it } from 'vitest';
import { wat } from '../../test/wat';
import { ByteReader, ByteWriter } from './bytes';
import { decodeModule } from './module';
import { readNameSection } from './names';
import { SectionId } from './types';
import { importedFunctionCount, remapFunctionReferences } from './remap';

const shift = (index: number) => (index >= 1 ? index + 10 : index);

/** A name section with a function map, a local map and a label map, each naming function 1. */
function nameSection(): Uint8Array {
  const indirect = (id: number) =>
    new ByteWriter().vector([1], (w, index) => w.u32(index).vector([0], (v, n) => v.u32(n).name(`n${id}`)));
  const sections = new ByteWriter()
    .u8(1)
    .byteVector(new ByteWriter().vector([1], (w, index) => w.u32(index).name('f')).finish())
    .u8(2)
    .byteVector(indirect(2).finish())
    .u8(3)
    .byteVector(indirect(3).finish())
    .u8(7)
    .byteVector(new ByteWriter().vector([1], (w, index) => w.u32(index).name('g')).finish());
  return sections.finish();
}

/** The function indices each subsection of a name section is keyed by. */
function keysBySubsection(bytes: Uint8Array): Record<number, number[]> {
  const reader = new ByteReader(bytes);
  const keys: Record<number, number[]> = {};
  while (!reader.done) {
    const id = reader.u8();
    const sub = new ByteReader(reader.byteVector());
    keys[id] = sub.vector((r) => {
      const index = r.u32();
      if (id === 1 || id === 7) r.name();
      else r.vector((inner) => [inner.u32(), inner.name()]);
      return index;
    });
  }
  return keys;
}

describe('remapFunctionReferences', () => {
  const module = decodeModule(
    wat(`(module
      (import "env" "f" (func $imp))
      (table 2 funcref)
      (elem (i32.const 0) func $a $imp)
      (elem funcref (ref.func $a) (ref.null func))
      (global funcref (ref.func $a))
      (global i32 (i32.const 7))
      (func $a)
      (export "a" (func $a))
      (export "imp" (func $imp))
      (export "t" (table 0))
      (start $a))`),
  );

  it('renumbers exports, the start function, element segments and global initializers', () => {
    const remapped = remapFunctionReferences(module, shift);
    expect(remapped.exports.map((e) => [e.name, e.index])).toEqual([
      ['a', 11],
      ['imp', 0],
      ['t', 0],
    ]);
    expect(remapped.start).toBe(11);
    expect(remapped.elements[0]?.init).toEqual({ kind: 'functions', indices: [11, 0] });
    const expressions = remapped.elements[1]?.init;
    expect(
      expressions?.kind === 'expressions' && expressions.expressions.map((e) => e[0]?.immediate),
    ).toEqual([11, expect.anything()]);
    expect(remapped.globals.map((g) => g.init[0]?.immediate)).toEqual([11, 7]);
    expect(importedFunctionCount(remapped)).toBe(1);
  });

  it('renumbers the function, local and label name maps, and leaves the others alone', () => {
    const named = {
      ...module,
      customSections: [{ name: 'name', bytes: nameSection(), after: SectionId.data }],
    };
    const section = remapFunctionReferences(named, shift).customSections[0];
    expect(keysBySubsection(section?.bytes ?? new Uint8Array())).toEqual({
      1: [11],
      2: [11],
      3: [11],
      7: [1],
    });
    expect(readNameSection({ ...named, customSections: section === undefined ? [] : [section] })).toEqual({
      module: undefined,
      functions: new Map([[11, 'f']]),
      globals: new Map([[1, 'g']]),
    });
  });

  it('copies names byte for byte, not as text (a name that is not UTF-8 stays as it was)', () => {
    const named = {
      ...module,
      customSections: [
        { name: 'name', bytes: Uint8Array.of(1, 5, 1, 1, 2, 0xff, 0xfe), after: SectionId.data },
      ],
    };
    expect(remapFunctionReferences(named, shift).customSections[0]?.bytes).toEqual(
      Uint8Array.of(1, 5, 1, 11, 2, 0xff, 0xfe),
    );
  });

  it('drops a name section it cannot read, and keeps other custom sections', () => {
    const broken = {
      ...module,
      customSections: [
        { name: 'name', bytes: Uint8Array.of(1, 5, 1), after: SectionId.data },
        { name: 'producers', bytes: Uint8Array.of(0), after: SectionId.data },
      ],
    };
    expect(remapFunctionReferences(broken, shift).customSections.map((c) => c.name)).toEqual(['producers']);
  });
});
