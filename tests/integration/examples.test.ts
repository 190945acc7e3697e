import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

describe('the examples the README points to', () => {
  it('demo.mjs runs every scenario, snapshots included', async () => {
    const { stdout } = await run(process.execPath, [example('demo.mjs')]);
    expect(stdout).toMatch(/result : \[ -7, 0, 3, 19, 42 \]/);
    expect(stdout).toMatch(/add\(1000\), restore, increment\n {2}result : 42/);
    expect(stdout).toMatch(/executing again answers: INSTANCE_DESTROYED/);
  });

  it('pressure.mjs acts on the advice with suspend, and resumes with the state intact', async () => {
    const { stdout } = await run(process.execPath, [example('pressure.mjs')]);
    expect(stdout).toBe(
      [
        'level: PRESSURE',
        'advice: suspend sandbox-0',
        'level after acting: WARNING',
        'sandbox-0 is suspended; resuming',
        'sandbox-0 is loaded, its byte at 1000 is 10',
        '',
      ].join('\n'),
    );
  });

  it('ruby/run.mjs initialises CRuby once and runs untrusted Ruby from its snapshot, limits included', async () => {
    const { stdout } = await run(process.execPath, [example('ruby/run.mjs')], { timeout: 120_000 });
    expect(stdout).toContain('| Hello from Ruby 3.4.1: deterministic, metered, suspendable');
    expect(stdout).toContain('host reads /report.txt: "DETERMINISTIC\\nMETERED\\nSUSPENDABLE"');
    expect(stdout).toContain('in another instance: same output true, same gas true');
    expect(stdout).toContain("! main.rb:1:in 'Integer#/': divided by 0 (ZeroDivisionError)");
    expect(stdout).toMatch(/under 50 million gas:\n {2}stopped: GAS_EXHAUSTED/);
    expect(stdout).toMatch(/unlimited gas:\n {2}stopped: TIMEOUT/);
  }, 120_000);
});
