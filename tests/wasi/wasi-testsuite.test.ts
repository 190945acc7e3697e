/**
 * The official WASI test suite (preview 1; 72 programs in Rust, C and
 * AssemblyScript, see this folder's README), each run as a command:
 *
 * - in Node, in a worker of its own under a watchdog: through the sandbox
 *   twice (every transform, metered; the two runs must be byte-identical),
 *   with `@ri-sandbox/wasi` alone on a plain instance, and with node:wasi for
 *   comparison;
 * - in headless Chromium, through the sandbox, in a fresh page each;
 * - in Bun, through the sandbox.
 *
 * A test passes when its exit code, and its standard output where the test
 * names one, are what it expects; Chromium and Bun must also agree with Node
 * on everything (output, exit, gas, files, snapshot).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleEntry } from '../support/bundle';
import { withChromium } from '../support/chromium';
import { runInWorkers } from '../support/worker-pool';
import { CASES, type Case, passes } from './cases';
import { moduleFileOf, toManifestEntry } from './manifest';
import { programOf } from './read-program';
import type { SuiteRun } from './suite-run';
import type { ModeRun } from './worker';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
const BUN = join(root, 'node_modules', '.bin', 'bun');
const out = mkdtempSync(join(tmpdir(), 'ri-sandbox-wasi-suite-'));
/** Far above what any program needs (milliseconds): a hang fails its test instead of stalling CI. */
const HANG_MS = 5 * 60_000;

/** Every run of every test, by where it ran, then by test name; a string says why there is no run. */
type Where = ModeRun['mode'] | 'chromium' | 'bun';
const runs = {} as Record<Where, Record<string, SuiteRun | string>>;
const summary: string[] = [];

async function inNode(): Promise<void> {
  const script = await bundleEntry(join(here, 'worker.ts'));
  const reports = await runInWorkers<Case, ModeRun>({
    script,
    inputs: CASES,
    concurrency: Math.max(1, availableParallelism()),
    timeoutMs: HANG_MS,
    // node:wasi says it is experimental once per worker: 72 times.
    execArgv: ['--disable-warning=ExperimentalWarning'],
  });
  for (const mode of ['sandbox', 'sandbox again', 'alone', 'node:wasi'] as const) runs[mode] = {};
  CASES.forEach((test, i) => {
    const report = reports[i];
    for (const { mode, run } of report?.messages ?? []) runs[mode][test.name] = run;
    for (const mode of Object.keys(runs) as ModeRun['mode'][])
      runs[mode][test.name] ??= report?.error ?? 'no run';
  });
}

/** The manifest and the modules, where the browser page and Bun read them. */
function writeManifest(): Record<string, string> {
  mkdirSync(join(out, 'modules'));
  const served: Record<string, string> = {};
  const manifest = CASES.map((test) => {
    const file = moduleFileOf(test.name);
    copyFileSync(test.wasm, join(out, 'modules', file));
    served[`/modules/${file}`] = test.wasm;
    return toManifestEntry(programOf(test));
  });
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest));
  return served;
}

/** Each program in a fresh page: a hang is given up on (and its page closed) without touching the next. */
async function inChromium(served: Record<string, string>): Promise<void> {
  const script = await bundleEntry(join(here, 'entry-browser.ts'), {
    format: 'iife',
    platform: 'browser',
    outfile: join(out, 'suite.js'),
  });
  writeFileSync(
    join(out, 'index.html'),
    '<!doctype html><meta charset="utf-8"><script src="/suite.js"></script>',
  );
  const files = {
    '/': join(out, 'index.html'),
    '/suite.js': script,
    '/manifest.json': join(out, 'manifest.json'),
    ...served,
  };
  runs.chromium = {};
  await withChromium(files, async (browser, origin) => {
    for (const test of CASES) {
      const tab = await browser.newPage();
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<string>((resolve) => {
        timer = setTimeout(() => {
          resolve(`hung: not finished after ${String(HANG_MS / 1000)} s`);
        }, HANG_MS);
      });
      const ran = (async () => {
        await tab.goto(`${origin}/`);
        const json = await tab.evaluate(async (name) => {
          const page = globalThis as unknown as { runSuiteProgram: (n: string) => Promise<unknown> };
          return JSON.stringify(await page.runSuiteProgram(name));
        }, test.name);
        return JSON.parse(json) as SuiteRun;
      })().catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
      runs.chromium[test.name] = await Promise.race([ran, hung]);
      clearTimeout(timer);
      await tab.close();
    }
  });
}

