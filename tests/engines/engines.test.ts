/**
 * Runs the determinism suite in Node, in headless Chromium and in Bun, and
 * asserts that the three engines agree case by case. `.ci/run` (through
 * `scripts/setup-engines.mjs`) installs Chromium; Bun comes from npm.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleEntry } from '../support/bundle';
import { withChromium } from '../support/chromium';
import { compilePrograms } from '../wasi/compile';
import { CASES, type CaseRecord, runDeterminismSuite } from './suite';
import { WASI_MODULE_NAMES, type WasiModules, runWasiSuite } from './wasi-suite';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
const BUN = join(root, 'node_modules', '.bin', 'bun');
const out = mkdtempSync(join(tmpdir(), 'ri-sandbox-engines-'));
const records: Record<string, CaseRecord[]> = {};
const wasiRecords: Record<string, CaseRecord[]> = {};

function bundle(entry: string, format: 'iife' | 'esm', platform?: 'node'): Promise<string> {
  return bundleEntry(join(here, `${entry}.ts`), {
    format,
    platform: platform ?? (format === 'iife' ? 'browser' : 'neutral'),
    outfile: join(out, `${entry}.js`),
  });
}

/** What one engine recorded: the determinism suite, and the WASI cases. */
interface EngineRecords {
  readonly determinism: CaseRecord[];
  readonly wasi: CaseRecord[];
}

async function inChromium(script: string, modules: Record<string, string>): Promise<EngineRecords> {
  const page = join(out, 'index.html');
  writeFileSync(page, '<!doctype html><meta charset="utf-8"><script src="/suite.js"></script>');
  const served = Object.fromEntries(
    Object.entries(modules).map(([name, path]) => [`/modules/${name}.wasm`, path]),
  );
  return withChromium({ '/': page, '/suite.js': script, ...served }, async (browser, origin) => {
    const tab = await browser.newPage();
    await tab.goto(`${origin}/`);
    const json = await tab.evaluate(async () => {
      const suites = globalThis as unknown as Record<
        'runDeterminismSuite' | 'runWasiSuite',
        () => Promise<unknown>
      >;
      return JSON.stringify({
        determinism: await suites.runDeterminismSuite(),
        wasi: await suites.runWasiSuite(),
      });
    });
    return JSON.parse(json) as EngineRecords;
  });
}

async function inBun(script: string, args: readonly string[] = []): Promise<CaseRecord[]> {
  const { stdout } = await run(BUN, [script, ...args], { maxBuffer: 1 << 24 });
  return JSON.parse(stdout) as CaseRecord[];
}

/** The WASI cases' modules, written to files: the C programs compiled here, and ruby.wasm from npm. */
async function wasiModules(): Promise<{
  readonly paths: Record<string, string>;
  readonly bytes: WasiModules;
}> {
  const programs = await compilePrograms();
  const dir = join(out, 'modules');
  mkdirSync(dir, { recursive: true });
  const paths: Record<string, string> = {
    clockRandom: join(dir, 'clockRandom.wasm'),
    files: join(dir, 'files.wasm'),
    ruby: createRequire(import.meta.url).resolve('@ruby/3.4-wasm-wasi/dist/ruby+stdlib.wasm'),
  };
  writeFileSync(paths['clockRandom'] as string, programs['clock_random'] as Uint8Array);
  writeFileSync(paths['files'] as string, programs['files'] as Uint8Array);
  const bytes = Object.fromEntries(
    WASI_MODULE_NAMES.map((name) => [name, new Uint8Array(readFileSync(paths[name] as string))]),
  ) as unknown as WasiModules;
  return { paths, bytes };
}

