/** Bounds-checked access to a guest's linear memory, for host functions and the JSON ABI. */
import type { GuestMemory } from '@ri-sandbox/core';

/** Whether `[pointer, pointer + length)` lies inside a memory of `byteLength` bytes. */
export function inBounds(pointer: number, length: number, byteLength: number): boolean {
  return (
    Number.isInteger(pointer) &&
    Number.isInteger(length) &&
    pointer >= 0 &&
    length >= 0 &&
    pointer + length <= byteLength
  );
}

function check(pointer: number, length: number, byteLength: number): void {
  if (!inBounds(pointer, length, byteLength)) {
    throw new RangeError(
      `guest memory access [${pointer}, ${pointer + length}) is outside its ${byteLength} bytes`,
    );
  }
}

/** A {@link GuestMemory} over `memory`; reads `memory.buffer` afresh each time, since growth replaces it. */
export function guestMemory(memory: WebAssembly.Memory): GuestMemory {
  return {
    get byteLength() {
      return memory.buffer.byteLength;
    },
    read(pointer, length) {
      check(pointer, length, memory.buffer.byteLength);
      return new Uint8Array(memory.buffer, pointer, length).slice();
    },
    write(pointer, bytes) {
      check(pointer, bytes.length, memory.buffer.byteLength);
      new Uint8Array(memory.buffer).set(bytes, pointer);
    },
  };
}
