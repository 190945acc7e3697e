/**
 * Runs one spec file (wast2json's commands) in one mode, and records the
 * outcome of every assertion. Every command but `register` is an assertion:
 * a `module` must instantiate, an `action` must complete, and the `assert_*`
 * commands mean what the spec interpreter says they mean.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ExternalKind,
  type FuncType,
  type GlobalType,
  type WasmModule,
  classifyTrap,
  decodeModule,
  valTypeName,
} from '@ri-sandbox/core';
import { type Mode, type SpecInstance } from './modes';
import { spectestModule } from './spectest';
import { ARGUMENTS_AT, RESULTS_AT, SLOT_BYTES, Thunks, returnedReferences } from './thunks';
import {
  ExternRefs,
  type SpecValue,
  describeValue,
  isNumeric,
  numericMatches,
  onlyCanonicalNaNsDiffer,
  referenceArgument,
  referenceMatches,
  writeValue,
} from './values';

interface Action {
  readonly type: 'invoke' | 'get';
  readonly module?: string;
  readonly field: string;
  readonly args?: readonly SpecValue[];
}

/** One command of a wast2json file. */
export interface Command {
  readonly type: string;
  readonly line: number;
  readonly filename?: string;
  readonly name?: string;
  readonly as?: string;
  readonly module_type?: 'binary' | 'text';
  readonly text?: string;
  readonly action?: Action;
  readonly expected?: readonly SpecValue[];
  readonly either?: readonly SpecValue[];
}

/** What became of one assertion. */
export interface Outcome {
  readonly passed: boolean;
  /** A failure the mode explains: it stopped the guest on purpose, or canonicalized a NaN. */
  readonly legitimate?: string;
  /** What went wrong, for a failure. */
  readonly detail?: string;
}

/** The outcomes of one file in one mode, one per assertion (see {@link isAssertion}), in command order. */
export interface FileRun {
  readonly outcomes: readonly Outcome[];
  /** Snapshot round trips, by what became of them. */
  readonly roundTrips: Readonly<Record<string, number>>;
}

/** Whether a command is counted: all but `register` and text-format modules (a binary loader never sees text). */
export function isAssertion(command: Command): boolean {
  return command.type !== 'register' && command.module_type !== 'text';
}

type Signature =
  | { readonly kind: 'function'; readonly type: FuncType }
  | { readonly kind: 'global'; readonly type: GlobalType };

/** The type of every exported function and global of `module`. */
function exportSignatures(module: WasmModule): Map<string, Signature> {
  const imported = (kind: ExternalKind) => module.imports.filter((i) => i.descriptor.kind === kind);
  const functionTypes = [
    ...imported('function').map((i) => (i.descriptor as { type: number }).type),
    ...module.functions,
  ];
  const globalTypes = [
    ...imported('global').map((i) => (i.descriptor as { global: GlobalType }).global),
    ...module.globals.map((g) => g.type),
  ];
  const signatures = new Map<string, Signature>();
  for (const e of module.exports) {
    if (e.kind === 'function') {
      const type = module.types[functionTypes[e.index] as number];
      if (type !== undefined) signatures.set(e.name, { kind: 'function', type });
    } else if (e.kind === 'global') {
      const type = globalTypes[e.index];
      if (type !== undefined) signatures.set(e.name, { kind: 'global', type });
    }
  }
  return signatures;
}

/** A module instance and the types of its exports (read from the original bytes). */
interface Instance {
  readonly live: SpecInstance;
  readonly signatures: Map<string, Signature>;
}

class Failure extends Error {}

const fail = (detail: string): Outcome => ({ passed: false, detail });
const PASS: Outcome = { passed: true };

function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return `${thrown.constructor.name}: ${thrown.message}`;
  return `threw ${String(thrown)}`;
}

