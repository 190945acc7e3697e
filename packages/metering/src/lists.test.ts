import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NumberList } from './lists';

describe('NumberList', () => {
  it('holds what was pushed, in order, past its first storage, and what is set, popped and copied', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true }), { maxLength: 200 }), (values) => {
        const list = new NumberList();
        for (const value of values) list.push(value);
        expect(list.toArray()).toEqual(values);
        expect(list.length).toBe(values.length);
        if (values.length === 0) return;
        expect(list.last()).toBe(values.at(-1));
        list.set(0, 42);
        expect(list.at(0)).toBe(42);
        const copy = new NumberList().copyOf(list);
        expect(copy.toArray()).toEqual(list.toArray());
        expect(list.pop()).toBe(values.length === 1 ? 42 : values.at(-1));
        expect(list.length).toBe(values.length - 1);
      }),
    );
  });

  it('keeps its storage when emptied, and is filled again from the start', () => {
    const list = new NumberList();
    for (let i = 0; i < 100; i++) list.push(i);
    const storage = list.items;
    list.clear();
    expect(list.toArray()).toEqual([]);
    list.push(7);
    expect(list.items).toBe(storage);
    expect(list.toArray()).toEqual([7]);
    // A copy into a list with less storage grows it.
    expect(new NumberList().copyOf(new NumberList().copyOf(list.clear())).toArray()).toEqual([]);
    for (let i = 0; i < 100; i++) list.push(-i);
    expect(new NumberList().copyOf(list).toArray()).toEqual(list.toArray());
  });
});
