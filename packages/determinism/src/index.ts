/**
 * `@ri-sandbox/determinism`: the pieces that make a guest's behaviour the same
 * on every engine: a seeded PCG32 generator for the guest's randomness, and
 * the policy that refuses what cannot be made deterministic.
 *
 * @packageDocumentation
 */
export type { Pcg32State } from './pcg32';
export { Pcg32, SANDBOX_STREAM } from './pcg32';
export type { Nondeterminism } from './policy';
export { PolicyScan, findNondeterminism } from './policy';
export { canonicalizeNaNs } from './nan';
export { NAN_PRODUCERS } from './nan-flow';
export { DEPTH_EXPORT, DEFAULT_MAX_CALL_DEPTH, limitCallDepth } from './depth';
export type { DeterministicOptions, DeterministicRiders } from './deterministic';
export { deterministicRiders, makeDeterministic } from './deterministic';
