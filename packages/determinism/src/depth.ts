/**
 * A call-depth limit that is the same on every engine. Engines overflow their
 * native stacks at different depths; counting calls in a global and trapping
 * at a fixed depth makes deep recursion fail at the same point, and the same
 * gas, everywhere (before any engine's own stack runs out, for sane limits).
 *
 * Each `call` and `call_indirect` increments the counter before and
 * decrements it after; tail calls replace a frame and leave it alone. An
 * exception caught by `catch`/`catch_all` skips the decrements of the frames
 * it unwound, so every `try` saves the counter and its handlers restore it.
 */
import {
  ByteReader,
  ByteWriter,
  localCount,
  type Export,
  ValType,
  type WasmModule,
  instruction,
  skipInstruction,
} from '@ri-sandbox/core';

/** Exported mutable i32 global: the current call depth. The host sets it to 0 before each call. */
export const DEPTH_EXPORT = '__ri_depth';

/** Default limit: deep enough for real recursive code, shallow enough for every engine's native stack. */
export const DEFAULT_MAX_CALL_DEPTH = 1000;

function limitBody(
  code: Uint8Array,
  firstLocal: number,
  depthGlobal: number,
  maxDepth: number,
  counted: (functionIndex: number) => boolean,
): { code: Uint8Array; saves: number } {
  const w = new ByteWriter(code.length + 64);
  const reader = new ByteReader(code);
  const control: ('try' | 'other')[] = [];
  const saveLocals: number[] = [];
  let saves = 0;
  let copied = 0;
  const copyTo = (offset: number) => {
    w.range(code, copied, offset);
    copied = offset;
  };
  while (!reader.done) {
    const start = reader.offset;
    const op = skipInstruction(reader);
    const end = reader.offset;
    switch (op.name) {
      case 'call':
      case 'call_indirect':
        if (op.name === 'call' && !counted(new ByteReader(code, start + 1, end).u32())) break;
        copyTo(start);
        // depth += 1; if (depth > max) unreachable
        w.u8(0x23).u32(depthGlobal).u8(0x41).s32(1).u8(0x6a).u8(0x24).u32(depthGlobal);
        w.u8(0x23).u32(depthGlobal).u8(0x41).s32(maxDepth).u8(0x4b).u8(0x04).u8(0x40).u8(0x00).u8(0x0b);
        copyTo(end);
        // depth -= 1
        w.u8(0x23).u32(depthGlobal).u8(0x41).s32(1).u8(0x6b).u8(0x24).u32(depthGlobal);
        break;
      case 'block':
      case 'loop':
      case 'if':
        control.push('other');
        break;
      case 'try': {
        control.push('try');
        const local = firstLocal + saves++;
        saveLocals.push(local);
        copyTo(end);
        w.u8(0x23).u32(depthGlobal).u8(0x21).u32(local); // save = depth
        break;
      }
      case 'catch':
      case 'catch_all':
        copyTo(end);
        w.u8(0x20)
          .u32(saveLocals[saveLocals.length - 1] as number)
          .u8(0x24)
          .u32(depthGlobal); // depth = save
        break;
      case 'delegate':
        control.pop();
        saveLocals.pop();
        break;
      case 'end':
        if (control.pop() === 'try') saveLocals.pop();
        break;
    }
  }
  copyTo(code.length);
  return { code: w.finish(), saves };
}

/**
 * Rewrites `module` so that a call nested deeper than `maxDepth` traps
 * (`unreachable`) with the exported depth counter above `maxDepth`.
 */
export function limitCallDepth(
  module: WasmModule,
  maxDepth: number = DEFAULT_MAX_CALL_DEPTH,
  /** Whether calls to a function count; another transform's helpers (a gas refill, say) need not. */
  counted: (functionIndex: number) => boolean = () => true,
): WasmModule {
  const importedGlobals = module.imports.filter((i) => i.descriptor.kind === 'global').length;
  const depthGlobal = importedGlobals + module.globals.length;
  const code = module.code.map((body, i) => {
    const limited = limitBody(body.code, localCount(module, i), depthGlobal, maxDepth, counted);
    const locals =
      limited.saves === 0 ? body.locals : [...body.locals, { count: limited.saves, type: ValType.i32 }];
    return { locals, code: limited.code };
  });
  const depthExport: Export = { name: DEPTH_EXPORT, kind: 'global', index: depthGlobal };
  return {
    ...module,
    globals: [
      ...module.globals,
      { type: { valueType: ValType.i32, mutable: true }, init: [instruction('i32.const', 0)] },
    ],
    exports: [...module.exports, depthExport],
    code,
  };
}
