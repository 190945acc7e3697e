/**
 * Runs jobs, each in a worker thread of its own, a few at a time, under a
 * watchdog: a job not finished within the time allowed has its worker
 * terminated (which stops even a loop in WebAssembly) and is reported as
 * hung, so a hang is a failure rather than a stuck CI.
 */
import { Worker } from 'node:worker_threads';

/** What became of one job: the messages its worker posted, and why it stopped early if it did. */
export interface JobReport<M> {
  readonly messages: readonly M[];
  /** A hang, a crash or an exception in the worker; `undefined` when it finished. */
  readonly error: string | undefined;
}

export interface PoolOptions<I> {
  /** The worker script (bundled: workers cannot load TypeScript). It gets its input as `workerData`. */
  readonly script: string;
  readonly inputs: readonly I[];
  readonly concurrency: number;
  /** How long one job may take. */
  readonly timeoutMs: number;
  /** Node options for each worker (e.g. `--disable-warning=...`). */
  readonly execArgv?: readonly string[];
}

function runOne<I, M>(options: PoolOptions<I>, input: I): Promise<JobReport<M>> {
  return new Promise((resolve) => {
    const messages: M[] = [];
    const worker = new Worker(options.script, { workerData: input, execArgv: [...(options.execArgv ?? [])] });
    let error: string | undefined;
    const watchdog = setTimeout(() => {
      error = `hung: not finished after ${options.timeoutMs / 1000} s (${messages.length} messages posted)`;
      void worker.terminate();
    }, options.timeoutMs);
    worker.on('message', (message: M) => messages.push(message));
    worker.on('error', (thrown) => {
      error ??= `the worker threw: ${thrown.stack ?? thrown.message}`;
    });
    worker.on('exit', (code) => {
      clearTimeout(watchdog);
      if (code !== 0) error ??= `the worker exited with code ${code}`;
      resolve({ messages, error });
    });
  });
}

/** Runs every job; the reports come back in the order of `inputs`. */
export async function runInWorkers<I, M>(options: PoolOptions<I>): Promise<JobReport<M>[]> {
  const reports = new Array<JobReport<M>>(options.inputs.length);
  let next = 0;
  const lane = async () => {
    while (next < options.inputs.length) {
      const index = next++;
      reports[index] = await runOne<I, M>(options, options.inputs[index] as I);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  return reports;
}
