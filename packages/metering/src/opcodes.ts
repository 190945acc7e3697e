/** The control opcodes metering's scan, relabelling and fast loop versions read or write. */
export const BLOCK = 0x02;
export const LOOP = 0x03;
export const IF = 0x04;
export const ELSE = 0x05;
export const TRY = 0x06;
export const CATCH = 0x07;
export const RETHROW = 0x09;
export const END = 0x0b;
export const BR = 0x0c;
export const BR_IF = 0x0d;
export const BR_TABLE = 0x0e;
export const DELEGATE = 0x18;
export const CATCH_ALL = 0x19;
/** The empty block type. */
export const EMPTY = 0x40;
