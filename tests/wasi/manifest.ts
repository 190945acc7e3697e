/**
 * The WASI suite as plain data, for engines that cannot read the archive (a
 * browser page, Bun): each program's settings and files in JSON (bytes as
 * base64), its module by name. Portable.
 */
import type { SuiteProgram } from './suite-run';

/** One program, as JSON. */
export interface ManifestEntry {
  readonly name: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly preopenRoot: boolean;
  /** Guest path to base64. */
  readonly files: Readonly<Record<string, string>>;
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** `program` as JSON-ready data, without its module. */
export function toManifestEntry(program: SuiteProgram): ManifestEntry {
  const files = Object.fromEntries(
    Object.entries(program.files).map(([path, bytes]) => [path, base64(bytes)]),
  );
  const { name, args, env, preopenRoot } = program;
  return { name, args, env, preopenRoot, files };
}

/** The program `entry` describes, with its module `wasm`. */
export function fromManifestEntry(entry: ManifestEntry, wasm: Uint8Array): SuiteProgram {
  const files = Object.fromEntries(
    Object.entries(entry.files).map(([path, text]) => [path, fromBase64(text)]),
  );
  return { ...entry, wasm, files };
}

/** The URL path (browser) or file name (Bun) of a program's module: `rust/x` is `rust-x.wasm`. */
export const moduleFileOf = (name: string): string => `${name.replace('/', '-')}.wasm`;
