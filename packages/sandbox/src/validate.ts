/**
 * `validateDeterminism`: runs an action twice from the same starting state and
 * compares everything observable. For tests and audits: it loads the module
 * once per run, so it costs far more than an execution.
 */
import type { SandboxConfigInput, SandboxError } from '@ri-sandbox/core';
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
}

/** The validator's verdict. */
export type DeterminismReport =
  | { readonly deterministic: true; readonly run: RunSummary }
  | {
      readonly deterministic: false;
      readonly differences: readonly string[];
      readonly runs: readonly RunSummary[];
    };

async function runOnce(
  bytes: Uint8Array,
  config: SandboxConfigInput,
  action: string,
  payload: unknown,
): Promise<RunSummary | SandboxError> {
  const sandbox = createWasmSandbox();
  const created = sandbox.create(config);
  if (!created.ok) return created.error;
  const loaded = await sandbox.load(created.value, bytes);
  if (!loaded.ok) return loaded.error;
  const result = sandbox.execute(created.value, action, payload);
  const memory = memorySnapshotOf(created.value);
  const gasUsed = created.value.metrics.gasUsed;
  sandbox.destroy(created.value);
  return {
    ok: result.ok,
    outcome: result.ok ? describeValue(result.value) : `${result.error.code}: ${result.error.message}`,
    gasUsed,
    memoryHash: await sha256Hex(memory),
  };
}

/**
 * Executes `action` with `payload` `runs` times (at least 2), each from a
 * freshly loaded instance of `bytes` with `config`, and compares result, gas
 * used and a hash of memory. A config without `eventTimestamp` gets a fixed
 * one, so that the runs see the same time. Returns `INVALID_CONFIG` or
 * `INVALID_MODULE` as `load` would, or the report.
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
  const fixed = { eventTimestamp: 0, ...config };
  const summaries: RunSummary[] = [];
  for (let i = 0; i < Math.max(2, runs); i++) {
    const summary = await runOnce(bytes, fixed, action, payload);
    if ('code' in summary) return { ok: false, error: summary };
    summaries.push(summary);
  }
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
  });
  return {
    ok: true,
    value:
      differences.length === 0
        ? { deterministic: true, run: first }
        : { deterministic: false, differences, runs: summaries },
  };
}
