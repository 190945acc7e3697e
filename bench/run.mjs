#!/usr/bin/env node
// `pnpm bench`: runs every benchmark suite, prints the tables, and keeps the latest
// results in bench/results/ (Markdown for people, JSON for tools).
import { mkdirSync, writeFileSync } from 'node:fs';
import { machine } from './lib.mjs';
import * as metering from './metering.mjs';

const suites = { metering };
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
console.log(markdown);
