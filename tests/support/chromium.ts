/**
 * Headless Chromium for the browser tests: Debian's build (installed by
 * `scripts/setup-engines.mjs`), driven by playwright-core, serving files from
 * a local HTTP server on 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium, or another build named by the environment. */
export const CHROMIUM = process.env['RI_SANDBOX_CHROMIUM'] ?? '/usr/bin/chromium';

/** Flags for a headless Chromium on a machine with a closed network. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
};

/** The headers that make a page cross-origin isolated: it may share memory with its workers. */
const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};

/**
 * Serves `files` (URL path to file on disk) on a free port, launches
 * Chromium, and gives `use` the browser and the server's origin; closes both
 * afterwards, whatever happens. With `isolated`, every response carries the
 * headers of cross-origin isolation.
 */
export async function withChromium<T>(
  files: Readonly<Record<string, string>>,
  use: (browser: Browser, origin: string) => Promise<T>,
  { isolated = false }: { readonly isolated?: boolean } = {},
): Promise<T> {
  const server = createServer((request, response) => {
    const path = files[(request.url ?? '/').split('?')[0] as string];
    if (path === undefined) {
      response.writeHead(404).end();
      return;
    }
    const type = TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream';
    response.writeHead(200, { 'content-type': type, ...(isolated ? ISOLATION_HEADERS : {}) });
    response.end(readFileSync(path));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    return await use(browser, origin);
  } finally {
    await browser.close();
    server.close();
  }
}
