/**
 * What a module may not contain, because its result would depend on the
 * engine or on other threads: shared memories, atomic instructions (threads),
 * and instructions whose results the specification leaves to the engine
 * (relaxed SIMD).
 */
import { ByteReader, type Feature, type WasmModule, skipInstruction } from '@ri-sandbox/core';

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
  for (const body of module.code) {
    const reader = new ByteReader(body.code);
    while (!reader.done) {
      const op = skipInstruction(reader);
      if (op.prefix !== undefined && REASONS[op.feature] !== undefined) features.add(op.feature);
    }
  }
  for (const feature of features) found.push({ feature, reason: REASONS[feature] as string });
  return found;
}
