import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteWriter } from './bytes';
import { type BodyRider, Insertions, Splicer, applyRiders, finishRiders } from './insertions';
import { encodeInstructions, instruction } from './instructions';
import { type LocalGroup, ValType } from './types';
import { Visitors, walkBody } from './walk';

/** Insertions made of `[offset, bytes]` pairs (offsets in order). */
function insertionsOf(pairs: readonly (readonly [number, readonly number[]])[]): Insertions {
  const insertions = new Insertions();
  for (const [offset, bytes] of pairs) {
    const w = insertions.at(offset);
    for (const byte of bytes) w.u8(byte);
  }
  return insertions;
}

/** The same result, one insertion at a time from the end (the obvious way). */
function naive(
  code: readonly number[],
  lists: readonly (readonly (readonly [number, readonly number[]])[])[],
) {
  const all = lists.flatMap((pairs, list) => pairs.map(([offset, bytes], i) => ({ offset, bytes, list, i })));
  all.sort((a, b) => a.offset - b.offset || a.list - b.list || a.i - b.i);
  const out: number[] = [];
  let copied = 0;
  for (const { offset, bytes } of all) {
    out.push(...code.slice(copied, offset), ...bytes);
    copied = offset;
  }
  return [...out, ...code.slice(copied)];
}

/** A rider that scans nothing and inserts `trailing` and the `locals` given. */
function riderOf(trailing: Insertions, locals: readonly LocalGroup[] = []): BodyRider {
  return { scan: { visit: () => undefined }, finish: () => ({ trailing, locals }) };
}

