/**
 * Runs spec files, each in a worker of its own, a few at a time, under a
 * watchdog: a file that has not finished within the time allowed has its
 * worker terminated (which stops even a loop in WebAssembly) and is reported
 * as hung, so a hang is a failure rather than a stuck CI.
 */
import { Worker } from 'node:worker_threads';
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

export interface PoolOptions {
  /** The bundled worker script. */
  readonly script: string;
  readonly dir: string;
  readonly files: readonly string[];
  readonly concurrency: number;
  /** How long one file may take, all modes together. */
  readonly timeoutMs: number;
}

function runOne(options: PoolOptions, file: string): Promise<FileReport> {
  return new Promise((resolve) => {
    const runs: Partial<Record<ModeName, FileRun>> = {};
    const input: WorkerInput = { dir: options.dir, file };
    const worker = new Worker(options.script, { workerData: input });
    let error: string | undefined;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(watchdog);
      const missing = MODE_NAMES.filter((mode) => runs[mode] === undefined);
      resolve({
        file,
        runs,
        error: error ?? (missing.length > 0 ? `no result for ${missing.join(', ')}` : undefined),
      });
    };
    const watchdog = setTimeout(() => {
      error = `hung: not finished after ${options.timeoutMs / 1000} s (finished: ${Object.keys(runs).join(', ') || 'none'})`;
      void worker.terminate();
    }, options.timeoutMs);
    worker.on('message', (message: { mode: ModeName; run: FileRun }) => {
      runs[message.mode] = message.run;
    });
    worker.on('error', (thrown) => {
      error ??= `the runner threw: ${thrown.stack ?? thrown.message}`;
    });
    worker.on('exit', finish);
  });
}

/** Runs every file; the reports come back in the order of `files`. */
export async function runPool(options: PoolOptions): Promise<FileReport[]> {
  const reports: FileReport[] = new Array<FileReport>(options.files.length);
  let next = 0;
  const lane = async () => {
    while (next < options.files.length) {
      const index = next++;
      reports[index] = await runOne(options, options.files[index] as string);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  return reports;
}
