import { describe, expect, it } from 'vitest';
import { monotonicNow } from './clock';

describe('monotonicNow', () => {
  it('reads performance.now(): never backwards, and on the same time line', () => {
    const before = performance.now();
    const first = monotonicNow();
    const second = monotonicNow();
    const after = performance.now();
    expect(first).toBeGreaterThanOrEqual(before);
    expect(second).toBeGreaterThanOrEqual(first);
    expect(after).toBeGreaterThanOrEqual(second);
  });
});
