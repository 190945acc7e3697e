import { describe, expect, it } from 'vitest';
import { decodeModule, readNameSection } from '@ri-sandbox/core';
import { FIXTURE_NAMES, fixture, fixtureInfo } from './index';

describe('test fixtures', () => {
  it('include the WAT fixtures the sandbox is tested with', () => {
    for (const name of [
      'add',
      'counter',
      'fibonacci',
      'memory-hog',
      'host-caller',
      'infinite-loop',
      'json-echo',
    ]) {
      expect(FIXTURE_NAMES).toContain(name);
      expect(fixtureInfo(name as never).origin).toBe('wat');
    }
  });

  it.each(FIXTURE_NAMES)('%s is a valid module with a description', (name) => {
    const bytes = fixture(name);
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(fixtureInfo(name).description.length).toBeGreaterThan(10);
  });

  it('returns a fresh copy on every call', () => {
    const first = fixture('add');
    first[0] = 0xff;
    expect(fixture('add')[0]).toBe(0x00);
  });

  it.each(FIXTURE_NAMES.filter((name) => fixtureInfo(name).origin === 'clang'))(
    '%s is real compiler output with its own memory and a __stack_pointer global',
    (name) => {
      const module = decodeModule(fixture(name));
      expect(module.memories).toHaveLength(1);
      expect(module.exports).toContainEqual({ name: 'memory', kind: 'memory', index: 0 });
      const names = readNameSection(module);
      const stackPointer = [...(names?.globals ?? new Map<number, string>())].find(
        ([, n]) => n === '__stack_pointer',
      );
      expect(stackPointer).toBeDefined();
      expect(module.globals[stackPointer![0]]?.type.mutable).toBe(true);
      expect(names?.functions.size).toBeGreaterThan(10);
    },
  );
});
