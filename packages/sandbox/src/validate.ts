/**
 * `validateDeterminism`: runs an action several times from the same starting
 * state (a snapshot of a freshly loaded instance, restored before each run)
 * and compares everything observable. For tests and audits: it costs a
 * snapshot, restores and hashes on top of the executions.
 */
import type { SandboxConfigInput, SandboxError, SandboxInstance, SuspendingSandbox } from '@ri-sandbox/core';
import { createWasmSandbox, memorySnapshotOf } from './sandbox';
import { describeValue, sha256Hex } from './text';

/** What one run of the action produced. */
export interface RunSummary {
  readonly ok: boolean;
  /** The value (JSON, with bigints as `123n`), or the error's code and message. */
  readonly outcome: string;
  readonly gasUsed: number;
  /** SHA-256 of linear memory after the run, in hex. */
  readonly memoryHash: string;
  /** SHA-256 of a snapshot taken after the run (memory, every global, PRNG and gas), in hex. */
  readonly stateHash: string;
}

/** The validator's verdict. */
export type DeterminismReport =
  | { readonly deterministic: true; readonly run: RunSummary }
  | {
      readonly deterministic: false;
      readonly differences: readonly string[];
      readonly runs: readonly RunSummary[];
    };

async function runFrom(
  sandbox: SuspendingSandbox,
  instance: SandboxInstance,
  start: Uint8Array,
  action: string,
  payload: unknown,
): Promise<RunSummary | SandboxError> {
  const restored = sandbox.restore(instance, start);
  if (!restored.ok) return restored.error;
  const result = sandbox.execute(instance, action, payload);
  const after = sandbox.snapshot(instance);
  if (!after.ok) return after.error;
  return {
    ok: result.ok,
    outcome: result.ok ? describeValue(result.value) : `${result.error.code}: ${result.error.message}`,
    gasUsed: instance.metrics.gasUsed,
    memoryHash: await sha256Hex(memorySnapshotOf(instance)),
    stateHash: await sha256Hex(after.value),
  };
}

/**
 * Loads `bytes` with `config` once, snapshots the fresh instance, then
 * executes `action` with `payload` `runs` times (at least 2), restoring the
 * snapshot before each, and compares result, gas used, a hash of memory and a
 * hash of the whole state. A config without `eventTimestamp` gets a fixed one.
 * Returns `INVALID_CONFIG` or `INVALID_MODULE` as `load` would, or the report.
 *
 * @example
 * ```ts
 * const report = await validateDeterminism(bytes, { deterministicSeed: 1 }, 'step', { tick: 1 });
 * if (!report.ok || !report.value.deterministic) console.log(report);
 * ```
 */
export async function validateDeterminism(
  bytes: Uint8Array,
  config: SandboxConfigInput,
  action: string,
  payload?: unknown,
  runs = 2,
): Promise<{ ok: true; value: DeterminismReport } | { ok: false; error: SandboxError }> {
  const sandbox = createWasmSandbox();
  const created = sandbox.create({ eventTimestamp: 0, ...config });
  if (!created.ok) return created;
  const instance = created.value;
  try {
    const loaded = await sandbox.load(instance, bytes);
    if (!loaded.ok) return loaded;
    const start = sandbox.snapshot(instance);
    if (!start.ok) return start;
    const summaries: RunSummary[] = [];
    for (let i = 0; i < Math.max(2, runs); i++) {
      const summary = await runFrom(sandbox, instance, start.value, action, payload);
      if ('code' in summary) return { ok: false, error: summary };
      summaries.push(summary);
    }
    return { ok: true, value: compare(summaries) };
  } finally {
    sandbox.destroy(instance);
  }
}

function compare(summaries: readonly RunSummary[]): DeterminismReport {
  const [first] = summaries as [RunSummary, ...RunSummary[]];
  const differences: string[] = [];
  summaries.slice(1).forEach((other, i) => {
    const run = i + 2;
    if (other.outcome !== first.outcome)
      differences.push(`run ${run} gave ${other.outcome}, run 1 gave ${first.outcome}`);
    if (other.gasUsed !== first.gasUsed)
      differences.push(`run ${run} used ${other.gasUsed} gas, run 1 used ${first.gasUsed}`);
    if (other.memoryHash !== first.memoryHash)
      differences.push(`run ${run} left different memory than run 1`);
    else if (other.stateHash !== first.stateHash)
      differences.push(`run ${run} left different globals or sandbox state than run 1`);
  });
  return differences.length === 0
    ? { deterministic: true, run: first }
    : { deterministic: false, differences, runs: summaries };
}
