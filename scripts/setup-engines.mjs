#!/usr/bin/env node
// Makes sure what the test suite runs beyond Node is present, installing what is missing when this runs
// as root on Debian: Chromium (the cross-engine suite and the playground), and clang-14 with wasi-libc
// (the C programs the WASI tests compile). Bun is an npm devDependency, so the install brings it.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const chromium = process.env.RI_SANDBOX_CHROMIUM ?? '/usr/bin/chromium';
const clang = process.env.RI_SANDBOX_CLANG ?? 'clang-14';
const bun = fileURLToPath(new URL('../node_modules/.bin/bun', import.meta.url));

function fail(message) {
  console.error(`setup-engines: ${message}`);
  process.exit(1);
}

function onPath(command) {
  return (process.env.PATH ?? '').split(':').some((dir) => existsSync(`${dir}/${command}`));
}

/** Whether clang-14 can build for wasm32-wasi: the compiler, the linker, wasi-libc and the builtins. */
function hasWasiToolchain() {
  const builtins = existsSync('/usr/lib/llvm-14/lib/clang')
    ? readdirSync('/usr/lib/llvm-14/lib/clang').some((version) =>
        existsSync(`/usr/lib/llvm-14/lib/clang/${version}/lib/wasi/libclang_rt.builtins-wasm32.a`),
      )
    : false;
  return (
    onPath(clang) && onPath('wasm-ld-14') && existsSync('/usr/lib/wasm32-wasi/crt1-command.o') && builtins
  );
}

const missing = [];
if (!existsSync(chromium))
  missing.push({ what: `Chromium at ${chromium}`, packages: ['chromium'], env: 'RI_SANDBOX_CHROMIUM' });
if (process.env.RI_SANDBOX_CLANG === undefined && !hasWasiToolchain())
  missing.push({
    what: 'clang-14 for wasm32-wasi',
    packages: ['clang-14', 'lld-14', 'wasi-libc', 'libclang-rt-14-dev-wasm32'],
    env: 'RI_SANDBOX_CLANG',
  });

if (missing.length > 0) {
  const packages = missing.flatMap((m) => m.packages);
  const names = missing.map((m) => m.what).join(' and ');
  if (process.platform !== 'linux' || !existsSync('/usr/bin/apt-get'))
    fail(
      `no ${names}; install them (${packages.join(' ')}) and point ${missing.map((m) => m.env).join('/')} at them`,
    );
  if (process.getuid?.() !== 0)
    fail(`no ${names}; run as root once, or: sudo apt-get install -y ${packages.join(' ')}`);
  console.error(`setup-engines: installing ${names} with apt-get (${packages.join(' ')}; a minute or two)`);
  const apt = {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  };
  execFileSync('apt-get', ['update', '-qq'], apt);
  execFileSync('apt-get', ['install', '-y', '-qq', ...packages], apt);
  if (!existsSync(chromium)) fail(`apt-get installed chromium, but ${chromium} is still missing`);
  if (process.env.RI_SANDBOX_CLANG === undefined && !hasWasiToolchain())
    fail('apt-get installed clang-14 and wasi-libc, but they still cannot build for wasm32-wasi');
}
if (!existsSync(bun)) fail('no Bun in node_modules/.bin: run the install first (it is a devDependency)');
// (Debian's chromium wrapper prints shell noise on stderr; only the version line matters.)
const version = (command) =>
  execFileSync(command, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .trim()
    .split('\n')[0];
console.error(`setup-engines: ${version(chromium)}; Bun ${version(bun)}; ${version(clang)}`);
