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

/**
 * A {@link GuestMemory} over `memory`; reads `memory.buffer` afresh each time,
 * since growth replaces it. {@link revoke} cuts it off once the memory is no
 * longer its instance's (it may go to another): it then reads as empty, and
 * reads and writes throw.
 */
export class GuestMemoryView implements GuestMemory {
  #memory: WebAssembly.Memory | undefined;

  constructor(memory: WebAssembly.Memory) {
    this.#memory = memory;
  }

  get byteLength(): number {
    return this.#memory?.buffer.byteLength ?? 0;
  }

  read(pointer: number, length: number): Uint8Array {
    const buffer = this.#buffer();
    check(pointer, length, buffer.byteLength);
    return new Uint8Array(buffer, pointer, length).slice();
  }

  write(pointer: number, bytes: Uint8Array): void {
    const buffer = this.#buffer();
    check(pointer, bytes.length, buffer.byteLength);
    new Uint8Array(buffer).set(bytes, pointer);
  }

  /** Cuts the view off from the memory for good. */
  revoke(): void {
    this.#memory = undefined;
  }

  #buffer(): ArrayBuffer {
    if (this.#memory === undefined)
      throw new RangeError("the guest's memory is gone: its instance was destroyed, reloaded or restored");
    return this.#memory.buffer;
  }
}