/** Runs `commands` (of the file in `dir`) in `mode`. */
export function runFile(dir: string, commands: readonly Command[], mode: Mode): FileRun {
  const externs = new ExternRefs();
  const thunks = new Thunks();
  const registry: Record<string, WebAssembly.ModuleImports> = { spectest: spectestModule() };
  const named = new Map<string, Instance | undefined>();
  const all: SpecInstance[] = [];
  const roundTrips: Record<string, number> = {};
  let current: Instance | undefined;

  const read = (command: Command) => new Uint8Array(readFileSync(join(dir, command.filename as string)));

  function instantiate(bytes: Uint8Array<ArrayBuffer>): Instance {
    const compiled = mode.compile(bytes);
    const live = mode.instantiate(compiled, { ...registry });
    all.push(live);
    let signatures: Map<string, Signature>;
    try {
      signatures = exportSignatures(decodeModule(bytes));
    } catch {
      signatures = new Map();
    }
    return { live, signatures };
  }

  /** The snapshot round trip after an instantiation or an action, for the mode that makes them. */
  function roundTrip(instance: Instance): Outcome | undefined {
    if (mode.roundTrip === undefined) return undefined;
    const trip = mode.roundTrip(instance.live);
    const key = trip.done === true ? 'done' : trip.done === false ? `not taken: ${trip.reason}` : 'failed';
    roundTrips[key] = (roundTrips[key] ?? 0) + 1;
    return trip.done === 'failed' ? fail(`snapshot round trip failed: ${trip.reason}`) : undefined;
  }

  function target(action: Action): Instance {
    const instance = action.module === undefined ? current : named.get(action.module);
    if (instance === undefined) throw new Failure('module not instantiated');
    return instance;
  }

  /** Performs `action`; returns a check of its results against `expected`, or throws what the guest threw. */
  function perform(action: Action): (expected: readonly SpecValue[]) => Outcome {
    const instance = target(action);
    const signature = instance.signatures.get(action.field);
    const value = instance.live.instance.exports[action.field];
    if (signature === undefined || value === undefined)
      throw new Failure(`no export "${action.field}" with a known type`);
    const thunk = thunks.bind(value, signature);
    const args = action.args ?? [];
    args.forEach((arg, i) => {
      if (isNumeric(arg.type)) writeValue(thunk.view, ARGUMENTS_AT + SLOT_BYTES * i, arg);
    });
    const references = args.filter((a) => !isNumeric(a.type)).map((a) => referenceArgument(a, externs));
    const returned = mode.call(all, () => thunk.run(...references));
    const resultTypes = signature.kind === 'function' ? signature.type.results : [signature.type.valueType];
    const referenceCount = resultTypes.filter((type) => !isNumeric(valTypeName(type))).length;
    const refs = returnedReferences(returned, referenceCount);
    return (expected) => {
      if (expected.length !== resultTypes.length)
        return fail(`expected ${expected.length} results, the function returns ${resultTypes.length}`);
      let nextRef = 0;
      let canonicalOnly = false;
      for (const [i, want] of expected.entries()) {
        if (!isNumeric(want.type)) {
          const got = refs[nextRef++];
          if (!referenceMatches(want, got, externs))
            return fail(`result ${i}: expected ${describeValue(want)}`);
          continue;
        }
        const offset = RESULTS_AT + SLOT_BYTES * i;
        if (numericMatches(thunk.view, offset, want)) continue;
        if (mode.canonicalNaNs && onlyCanonicalNaNsDiffer(thunk.view, offset, want)) {
          canonicalOnly = true;
          continue;
        }
        return fail(`result ${i}: expected ${describeValue(want)}`);
      }
      return canonicalOnly
        ? { passed: false, legitimate: 'a canonical NaN where the spec names a specific NaN' }
        : PASS;
    };
  }

  /** The outcome of a call that threw: `expectThrow` says whether the throw is the one the spec wants. */
  function thrownOutcome(thrown: unknown, wanted: string, isWanted: boolean): Outcome {
    if (thrown instanceof Failure) return fail(`harness: ${thrown.message}`);
    if (isWanted) return PASS;
    const stopped = mode.stoppedBecause(all);
    const got = describeThrown(thrown);
    return stopped === undefined
      ? fail(`expected ${wanted}, got ${got}`)
      : { passed: false, legitimate: stopped, detail: got };
  }

  function assertion(command: Command): Outcome {
    switch (command.type) {
      case 'module': {
        current = undefined;
        if (command.name !== undefined) named.set(command.name, undefined);
        let instance: Instance;
        try {
          instance = instantiate(read(command));
        } catch (thrown) {
          return thrownOutcome(thrown, 'an instance', false);
        }
        current = instance;
        if (command.name !== undefined) named.set(command.name, instance);
        return roundTrip(instance) ?? PASS;
      }
      case 'action':
      case 'assert_return': {
        const action = command.action as Action;
        let check: (expected: readonly SpecValue[]) => Outcome;
        try {
          check = perform(action);
        } catch (thrown) {
          return thrownOutcome(thrown, 'results', false);
        }
        let outcome = PASS;
        if (command.type === 'assert_return') {
          const alternatives = command.either?.map((value) => [value]) ?? [command.expected ?? []];
          const checked = alternatives.map(check);
          outcome = checked.find((o) => o.passed) ?? (checked[0] as Outcome);
        }
        return roundTrip(target(action)) ?? outcome;
      }
      case 'assert_trap':
      case 'assert_exhaustion':
      case 'assert_exception': {
        const action = command.action as Action;
        const wanted =
          command.type === 'assert_trap'
            ? `a trap (${command.text ?? ''})`
            : command.type === 'assert_exhaustion'
              ? 'call stack exhaustion'
              : 'an exception';
        let outcome: Outcome;
        try {
          perform(action);
          outcome = fail(`expected ${wanted}, but it returned`);
        } catch (thrown) {
          outcome = thrownOutcome(thrown, wanted, isExpectedThrow(command, thrown));
        }
        const instance = action.module === undefined ? current : named.get(action.module);
        return (instance === undefined ? undefined : roundTrip(instance)) ?? outcome;
      }
      case 'assert_invalid':
      case 'assert_malformed':
        return mode.refuses(read(command))
          ? PASS
          : fail(`accepted a module that is ${command.text ?? 'invalid'}`);
      case 'assert_unlinkable':
      case 'assert_uninstantiable': {
        const wantLink = command.type === 'assert_unlinkable';
        const wanted = wantLink ? 'a link error' : 'a trap at instantiation';
        try {
          instantiate(read(command));
          return fail(`expected ${wanted}, but it instantiated`);
        } catch (thrown) {
          const isWanted = wantLink
            ? thrown instanceof WebAssembly.LinkError
            : thrown instanceof WebAssembly.RuntimeError;
          return thrownOutcome(thrown, wanted, isWanted);
        }
      }
      default:
        return fail(`unknown command ${command.type}`);
    }
  }

  const outcomes: Outcome[] = [];
  for (const command of commands) {
    if (command.type === 'register') {
      const instance = command.name === undefined ? current : named.get(command.name);
      if (instance !== undefined) {
        instance.live.linked = true;
        registry[command.as as string] = instance.live.instance.exports;
      }
      continue;
    }
    if (!isAssertion(command)) continue;
    try {
      outcomes.push(assertion(command));
    } catch (thrown) {
      // Something the runner did not expect to throw (a public entry point that should return a typed error).
      outcomes.push(fail(`unexpected exception: ${describeThrown(thrown)}`));
    }
  }
  return { outcomes, roundTrips };
}

/** Whether `thrown` is what an `assert_trap`, `assert_exhaustion` or `assert_exception` asks for. */
function isExpectedThrow(command: Command, thrown: unknown): boolean {
  if (command.type === 'assert_exhaustion') return thrown instanceof RangeError;
  if (command.type === 'assert_exception') {
    const Exception = (WebAssembly as unknown as { Exception?: new () => unknown }).Exception;
    return Exception !== undefined && thrown instanceof Exception;
  }
  if (!(thrown instanceof WebAssembly.RuntimeError)) return false;
  // The same kind of trap the spec names, where the engine's wording and the spec's can be told apart.
  const wanted = classifyTrap(new Error(command.text ?? '')).trapKind;
  const got = classifyTrap(thrown).trapKind;
  return wanted === 'unknown' || got === 'unknown' || wanted === got;
}
