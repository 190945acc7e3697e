import { afterEach, describe, expect, it } from 'vitest';
import { warmUpXxh3, xxh3 } from './xxh3';

const originals = { Module: WebAssembly.Module, Instance: WebAssembly.Instance };

/** Counts `new WebAssembly[name](...)` from now on. */
function countConstructions(name: keyof typeof originals): () => number {
  let count = 0;
  const counting = new Proxy(originals[name], {
    construct(target, args, newTarget) {
      count++;
      return Reflect.construct(target, args, newTarget) as object;
    },
  });
  Object.assign(WebAssembly, { [name]: counting });
  return () => count;
}

afterEach(() => {
  Object.assign(WebAssembly, originals);
});

describe('warmUpXxh3', () => {
  it('compiles and runs the kernel once per thread, so that a snapshot compiles nothing', () => {
    const compiled = countConstructions('Module');
    const instantiated = countConstructions('Instance');
    warmUpXxh3();
    expect([compiled(), instantiated()]).toEqual([1, 1]);
    warmUpXxh3();
    expect(xxh3(new TextEncoder().encode('abc'))).toBe(0x78af5f94892f3950n);
    expect([compiled(), instantiated()]).toEqual([1, 1]);
  });
});
