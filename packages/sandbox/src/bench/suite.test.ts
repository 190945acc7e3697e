import { describe, expect, it } from 'vitest';
import { compare } from './suite';

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
});
