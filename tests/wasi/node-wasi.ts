/**
 * Node's own WASI (`node:wasi`, uvwasi), the reference we compare with: a
 * program run with a real temporary folder as its `/` and real files as its
 * standard streams.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { WASI } from 'node:wasi';
import { filesUnder } from './read-program';

/** What a program is run with under node:wasi. */
export interface NodeWasiInput {
  /** argv, argv[0] included. */
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Written into a fresh folder pre-opened as `/`; `undefined` pre-opens nothing. */
  readonly files: Readonly<Record<string, Uint8Array | string>> | undefined;
  readonly stdin?: string | undefined;
}

/** What it did: exit code, output, and the files left in its `/`. */
export interface NodeWasiRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly files: Record<string, Uint8Array>;
}

/** Runs the WASI command `wasm` under node:wasi; a trap or a missing function throws. */
export async function runWithNodeWasi(wasm: Uint8Array, input: NodeWasiInput): Promise<NodeWasiRun> {
  const root = mkdtempSync(join(tmpdir(), 'ri-sandbox-node-wasi-'));
  for (const [path, contents] of Object.entries(input.files ?? {})) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), contents);
  }
  const io = mkdtempSync(join(tmpdir(), 'ri-sandbox-node-wasi-io-'));
  writeFileSync(join(io, 'stdin'), input.stdin ?? '');
  const [stdin, stdout, stderr] = [
    openSync(join(io, 'stdin'), 'r'),
    openSync(join(io, 'stdout'), 'w'),
    openSync(join(io, 'stderr'), 'w'),
  ];
  try {
    const node = new WASI({
      version: 'preview1',
      args: [...input.args],
      env: { ...input.env },
      preopens: input.files === undefined ? {} : { '/': root },
      stdin,
      stdout,
      stderr,
      returnOnExit: true,
    });
    const { instance } = await WebAssembly.instantiate(
      wasm as Uint8Array<ArrayBuffer>,
      node.getImportObject() as WebAssembly.Imports,
    );
    const exitCode = node.start(instance);
    return {
      exitCode,
      stdout: readFileSync(join(io, 'stdout'), 'utf8'),
      stderr: readFileSync(join(io, 'stderr'), 'utf8'),
      files: filesUnder(root),
    };
  } finally {
    for (const fd of [stdin, stdout, stderr]) closeSync(fd);
  }
}
