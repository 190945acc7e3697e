#!/usr/bin/env node
// Makes sure the engines the cross-engine determinism suite runs in are present:
// Debian's Chromium (installed with apt-get when this runs as root on a machine
// without it) and Bun (an npm devDependency, so `pnpm install` brings it).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const chromium = process.env.RI_SANDBOX_CHROMIUM ?? '/usr/bin/chromium';
const bun = fileURLToPath(new URL('../node_modules/.bin/bun', import.meta.url));

function fail(message) {
  console.error(`setup-engines: ${message}`);
  process.exit(1);
}

if (!existsSync(chromium)) {
  if (process.platform !== 'linux' || !existsSync('/usr/bin/apt-get'))
    fail(`no Chromium at ${chromium}; install one and point RI_SANDBOX_CHROMIUM at it`);
  if (process.getuid?.() !== 0)
    fail(`no Chromium at ${chromium}; run as root once, or: sudo apt-get install -y chromium`);
  console.error(
    'setup-engines: installing Debian chromium for the cross-engine tests (apt-get, a minute or two)',
  );
  const apt = {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  };
  execFileSync('apt-get', ['update', '-qq'], apt);
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], apt);
  if (!existsSync(chromium)) fail(`apt-get installed chromium, but ${chromium} is still missing`);
}
if (!existsSync(bun)) fail('no Bun in node_modules/.bin: run the install first (it is a devDependency)');
// (Debian's chromium wrapper prints shell noise on stderr; only the version line matters.)
const version = (command) =>
  execFileSync(command, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
console.error(`setup-engines: ${version(chromium)}; Bun ${version(bun)}`);
