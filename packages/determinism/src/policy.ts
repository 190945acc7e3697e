/**
 * What a module may not contain, because its result would depend on the
 * engine or on other threads: shared memories, atomic instructions (threads),
 * and instructions whose results the specification leaves to the engine
 * (relaxed SIMD).
 */
import {
  type Feature,
  OPCODES,
  PREFIX_ATOMIC,
  PREFIX_SIMD,
  type WasmModule,
  instructionEnd,
  subOpcode,
  walkEnd,
} from '@ri-sandbox/core';

/** One reason a module cannot run deterministically. */
export interface Nondeterminism {
  readonly feature: Feature | 'shared-memory';
  readonly reason: string;
}

const REASONS: Partial<Record<Feature, string>> = {
  threads:
    'atomic instructions (threads) order memory across threads, which a sandbox cannot make deterministic',
  'relaxed-simd': 'relaxed SIMD instructions may give different results on different engines',
};

/** The refused features, and per prefix byte, 1 + the index in it of each sub-opcode's refused feature. */
const REFUSED: readonly Feature[] = Object.keys(REASONS) as Feature[];
const REFUSED_BY_PREFIX = new Map<number, Uint8Array>();
for (const op of OPCODES) {
  const refused = REFUSED.indexOf(op.feature);
  if (op.prefix === undefined || refused < 0) continue;
  let table = REFUSED_BY_PREFIX.get(op.prefix);
  if (table === undefined) REFUSED_BY_PREFIX.set(op.prefix, (table = new Uint8Array(0x200)));
  table[op.code] = 1 + refused;
}

/** Adds to `features` those of {@link REASONS} that instructions of `code` belong to. */
function refusedFeatures(code: Uint8Array, features: Set<Feature>): void {
  // Only prefixed instructions are refused: a body without those prefix bytes has none.
  if (!code.includes(PREFIX_ATOMIC) && !code.includes(PREFIX_SIMD)) return;
  let p = 0;
  while (p < code.length) {
    const table = REFUSED_BY_PREFIX.get(code[p] as number);
    const refused = table === undefined ? 0 : (table[subOpcode(code, p)] ?? 0);
    if (refused !== 0) features.add(REFUSED[refused - 1] as Feature);
    p = instructionEnd(code, p);
  }
  walkEnd(p, code.length);
}

/**
 * Every reason `module` cannot run deterministically, or an empty list.
 * Scans every function body (function bodies must be structurally valid).
 */
export function findNondeterminism(module: WasmModule): Nondeterminism[] {
  const found: Nondeterminism[] = [];
  const shared = [
    ...module.memories,
    ...module.imports.flatMap((i) => (i.descriptor.kind === 'memory' ? [i.descriptor.memory] : [])),
  ];
  if (shared.some((limits) => limits.shared === true)) {
    found.push({ feature: 'shared-memory', reason: 'shared memories can be changed by other threads' });
  }
  const features = new Set<Feature>();
  for (const body of module.code) refusedFeatures(body.code, features);
  for (const feature of features) found.push({ feature, reason: REASONS[feature] as string });
  return found;
}
