#!/usr/bin/env node
// Runs the pinned pnpm (the root package.json's `packageManager`) on a machine
// that has only Node and npm: a globally installed pnpm of the same version is
// used when present, otherwise npm fetches that exact version once into its cache.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const version = manifest.packageManager.replace(/^pnpm@/, '');
const args = process.argv.slice(2);

const installed = spawnSync('pnpm', ['--version'], { encoding: 'utf8', shell: process.platform === 'win32' });
const usable = installed.status === 0 && installed.stdout.trim() === version;
const [command, commandArgs] = usable
  ? ['pnpm', args]
  : ['npm', ['exec', '--yes', `--package=pnpm@${version}`, '--', 'pnpm', ...args]];

const run = spawnSync(command, commandArgs, { stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(run.status ?? 1);
