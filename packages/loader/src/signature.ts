/** Function signatures: between the codec's value type bytes and the contract's value type names. */
import {
  type FuncType,
  type ImportSignature,
  type WasmValueType,
  ValType,
  valTypeName,
} from '@ri-sandbox/core';

const CODES: Readonly<Record<WasmValueType, number>> = {
  i32: ValType.i32,
  i64: ValType.i64,
  f32: ValType.f32,
  f64: ValType.f64,
};

/** `(i32, i64) -> f64`, the way signatures appear in error messages. */
export function formatSignature(type: FuncType): string {
  const list = (types: readonly number[]) => types.map(valTypeName).join(', ');
  const results = type.results.length === 1 ? list(type.results) : `(${list(type.results)})`;
  return `(${list(type.params)}) -> ${results}`;
}

/** The signature a host function (or any provided import) declares, in the codec's terms. */
export function hostSignature(fn: ImportSignature): FuncType {
  return { params: fn.params.map((t) => CODES[t]), results: fn.results.map((t) => CODES[t]) } as FuncType;
}

/** Whether two signatures are identical. */
export function sameSignature(a: FuncType, b: FuncType): boolean {
  const same = (x: readonly number[], y: readonly number[]) =>
    x.length === y.length && x.every((t, i) => t === y[i]);
  return same(a.params, b.params) && same(a.results, b.results);
}

/** The value type names of a signature, or `undefined` if it uses a type that cannot cross to JavaScript as a number. */
export function valueTypeNames(types: readonly number[]): WasmValueType[] | undefined {
  const names: WasmValueType[] = [];
  for (const type of types) {
    const name = valTypeName(type);
    if (!(name in CODES)) return undefined;
    names.push(name as WasmValueType);
  }
  return names;
}
