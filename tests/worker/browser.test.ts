/**
 * The worker sandbox in Chromium, over Web Workers: instances in two workers
 * at once, host functions reading and writing guest memory, a host function
 * that loops stopped by terminating its worker, and an instance suspended in
 * one worker and resumed in another; on a plain page (calls by message) and
 * on a cross-origin isolated one (quick calls through shared memory).
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
/** What the checks gave on a plain page (messages only) and on a cross-origin isolated one (shared memory too). */
const outcomes: Record<'plain' | 'isolated', Record<string, unknown>> = { plain: {}, isolated: {} };

describe.each(['plain', 'isolated'] as const)('the worker sandbox in Chromium, on a %s page', (kind) => {
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
    outcomes[kind] = await withChromium(
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
      { isolated: kind === 'isolated' },
    );
  }, 120_000);

  it('can share memory with its workers only when cross-origin isolated', () => {
    expect(outcomes[kind]['isolated']).toBe(kind === 'isolated');
  });

  it('runs instances in two Web Workers, with host functions beside their memory', () => {
    expect(outcomes[kind]).toMatchObject({
      workers: [0, 1],
      fibs: [17711, 17711],
      greeted: 0x216968,
      summed: 294,
    });
  });

  it('terminates the worker of a host function that loops, and answers TIMEOUT marked as a hard kill', () => {
    expect(outcomes[kind]['killed']).toMatchObject({
      code: 'TIMEOUT',
      hardKill: true,
      recovered: false,
      limitMs: 50,
    });
    expect(outcomes[kind]['victim']).toBe('destroyed');
  });

  it('resumes a suspended instance in another worker with its state', () => {
    expect(outcomes[kind]['resumed']).toBe(42);
  });

  it('answers calls on one instance in the order they were made', () => {
    expect(outcomes[kind]['ordered']).toEqual([43, 45, 48, 52, 57]);
  });

  it('terminates the worker of a host function that waits on a lock, and one that closed itself', () => {
    expect(outcomes[kind]['waited']).toMatchObject({ code: 'TIMEOUT', hardKill: true, limitMs: 50 });
    expect(outcomes[kind]['crashed']).toBe('returned');
    expect(outcomes[kind]['found']).toMatchObject({ code: 'TIMEOUT', hardKill: true, limitMs: 50 });
    // Both were placed in the other worker than the resumed instance's, which kept its state.
    expect(outcomes[kind]['after']).toBe(57);
  });

  it('closes with a blocked call in flight: it answers at once', () => {
    expect(outcomes[kind]['closed']).toBe('INSTANCE_DESTROYED');
  });
});
