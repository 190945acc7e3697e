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
  type InstructionVisitor,
  opcodeSet,
  subOpcode,
  walkBody,
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

const POLICY_OPCODES = opcodeSet([PREFIX_ATOMIC, PREFIX_SIMD]);

/**
 * The policy's scan of function bodies: the refused features their
 * instructions belong to. Run it over every body (during another pass's
 * walk, as a rider) and give it to {@link findNondeterminism}, which then
 * walks no body itself.
 */
export class PolicyScan implements InstructionVisitor {
  /** Only prefixed instructions are refused. */
  readonly opcodes = POLICY_OPCODES;
  /** The refused features found, in the order they were first met. */
  readonly features = new Set<Feature>();

  visit(code: Uint8Array, start: number): void {
    const byte = code[start] as number;
    const refused = REFUSED_BY_PREFIX.get(byte)?.[subOpcode(code, start)] ?? 0;
    if (refused !== 0) this.features.add(REFUSED[refused - 1] as Feature);
  }
}

/**
 * Every reason `module` cannot run deterministically, or an empty list.
 * Scans every function body (function bodies must be structurally valid).
 */
export function findNondeterminism(
  module: WasmModule,
  /** A scan of every body already made (see {@link PolicyScan}); by default the bodies are walked here. */
  scanned?: PolicyScan,
): Nondeterminism[] {
  const found: Nondeterminism[] = [];
  const shared = [
    ...module.memories,
    ...module.imports.flatMap((i) => (i.descriptor.kind === 'memory' ? [i.descriptor.memory] : [])),
  ];
  if (shared.some((limits) => limits.shared === true)) {
    found.push({ feature: 'shared-memory', reason: 'shared memories can be changed by other threads' });
  }
  let scan = scanned;
  if (scan === undefined) {
    scan = new PolicyScan();
    // A body without the prefix bytes of refused instructions has none of them.
    for (const { code } of module.code)
      if (code.includes(PREFIX_ATOMIC) || code.includes(PREFIX_SIMD)) walkBody(code, [scan]);
  }
  for (const feature of scan.features) found.push({ feature, reason: REASONS[feature] as string });
  return found;
}
