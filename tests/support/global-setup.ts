/**
 * Vitest's global setup: the whole run gets one temporary folder of its own
 * (`TMPDIR` for the test workers and every process they start), removed when
 * the run ends, so tests that make folders, compile programs or start
 * browsers leave nothing behind in the system's temporary folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const previous = process.env['TMPDIR'];
  const root = mkdtempSync(join(tmpdir(), 'ri-sandbox-tests-'));
  process.env['TMPDIR'] = root;
  return () => {
    if (previous === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
