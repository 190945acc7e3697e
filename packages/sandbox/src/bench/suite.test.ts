import { describe, expect, it } from 'vitest';
import { compare, compareAsync } from './suite';

describe('compare', () => {
  it('times every candidate each round, starting each round with the next one', () => {
    const calls: string[] = [];
    const times = compare(
      { a: () => calls.push('a'), b: () => calls.push('b'), c: () => calls.push('c') },
      { rounds: 4, warmup: 2, repeat: 2 },
    );
    expect(Object.keys(times)).toEqual(['a', 'b', 'c']);
    for (const value of Object.values(times)) expect(value).toBeGreaterThanOrEqual(0);
    // Six rounds of three candidates, each called twice in a row.
    expect(calls).toHaveLength(36);
    const rounds = Array.from({ length: 6 }, (_, round) => calls.slice(round * 6, round * 6 + 6).join(''));
    expect(rounds).toEqual(['aabbcc', 'bbccaa', 'ccaabb', 'aabbcc', 'bbccaa', 'ccaabb']);
  });

  it('awaits each asynchronous candidate before the next, in the same order', async () => {
    const calls: string[] = [];
    let running = 0;
    const candidate = (name: string) => async () => {
      expect(running).toBe(0);
      running++;
      await Promise.resolve();
      calls.push(name);
      running--;
    };
    const times = await compareAsync({ a: candidate('a'), b: candidate('b') }, { rounds: 3, warmup: 1 });
    expect(Object.keys(times)).toEqual(['a', 'b']);
    for (const value of Object.values(times)) expect(value).toBeGreaterThanOrEqual(0);
    expect(calls.join('')).toBe('abbaabba');
  });
});
