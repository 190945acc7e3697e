/**
 * The spec runner's worker: runs one file in every mode and posts each mode's
 * outcomes as soon as it has them, so a hang in one mode still leaves the
 * others' figures. One worker per file: nothing one file does reaches another.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { MODES, MODE_NAMES } from './modes';
import { type Command, runFile } from './runner';

/** What the worker is given. */
export interface WorkerInput {
  readonly dir: string;
  readonly file: string;
}

const { dir, file } = workerData as WorkerInput;
const { commands } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { commands: Command[] };
for (const mode of MODE_NAMES) parentPort?.postMessage({ mode, run: runFile(dir, commands, MODES[mode]) });
