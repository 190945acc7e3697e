/**
 * The official WebAssembly spec suite through every transform: each file runs
 * raw (the baseline, in this same run), through metering alone, through the
 * sandbox's whole chain, and with a snapshot round trip after every step; an
 * assertion that passes raw and fails in another mode is a regression.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { unpackArchive } from '../support/archive';
import { bundleEntry } from '../support/bundle';
import type { ModeName } from './modes';
import { runPool } from './pool';
import { type FileResult, type ModeSummary, formatSummary, summarise } from './report';
import type { Command } from './runner';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
/** Far above what any file needs (a few seconds), so a busy machine cannot make it fail. */
const FILE_TIMEOUT_MS = 10 * 60_000;

const results: FileResult[] = [];
const summaries = {} as Record<ModeName, ModeSummary>;

describe('the WebAssembly spec suite', () => {
  beforeAll(async () => {
    const dir = unpackArchive(join(here, 'wasm-testsuite-193e551.tgz'), 'wasm-testsuite');
    const files = readdirSync(dir)
      .filter((name) => name.endsWith('.json'))
      .sort();
    const script = await bundleEntry(join(here, 'worker.ts'));
    const reports = await runPool({
      script,
      dir,
      files,
      concurrency: Math.max(1, availableParallelism()),
      timeoutMs: FILE_TIMEOUT_MS,
    });
    reports.forEach((report, i) => {
      const file = files[i] as string;
      const { commands } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { commands: Command[] };
      results.push({ file, commands, report });
    });
    for (const mode of ['raw', 'metering', 'chain', 'snapshot'] as const)
      summaries[mode] = summarise(results, mode);
    const lines = Object.values(summaries).flatMap(formatSummary);
    console.log(lines.join('\n'));
    // Kept beside the coverage report: every figure, and every regression in full.
    mkdirSync(join(root, 'coverage'), { recursive: true });
    writeFileSync(join(root, 'coverage', 'spec.json'), `${JSON.stringify({ lines, summaries }, null, 2)}\n`);
  }, 60 * 60_000);

  it('runs every file to the end in every mode: no hang, no crash', () => {
    const stopped = results
      .filter((r) => r.report.error !== undefined)
      .map((r) => `${r.file}: ${r.report.error}`);
    expect(stopped).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(250);
  });

  it('has a real baseline: the raw engine passes the bulk of the suite', () => {
    // Node 20's V8 passes about 95%; what it fails needs features it lacks (memory64, GC, ...).
    expect(summaries.raw.passing).toBeGreaterThan(0.9 * summaries.raw.rawPassing);
  });

  it.each(['metering', 'chain', 'snapshot'] as const)('changes no result that passes raw: %s', (mode) => {
    expect(summaries[mode].regressions).toEqual([]);
  });

  it('refuses every invalid or malformed binary module through the chain, which does not validate its input', () => {
    // What metering and the other transforms add must never be named by an invalid module's indices.
    expect(summaries.chain.refusals).toBeGreaterThan(3000);
    expect(summaries.chain.refused).toBe(summaries.chain.refusals);
  });

  it('makes real snapshot round trips, after instantiations and actions', () => {
    expect(summaries.snapshot.roundTrips['done']).toBeGreaterThan(40_000);
    expect(summaries.snapshot.roundTrips['failed']).toBeUndefined();
  });
});
