/**
 * Runs the determinism suite in Node, in headless Chromium and in Bun, and
 * asserts that the three engines agree case by case. `.ci/run` (through
 * `scripts/setup-engines.mjs`) installs Chromium; Bun comes from npm.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withChromium } from '../support/chromium';
import { CASES, type CaseRecord, runDeterminismSuite } from './suite';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
const BUN = join(root, 'node_modules', '.bin', 'bun');
const out = mkdtempSync(join(tmpdir(), 'ri-sandbox-engines-'));
const records: Record<string, CaseRecord[]> = {};

async function bundle(entry: string, format: 'iife' | 'esm'): Promise<string> {
  const outfile = join(out, `${entry}.js`);
  await build({
    entryPoints: [join(here, `${entry}.ts`)],
    bundle: true,
    format,
    platform: format === 'iife' ? 'browser' : 'neutral',
    // The packages' sources, as the Node run uses them (through the root tsconfig's paths).
    tsconfig: join(root, 'tsconfig.json'),
    target: 'es2022',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

async function inChromium(script: string): Promise<CaseRecord[]> {
  const page = join(out, 'index.html');
  writeFileSync(page, '<!doctype html><meta charset="utf-8"><script src="/suite.js"></script>');
  return withChromium({ '/': page, '/suite.js': script }, async (browser, origin) => {
    const tab = await browser.newPage();
    await tab.goto(`${origin}/`);
    const json = await tab.evaluate(async () => {
      const suite = (globalThis as unknown as { runDeterminismSuite: () => Promise<unknown> })
        .runDeterminismSuite;
      return JSON.stringify(await suite());
    });
    return JSON.parse(json) as CaseRecord[];
  });
}

async function inBun(script: string): Promise<CaseRecord[]> {
  const { stdout } = await run(BUN, [script], { maxBuffer: 1 << 24 });
  return JSON.parse(stdout) as CaseRecord[];
}

describe('the determinism suite', () => {
  beforeAll(async () => {
    const [browserScript, cliScript] = await Promise.all([
      bundle('entry-browser', 'iife'),
      bundle('entry-cli', 'esm'),
    ]);
    const [node, browser, bun] = await Promise.all([
      runDeterminismSuite(),
      inChromium(browserScript),
      inBun(cliScript),
    ]);
    Object.assign(records, { node, chromium: browser, bun });
  }, 240_000);

  afterAll(() => {
    // Kept for inspection next to the coverage report: what each engine recorded, case by case.
    const dir = join(root, 'coverage');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'engines.json'), `${JSON.stringify(records, null, 2)}\n`);
  });

  it('records real outcomes in Node: canonical NaNs, depth limits, gas and memory limits', () => {
    const node = Object.fromEntries((records['node'] ?? []).map((r) => [r.name, r]));
    expect(Object.keys(node)).toHaveLength(CASES.length + 1);
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