describe('the determinism suite', () => {
  beforeAll(async () => {
    const [browserScript, cliScript, wasiCliScript, modules] = await Promise.all([
      bundle('entry-browser', 'iife'),
      bundle('entry-cli', 'esm'),
      bundle('entry-wasi-cli', 'esm', 'node'),
      wasiModules(),
    ]);
    const wasiArgs = WASI_MODULE_NAMES.map((name) => modules.paths[name] as string);
    const [node, nodeWasi, browser, bun, bunWasi] = await Promise.all([
      runDeterminismSuite(),
      runWasiSuite(modules.bytes),
      inChromium(browserScript, modules.paths),
      inBun(cliScript),
      inBun(wasiCliScript, wasiArgs),
    ]);
    Object.assign(records, { node, chromium: browser.determinism, bun });
    Object.assign(wasiRecords, { node: nodeWasi, chromium: browser.wasi, bun: bunWasi });
  }, 300_000);

  afterAll(() => {
    // Kept for inspection next to the coverage report: what each engine recorded, case by case.
    const dir = join(root, 'coverage');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'engines.json'), `${JSON.stringify({ records, wasiRecords }, null, 2)}\n`);
  });

  it('records real outcomes in Node: canonical NaNs, depth limits, gas and memory limits', () => {
    const node = Object.fromEntries((records['node'] ?? []).map((r) => [r.name, r]));
    expect(Object.keys(node)).toHaveLength(CASES.length + 2);
    expect(node['NaN producers']?.outcomes.slice(0, 4)).toEqual([
      '2143289344',
      '9221120237041090560n',
      '2143289344',
      '9221120237041090560n',
    ]);
    expect(node['recursion to maxCallDepth 500']?.outcomes).toEqual(['400', 'WASM_TRAP stack_overflow']);
    expect(node['gas exhaustion']).toMatchObject({ outcomes: ['GAS_EXHAUSTED'], gas: [123_457] });
    expect(node['memory limit']?.outcomes[0]).toBe('MEMORY_EXCEEDED');
    expect(node['PRNG and time']?.outcomes[3]).toBe('1700000000000');
    // The factory that loaded from the store ran the module as one that transformed it does.
    const prepared = node['a prepared module, made by one factory and loaded by another'];
    expect(prepared?.outcomes[0]).toBe(node['sha256 (clang)']?.outcomes[1]);
    expect(prepared?.outcomes.slice(1)).toEqual([
      expect.stringMatching(/^[0-9a-f]{64}$/),
      expect.stringMatching(/^[0-9a-f]{64}$/),
      '1',
    ]);
  });

  it.each(['chromium', 'bun'])(
    'gives the same result, gas, memory and snapshot in %s as in Node, case by case',
    (engine) => {
      const node = records['node'] ?? [];
      const other = records[engine] ?? [];
      expect(other.map((r) => r.name)).toEqual(node.map((r) => r.name));
      node.forEach((expected, i) => {
        expect({ engine, ...other[i] }).toEqual({ engine, ...expected });
      });
    },
  );
});

describe('the WASI cases (C programs and CRuby)', () => {
  it('record real runs in Node: exit codes, output, files, CRuby printing its answers', () => {
    const [clock, files, ruby] = wasiRecords['node'] ?? [];
    expect(clock?.outcomes.slice(0, 2)).toEqual([
      'exit 0',
      expect.stringMatching(/^realtime: 1600000000\nloop: \d+ ns\nafter sleep: 25\d{7} ns later\nrandom:/),
    ]);
    expect(files?.outcomes[0]).toBe('exit 0');
    expect(files?.outcomes[1]).toMatch(/^read: a line of input\n.*done\n$/s);
    expect(ruby?.outcomes.slice(0, 3)).toEqual([
      'true',
      expect.stringMatching(/^\[181, 191, 193, 197, 199\]\n4227\n2023-11-14 22:13:2\d UTC\n/),
      '',
    ]);
    expect(ruby?.outcomes[4]).toBe('/out.txt:154');
    expect(ruby?.gas[0]).toBeGreaterThan(100_000_000);
  });

  it.each(['chromium', 'bun'])(
    'gives the same output, files, gas, memory and snapshots in %s as in Node',
    (engine) => {
      const node = wasiRecords['node'] ?? [];
      const other = wasiRecords[engine] ?? [];
      expect(other.map((r) => r.name)).toEqual(node.map((r) => r.name));
      node.forEach((expected, i) => {
        expect({ engine, ...other[i] }).toEqual({ engine, ...expected });
      });
    },
  );
});
