/**
 * The worker sandbox in Chromium, over Web Workers: instances in two workers
 * at once, host functions reading and writing guest memory, a host function
 * that loops stopped by terminating its worker, and an instance suspended in
 * one worker and resumed in another.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { GUEST } from '../../packages/worker/test/support';
import { bundleEntry } from '../support/bundle';
import { withChromium } from '../support/chromium';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
let outcome: Record<string, unknown>;

describe('the worker sandbox in Chromium', () => {
  beforeAll(async () => {
    const out = mkdtempSync(join(tmpdir(), 'ri-sandbox-worker-browser-'));
    const [page, worker] = await Promise.all([
      bundleEntry(join(here, 'browser-entry.ts'), {
        format: 'iife',
        platform: 'browser',
        outfile: join(out, 'page.js'),
      }),
      bundleEntry(join(root, 'packages', 'worker', 'src', 'worker.ts'), {
        format: 'esm',
        platform: 'browser',
        outfile: join(out, 'worker.js'),
      }),
    ]);
    writeFileSync(
      join(out, 'index.html'),
      '<!doctype html><meta charset="utf-8"><script src="/page.js"></script>',
    );
    writeFileSync(join(out, 'guest.wasm'), GUEST);
    outcome = await withChromium(
      {
        '/': join(out, 'index.html'),
        '/page.js': page,
        '/worker.js': worker,
        '/guest.wasm': join(out, 'guest.wasm'),
        '/host-functions.mjs': join(root, 'packages', 'worker', 'test', 'host-functions.mjs'),
      },
      async (browser, origin) => {
        const tab = await browser.newPage();
        await tab.goto(`${origin}/`);
        const json = await tab.evaluate(async () => {
          const checks = (globalThis as unknown as { runWorkerChecks: () => Promise<unknown> })
            .runWorkerChecks;
          return JSON.stringify(await checks());
        });
        return JSON.parse(json) as Record<string, unknown>;
      },
    );
  }, 120_000);

  it('runs instances in two Web Workers, with host functions beside their memory', () => {
    expect(outcome).toMatchObject({ workers: [0, 1], fibs: [17711, 17711], greeted: 0x216968, summed: 294 });
  });

  it('terminates the worker of a host function that loops, and answers TIMEOUT marked as a hard kill', () => {
    expect(outcome['killed']).toMatchObject({
      code: 'TIMEOUT',
      hardKill: true,
      recovered: false,
      limitMs: 50,
    });
    expect(outcome['victim']).toBe('destroyed');
  });

  it('resumes a suspended instance in another worker with its state', () => {
    expect(outcome['resumed']).toBe(42);
  });
});
