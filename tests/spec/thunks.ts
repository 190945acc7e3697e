/**
 * Invocation thunks: a small module per signature that imports the guest's
 * function (or global), reads the arguments from its own memory, calls it and
 * writes the results back. Every value then crosses bit for bit: NaN payloads,
 * i64 and v128, which a plain JavaScript call would change or refuse.
 * References cross as the thunk's own parameters and results.
 */
import {
  type FuncType,
  type GlobalType,
  type Instruction,
  type LocalGroup,
  ValType,
  type WasmModule,
  encodeInstructions,
  encodeModule,
  instruction,
  valTypeName,
} from '@ri-sandbox/core';
import { isNumeric } from './values';

/** Where argument `i` is read from: `ARGUMENTS_AT + SLOT_BYTES * i`; results likewise from `RESULTS_AT`. */
export const ARGUMENTS_AT = 0;
export const RESULTS_AT = 32768;
export const SLOT_BYTES = 16;

const ACCESS: Readonly<Record<string, readonly [load: string, store: string, align: number]>> = {
  i32: ['i32.load', 'i32.store', 2],
  i64: ['i64.load', 'i64.store', 3],
  f32: ['f32.load', 'f32.store', 2],
  f64: ['f64.load', 'f64.store', 3],
  v128: ['v128.load', 'v128.store', 4],
};

function memoryAccess(type: ValType, which: 0 | 1, offset: number): Instruction[] {
  const [load, store, align] = ACCESS[valTypeName(type)] as readonly [string, string, number];
  return [instruction(which === 0 ? load : store, { align, offset, memory: 0 })];
}

const isReference = (type: ValType) => !isNumeric(valTypeName(type));

/** The body of a thunk for `callee` (function 0): numbers from memory, references from its parameters. */
function callBody(callee: FuncType): { locals: LocalGroup[]; code: Instruction[] } {
  const referenceParams = callee.params.filter(isReference).length;
  const code: Instruction[] = [];
  let nextParam = 0;
  callee.params.forEach((type, i) => {
    if (isReference(type)) code.push(instruction('local.get', nextParam++));
    else code.push(instruction('i32.const', 0), ...memoryAccess(type, 0, ARGUMENTS_AT + SLOT_BYTES * i));
  });
  code.push(instruction('call', 0));
  const resultLocal = (i: number) => referenceParams + i;
  for (let i = callee.results.length - 1; i >= 0; i--) code.push(instruction('local.set', resultLocal(i)));
  callee.results.forEach((type, i) => {
    if (isReference(type)) return;
    code.push(instruction('i32.const', 0), instruction('local.get', resultLocal(i)));
    code.push(...memoryAccess(type, 1, RESULTS_AT + SLOT_BYTES * i));
  });
  callee.results.forEach((type, i) => {
    if (isReference(type)) code.push(instruction('local.get', resultLocal(i)));
  });
  return { locals: callee.results.map((type) => ({ count: 1, type })), code };
}

/** The body of a thunk for global 0: a number goes to memory, a reference is returned. */
function readBody(global: GlobalType): Instruction[] {
  if (isReference(global.valueType)) return [instruction('global.get', 0)];
  return [
    instruction('i32.const', 0),
    instruction('global.get', 0),
    ...memoryAccess(global.valueType, 1, RESULTS_AT),
  ];
}

type Target =
  | { readonly kind: 'function'; readonly type: FuncType }
  | { readonly kind: 'global'; readonly type: GlobalType };

function thunkModule(target: Target): WasmModule {
  const isFunction = target.kind === 'function';
  const run: FuncType = isFunction
    ? { params: target.type.params.filter(isReference), results: target.type.results.filter(isReference) }
    : { params: [], results: isReference(target.type.valueType) ? [target.type.valueType] : [] };
  const body = isFunction ? callBody(target.type) : { locals: [], code: readBody(target.type) };
  return {
    types: isFunction ? [target.type, run] : [run],
    imports: [
      isFunction
        ? { module: 'm', name: 'f', descriptor: { kind: 'function', type: 0 } }
        : { module: 'm', name: 'g', descriptor: { kind: 'global', global: target.type } },
    ],
    functions: [isFunction ? 1 : 0],
    tables: [],
    memories: [{ min: 1 }],
    tags: [],
    globals: [],
    exports: [
      { name: 'run', kind: 'function', index: isFunction ? 1 : 0 },
      { name: 'mem', kind: 'memory', index: 0 },
    ],
    elements: [],
    code: [{ locals: body.locals, code: encodeInstructions([...body.code, instruction('end')]) }],
    data: [],
    customSections: [],
  };
}

function key(target: Target): string {
  if (target.kind === 'global')
    return `g ${target.type.mutable ? 'mut ' : ''}${valTypeName(target.type.valueType)}`;
  return `f ${target.type.params.map(valTypeName).join(',')} -> ${target.type.results.map(valTypeName).join(',')}`;
}

/** A thunk bound to one function or global: call `run` with the reference arguments. */
export interface BoundThunk {
  readonly run: (...references: unknown[]) => unknown;
  /** The thunk's memory: arguments go in before `run`, results come out after. */
  readonly view: DataView;
}

/** Thunks, compiled once per signature and instantiated once per function or global. */
export class Thunks {
  private readonly modules = new Map<string, WebAssembly.Module>();
  private readonly bound = new WeakMap<object, BoundThunk>();

  /** The thunk for `value` (an exported function or global) of type `target`. */
  bind(value: object, target: Target): BoundThunk {
    const cached = this.bound.get(value);
    if (cached !== undefined) return cached;
    const name = key(target);
    let module = this.modules.get(name);
    if (module === undefined) {
      module = new WebAssembly.Module(encodeModule(thunkModule(target)));
      this.modules.set(name, module);
    }
    const imports = { m: { [target.kind === 'function' ? 'f' : 'g']: value } } as WebAssembly.Imports;
    const { exports } = new WebAssembly.Instance(module, imports);
    const thunk = {
      run: exports['run'] as (...references: unknown[]) => unknown,
      view: new DataView((exports['mem'] as WebAssembly.Memory).buffer),
    };
    this.bound.set(value, thunk);
    return thunk;
  }
}

/** The references a thunk returned, as a list (a JavaScript call returns one value bare, several as an array). */
export function returnedReferences(returned: unknown, count: number): unknown[] {
  if (count === 0) return [];
  return count === 1 ? [returned] : (returned as unknown[]);
}
