#!/usr/bin/env node
// `pnpm bench`: runs every benchmark suite, prints the tables, and keeps the latest
// results in bench/results/ (Markdown for people, JSON for tools).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as prettier from 'prettier';
import { machine } from './lib.mjs';
import * as metering from './metering.mjs';
import * as sandbox from './sandbox.mjs';
import * as peers from './peers.mjs';
import * as snapshot from './snapshot.mjs';
import * as wasi from './wasi.mjs';
import * as worker from './worker.mjs';

const suites = { metering, sandbox, snapshot, wasi, worker, peers };
const log = (line) => process.stderr.write(`${line}\n`);
const date = new Date().toISOString().slice(0, 10);
const sections = [`## Benchmarks (${date}, ${machine()})`, ''];
const json = { date, machine: machine() };
for (const [name, suite] of Object.entries(suites)) {
  const results = await suite.run(log);
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
