/**
 * Branch labels of code that moves into new constructs: the hot loops'
 * wrapping, and the copies of a loop's body in its fast version.
 */
import { type ByteWriter, lebEnd, readLeb } from '@ri-sandbox/core';
import { BR_TABLE } from './opcodes';

/**
 * Writes the branch at `at` (`br`, `br_if` or `br_table`) with every label
 * from `outside` on moved by `shift` (constructs put around the code it is
 * in); returns where it ends.
 */
export function relabel(w: ByteWriter, code: Uint8Array, at: number, outside: number, shift: number): number {
  const opcode = code[at] as number;
  w.u8(opcode);
  let p = at + 1;
  let labels = 1;
  if (opcode === BR_TABLE) {
    labels = readLeb(code, p) + 1;
    w.u32(labels - 1);
    p = lebEnd(code, p);
  }
  for (; labels > 0; labels--, p = lebEnd(code, p)) {
    const label = readLeb(code, p);
    w.u32(label >= outside ? label + shift : label);
  }
  return p;
}