describe('applyRiders', () => {
  it('puts every insertion in place, earlier riders first at the same offset (property)', () => {
    // A body of `nop`s and its `end`: every offset is an instruction boundary.
    const length = fc.integer({ min: 1, max: 200 });
    const bytes = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 80 });
    fc.assert(
      fc.property(
        length,
        fc.array(fc.array(fc.tuple(fc.nat(), bytes), { maxLength: 8 }), { maxLength: 3 }),
        (n, raw) => {
          const c = [...Array<number>(n - 1).fill(0x01), 0x0b];
          const lists = raw.map((pairs) =>
            pairs.map(([at, b]) => [at % (n + 1), b] as const).sort((x, y) => x[0] - y[0]),
          );
          const body = { locals: [], code: Uint8Array.from(c) };
          const out = applyRiders(
            body,
            0,
            lists.map((pairs) => riderOf(insertionsOf(pairs))),
          );
          expect([...out.code]).toEqual(naive(c, lists));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("appends the riders' locals in order, and gives back a body they do not change", () => {
    const body = { locals: [{ count: 2, type: ValType.i32 }], code: Uint8Array.of(0x01, 0x0b) };
    const numbered: number[] = [];
    const counting = (locals: readonly LocalGroup[]): BodyRider => ({
      scan: { visit: () => undefined },
      finish: (first) => {
        numbered.push(first);
        return { locals };
      },
    });
    const changed = applyRiders(body, 5, [
      counting([{ count: 3, type: ValType.f64 }]),
      counting([{ count: 1, type: ValType.i64 }]),
    ]);
    expect(numbered).toEqual([5, 8]);
    expect(changed.locals).toEqual([
      { count: 2, type: ValType.i32 },
      { count: 3, type: ValType.f64 },
      { count: 1, type: ValType.i64 },
    ]);
    expect(applyRiders(body, 5, [riderOf(new Insertions())])).toBe(body);
    expect(applyRiders(body, 5, [])).toBe(body);
  });

  it('counts what a list holds and refuses an offset before the last one', () => {
    const insertions = insertionsOf([
      [1, [7, 8]],
      [1, [9]],
    ]);
    expect([insertions.count, insertions.size]).toEqual([2, 3]);
    expect(() => insertions.at(0)).toThrow(RangeError);
    const body = { locals: [], code: Uint8Array.of(0x01, 0x0b) };
    expect([...applyRiders(body, 0, [riderOf(insertions)]).code]).toEqual([1, 7, 8, 9, 0x0b]);
  });
});

describe('finishRiders', () => {
  it('fills a list it gave before, its records written over and the ones left over dropped', () => {
    const a = insertionsOf([[0, [1]]]);
    const b = insertionsOf([[1, [2]]]);
    const i64 = [{ count: 2, type: ValType.i64 }];
    const first = finishRiders([riderOf(a, i64), riderOf(b), riderOf(a)], 3);
    expect(first.map((r) => r.trailing)).toEqual([a, b, a]);
    const record = first[0];
    const firsts: number[] = [];
    const again = finishRiders(
      [
        riderOf(b),
        {
          scan: { visit: () => undefined },
          finish: (next) => {
            firsts.push(next);
            return { entry: Uint8Array.of(9), locals: i64 };
          },
        },
      ],
      3,
      first,
    );
    expect(again).toBe(first);
    expect(again[0]).toBe(record);
    expect(again).toEqual([
      { entry: undefined, trailing: b, leading: undefined, locals: [] },
      { entry: Uint8Array.of(9), trailing: undefined, leading: undefined, locals: i64 },
    ]);
    expect(firsts).toEqual([3]);
  });

  it('empties a list of insertions for use again, offsets starting over', () => {
    const list = insertionsOf([[5, [1, 2]]]).clear();
    expect([list.count, list.size]).toEqual([0, 0]);
    list.at(2).u8(7);
    expect([list.count, list.size, list.offset(0), list.end(0)]).toEqual([1, 1, 2, 1]);
  });
});

describe('Visitors', () => {
  it('knows the visitors it shows instructions to, in order, whatever becomes of the list it was given', () => {
    const a = { visit: () => undefined };
    const b = { visit: () => undefined };
    const list = [a, b];
    const visitors = new Visitors(list);
    list.length = 0;
    expect(visitors.are([a, b])).toBe(true);
    expect(visitors.are([b, a])).toBe(false);
    expect(visitors.are([a])).toBe(false);
  });
});

describe('walkBody', () => {
  it('shows every instruction to every visitor, in order', () => {
    const code = encodeInstructions([
      instruction('i32.const', 300),
      instruction('br_table', { targets: [0, 1], defaultTarget: 2 }),
      instruction('end'),
    ]);
    const seen: string[] = [];
    walkBody(code, [
      {
        visit: (_, start, end) => {
          seen.push(`a${start}-${end}`);
        },
      },
      {
        visit: (bytes, start) => {
          seen.push(`b${bytes[start]}`);
        },
      },
    ]);
    expect(seen).toEqual(['a0-3', 'b65', 'a3-8', 'b14', 'a8-9', 'b11']);
    expect(() => {
      walkBody(code.subarray(0, 5), []);
    }).toThrow(/runs past the end/);
  });
});

describe('Splicer', () => {
  type Pairs = (readonly [number, readonly number[]])[];
  const bytes = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 6 });
  const pairs = (max: number) =>
    fc
      .array(fc.tuple(fc.nat(), bytes), { maxLength: 6 })
      .map((list) => list.map(([at, b]) => [at % (max + 1), b] as const).sort((x, y) => x[0] - y[0]));
  interface Edit {
    readonly at: number;
    readonly host: readonly number[];
    /** Whether the host replaces the byte at `at` with `replacement`. */
    readonly replaces: boolean;
    readonly replacement: readonly number[];
  }

  /** The expected output, position by position. */
  function expected(
    code: readonly number[],
    entry: readonly number[],
    riders: { trailing: Pairs; leading: Pairs }[],
    edits: Edit[],
  ) {
    const out = [...entry];
    const at = (list: Pairs, o: number) => list.filter(([offset]) => offset === o).flatMap(([, b]) => b);
    for (let o = 0; o <= code.length; o++) {
      for (const rider of riders) out.push(...at(rider.trailing, o));
      const edit = edits.find((e) => e.at === o);
      if (edit !== undefined) out.push(...edit.host);
      for (const rider of riders) out.push(...at(rider.leading, o));
      if (edit?.replaces === true) out.push(...edit.replacement);
      else if (o < code.length) out.push(code[o] as number);
    }
    return out;
  }

  it("puts riders' code around the host pass's own, as the offsets and kinds say (property)", () => {
    const scenario = fc
      .array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 40 })
      .chain((code) =>
        fc.record({
          code: fc.constant(code),
          entry: bytes,
          // Leading code leads into an instruction: before the body's end.
          riders: fc.array(fc.record({ trailing: pairs(code.length), leading: pairs(code.length - 1) }), {
            maxLength: 2,
          }),
          edits: fc
            .uniqueArray(fc.integer({ min: 0, max: code.length - 1 }), { maxLength: 6 })
            .chain((offsets) =>
              fc.tuple(
                ...offsets
                  .sort((a, b) => a - b)
                  .map((at) =>
                    fc.record({
                      at: fc.constant(at),
                      host: bytes,
                      replaces: fc.boolean(),
                      replacement: bytes,
                    }),
                  ),
              ),
            ),
        }),
      );
    type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;
    /** Runs `s` through `splicer` (a new one if undefined), its riders' lists taken from `lists` (emptied). */
    const run = (s: Scenario, splicer: Splicer | undefined, lists: Insertions[]) => {
      const w = new ByteWriter();
      const list = (pairs: Pairs) => {
        const reused = lists.shift()?.clear();
        if (reused === undefined) return insertionsOf(pairs);
        for (const [offset, b] of pairs) {
          const at = reused.at(offset);
          for (const byte of b) at.u8(byte);
        }
        return reused;
      };
      const riders = s.riders.map((rider, i) => ({
        entry: Uint8Array.from(i === 0 ? s.entry : []),
        trailing: list(rider.trailing),
        leading: list(rider.leading),
        locals: [],
      }));
      const code = Uint8Array.from(s.code);
      const used = splicer === undefined ? new Splicer(code, w, riders) : splicer.start(code, w, riders);
      for (const edit of s.edits) {
        used.copyTo(edit.at);
        for (const b of edit.host) w.u8(b);
        if (edit.replaces) {
          used.lead(edit.at);
          for (const b of edit.replacement) w.u8(b);
          used.skipTo(edit.at + 1);
        }
      }
      used.copyTo(s.code.length);
      expect([...w.finish()]).toEqual(
        expected(s.code, s.riders.length > 0 ? s.entry : [], s.riders, s.edits),
      );
      return { splicer: used, lists: riders.flatMap((r) => [r.trailing, r.leading]) };
    };
    // A second body through the splicer and lists of the first, started over and emptied.
    fc.assert(
      fc.property(scenario, scenario, (first, second) => {
        const done = run(first, undefined, []);
        run(second, done.splicer, done.lists);
      }),
      { numRuns: 500 },
    );
  });
});

describe('Insertions.copyInto', () => {
  it.each([3, 100])('copies every insertion, back to back, into the target (%i bytes each)', (length) => {
    const insertions = new Insertions();
    insertions.at(0).bytes(new Uint8Array(length).fill(7));
    insertions.at(5).bytes(new Uint8Array(length).fill(9));
    const target = new Uint8Array(2 * length + 2);
    insertions.copyInto(target, 1);
    expect([...target]).toEqual([0, ...Array(length).fill(7), ...Array(length).fill(9), 0]);
    expect(insertions.start(1)).toBe(length);
  });
});