/** All programs in one Bun process; if it fails or hangs, every program's Bun run says so (and Node's still count). */
async function inBun(): Promise<void> {
  const script = await bundleEntry(join(here, 'entry-bun.ts'), { outfile: join(out, 'bun.mjs') });
  try {
    const { stdout } = await promisify(execFile)(
      BUN,
      [script, join(out, 'manifest.json'), join(out, 'modules')],
      // Within the time the whole file has, far above the seconds it takes.
      { maxBuffer: 1 << 26, timeout: 4 * HANG_MS },
    );
    runs.bun = JSON.parse(stdout) as Record<string, SuiteRun | string>;
  } catch (error) {
    const reason = `bun failed: ${error instanceof Error ? error.message : String(error)}`;
    runs.bun = Object.fromEntries(CASES.map((test) => [test.name, reason]));
  }
}

const failing = (where: Where, test: Case): boolean => {
  const run = runs[where][test.name];
  return typeof run === 'string' || !passes(test, run);
};

/** Everything a run must repeat exactly: all but the engine's own words for a trap. */
const comparable = (run: SuiteRun | string | undefined) => {
  if (typeof run !== 'object') return run;
  return Object.fromEntries(Object.entries(run).filter(([field]) => field !== 'detail'));
};

describe('the official WASI test suite', () => {
  beforeAll(async () => {
    const served = writeManifest();
    await Promise.all([inNode(), inChromium(served), inBun()]);
    const labels: readonly [Where, string][] = [
      ['sandbox', 'sandbox'],
      ['alone', 'wasi alone'],
      ['chromium', 'chromium'],
      ['bun', 'bun'],
      ['node:wasi', 'node:wasi, the same copy, for comparison'],
    ];
    for (const [where, label] of labels) {
      const passing = CASES.filter((test) => !failing(where, test)).length;
      summary.push(`wasi-testsuite: ${String(passing)}/${String(CASES.length)} pass (${label})`);
    }
    console.log(summary.join('\n'));
    // Kept beside the coverage report: every run of every test, wherever it ran.
    mkdirSync(join(root, 'coverage'), { recursive: true });
    writeFileSync(
      join(root, 'coverage', 'wasi-testsuite.json'),
      `${JSON.stringify({ summary, runs }, null, 2)}\n`,
    );
  }, 60 * 60_000);

  it('has all 72 tests', () => {
    expect(CASES).toHaveLength(72);
  });

  it.each(CASES.map((test) => [test.name, test] as const))(
    '%s passes in the sandbox, alone, in Chromium and in Bun',
    (_name, test) => {
      const where = ['sandbox', 'alone', 'chromium', 'bun'] as const;
      // On a failure, the diff shows the run: the outcome, and what the program said (a Rust panic's message).
      const failures = where.filter((w) => failing(w, test)).map((w) => [w, runs[w][test.name]]);
      expect(Object.fromEntries(failures)).toEqual({});
    },
  );

  it('gives byte-identical runs twice in the sandbox: output, exit, gas, files and snapshot', () => {
    const differing = CASES.filter(
      (test) =>
        JSON.stringify(comparable(runs.sandbox[test.name])) !==
        JSON.stringify(comparable(runs['sandbox again'][test.name])),
    ).map((test) => test.name);
    expect(differing).toEqual([]);
  });

  it.each(['chromium', 'bun'] as const)(
    'gives in %s what Node gives, test by test: output, exit, gas, files and snapshot',
    (engine) => {
      for (const test of CASES)
        expect({ test: test.name, run: comparable(runs[engine][test.name]) }).toEqual({
          test: test.name,
          run: comparable(runs.sandbox[test.name]),
        });
    },
  );

  it('meters every program: each run in the sandbox used gas, and its state was snapshot', () => {
    for (const test of CASES) {
      const run = runs.sandbox[test.name];
      expect(typeof run === 'object' && run.gasUsed > 0 && /^[0-9a-f]{64}$/.test(run.stateHash)).toBe(true);
    }
  });
});
