/**
 * The browser playground (`examples/playground/`), built as a visitor gets it
 * and driven in headless Chromium: WebAssembly text compiled in the page,
 * limits, a run, snapshot and restore, a runaway loop stopped by gas, and a
 * dropped `.wasm`.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '@ri-sandbox/test-fixtures';
import { buildPlayground } from '../../examples/playground/build.mjs';
import { withChromium } from '../support/chromium';

const dist = mkdtempSync(join(tmpdir(), 'ri-sandbox-playground-'));
const files: Record<string, string> = {};

/** What the page shows after the last action. */
async function shown(page: Page) {
  const text = async (id: string) => (await page.locator(`#${id}`).textContent()) ?? '';
  return { status: await text('status'), value: await text('value'), gas: await text('gas') };
}

async function run(page: Page, name: string, args: string) {
  await page.selectOption('#export', name);
  await page.fill('#args', args);
  await page.click('#run');
  return shown(page);
}

describe('the playground', () => {
  beforeAll(async () => {
    await buildPlayground(dist);
    for (const file of readdirSync(dist)) files[`/${file}`] = join(dist, file);
    files['/'] = join(dist, 'index.html');
  }, 300_000);

  it('runs an export, snapshots, restores, stops a runaway loop by gas, and takes a dropped .wasm', async () => {
    const add = join(dist, 'add.wasm');
    writeFileSync(add, fixture('add'));
    await withChromium(files, async (browser, origin) => {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${origin}/`);

      // The example text: a counter and a loop, compiled in the page by wabt.
      await page.fill('#max-gas', '100000');
      await page.fill('#max-ms', '60000');
      await page.click('#load');
      await page.waitForSelector('#run:not([disabled])');
      expect((await shown(page)).status).toMatch(/^loaded the text \(\d+ bytes\): add, get, spin$/);

      expect(await run(page, 'add', '5')).toMatchObject({ status: 'ok', value: '5', gas: '6 of 100,000' });
      await page.click('#snapshot');
      expect(await page.locator('#snapshot-info').textContent()).toMatch(/^\d+ bytes$/);
      expect(await run(page, 'add', '5')).toMatchObject({ value: '10' });
      await page.click('#restore');
      expect((await shown(page)).status).toBe('restored');
      expect(await run(page, 'get', '')).toMatchObject({ value: '5' });

      expect(await run(page, 'spin', '')).toMatchObject({
        status: 'GAS_EXHAUSTED: gas exhausted: used 100000 of 100000 (raise maxGas or do less work per call)',
        gas: '100,000 of 100,000',
      });

      // A .wasm file chosen (as a drop would give it) is used instead of the text.
      await page.setInputFiles('#file', add);
      await page.waitForFunction(() =>
        document.querySelector('#status')?.textContent.startsWith('loaded add.wasm'),
      );
      expect(await run(page, 'add', '[2, 3]')).toMatchObject({ status: 'ok', value: '5' });
      expect(await run(page, 'add', '[2]')).toMatchObject({
        status: expect.stringMatching(/^INVALID_PAYLOAD: /) as unknown,
      });

      // Text that is not WebAssembly is reported, not thrown.
      await page.fill('#wat', '(module (func (export "f") (result i32) (i64.const 1)))');
      await page.click('#load');
      await page.waitForFunction(() =>
        document.querySelector('#status')?.textContent.startsWith('the text is not valid'),
      );
      expect((await shown(page)).status).toMatch(/^the text is not valid WebAssembly/);
      expect(errors).toEqual([]);
    });
  }, 120_000);
});
