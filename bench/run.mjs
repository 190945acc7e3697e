#!/usr/bin/env node
// `pnpm bench`: runs every benchmark suite, prints the tables, and keeps the latest
// results in bench/results/ (Markdown for people, JSON for tools).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { machine } from './lib.mjs';
import { SUITES } from './suite.mjs';

/** Runs suite `name` in a process of its own (see suite.mjs) and returns its results. */
function runApart(name) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./suite.mjs', import.meta.url)), name], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`bench suite ${name} exited with ${code}`)),
    );
  });
}

const date = new Date().toISOString().slice(0, 10);
const host = machine();
const sections = [`## Benchmarks (${date}, ${host})`, ''];
const json = { date, machine: host };
const log = (line) => process.stderr.write(`${line}\n`);
for (const [name, { load, apart }] of Object.entries(SUITES)) {
  const suite = await load();
  const results = apart === true ? await runApart(name) : await suite.run(log);
  json[name] = results;
  sections.push(suite.report(results), '');
}
const markdown = sections.join('\n');
const out = new URL('./results/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(new URL('latest.md', out), `${markdown}\n`);
writeFileSync(new URL('latest.json', out), `${JSON.stringify(json, null, 2)}\n`);

// The README shows the latest figures between its bench markers, formatted as the repository formats Markdown.
const readmeUrl = new URL('../README.md', import.meta.url);
const readme = readFileSync(readmeUrl, 'utf8');
const start = '<!-- bench:start -->';
const end = '<!-- bench:end -->';
if (readme.includes(start) && readme.includes(end)) {
  const body = markdown.replace(/^## Benchmarks \((.*)\)$/m, 'Latest run: $1.').replace(/^### /gm, '#### ');
  const updated = `${readme.slice(0, readme.indexOf(start) + start.length)}\n\n${body}\n\n${readme.slice(readme.indexOf(end))}`;
  const options = (await prettier.resolveConfig(readmeUrl.pathname)) ?? {};
  writeFileSync(readmeUrl, await prettier.format(updated, { ...options, parser: 'markdown' }));
}
console.log(markdown);
