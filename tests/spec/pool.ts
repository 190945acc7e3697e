/**
 * Runs spec files, each in a worker of its own (see `../support/worker-pool`),
 * and gathers each mode's run of each file.
 */
import { runInWorkers } from '../support/worker-pool';
import { MODE_NAMES, type ModeName } from './modes';
import type { FileRun } from './runner';
import type { WorkerInput } from './worker';

/** What became of one file: each mode's run, and why the file stopped early if it did. */
export interface FileReport {
  readonly file: string;
  readonly runs: Partial<Record<ModeName, FileRun>>;
  /** A hang, a crash or an exception in the runner itself; `undefined` when every mode ran. */
  readonly error: string | undefined;
}

export interface SpecPoolOptions {
  /** The bundled worker script. */
  readonly script: string;
  readonly dir: string;
  readonly files: readonly string[];
  readonly concurrency: number;
  /** How long one file may take, all modes together. */
  readonly timeoutMs: number;
}

/** Runs every file; the reports come back in the order of `files`. */
export async function runPool(options: SpecPoolOptions): Promise<FileReport[]> {
  const reports = await runInWorkers<WorkerInput, { mode: ModeName; run: FileRun }>({
    script: options.script,
    inputs: options.files.map((file) => ({ dir: options.dir, file })),
    concurrency: options.concurrency,
    timeoutMs: options.timeoutMs,
  });
  return reports.map((report, i) => {
    const runs: Partial<Record<ModeName, FileRun>> = {};
    for (const { mode, run } of report.messages) runs[mode] = run;
    const missing = MODE_NAMES.filter((mode) => runs[mode] === undefined);
    const error = report.error ?? (missing.length > 0 ? `no result for ${missing.join(', ')}` : undefined);
    return { file: options.files[i] as string, runs, error };
  });
}
