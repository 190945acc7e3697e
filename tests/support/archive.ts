/**
 * Vendored test suites are gzipped tars (the spec suite is 1 MB, 45 MB
 * unpacked). Each is unpacked once per machine into the system's temporary
 * folder, under a name that carries the archive's hash, so a changed archive
 * is unpacked afresh.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const BLOCK = 512;
const REGULAR_FILE = [0x30, 0]; // '0', or NUL in old archives
const DIRECTORY = 0x35; // '5'
const GNU_LONG_NAME = 0x4c; // 'L'

/** One regular file of a tar archive. */
export interface TarEntry {
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** A NUL-terminated field of a tar header. */
function field(header: Uint8Array, start: number, length: number): string {
  const bytes = header.subarray(start, start + length);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end === -1 ? bytes : bytes.subarray(0, end));
}

/**
 * The regular files of a ustar archive, in order. Throws on an entry type the
 * suite's archive does not use (links, long names), rather than misread it.
 */
export function* tarEntries(tar: Uint8Array): Generator<TarEntry> {
  let at = 0;
  let longName: string | undefined;
  while (at + BLOCK <= tar.length) {
    const header = tar.subarray(at, at + BLOCK);
    if (header.every((byte) => byte === 0)) return;
    const name = field(header, 0, 100);
    const prefix = field(header, 345, 155);
    const size = Number.parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = header[156] as number;
    const path = longName ?? (prefix === '' ? name : `${prefix}/${name}`);
    at += BLOCK;
    const data = tar.subarray(at, at + size);
    at += Math.ceil(size / BLOCK) * BLOCK;
    if (type === GNU_LONG_NAME) {
      // GNU tar: this entry's data is the name of the next one.
      longName = field(data, 0, data.length);
      continue;
    }
    longName = undefined;
    if (REGULAR_FILE.includes(type)) yield { path, bytes: data };
    else if (type !== DIRECTORY)
      throw new Error(`${path}: tar entry type ${String.fromCharCode(type)} is not supported`);
  }
}

/**
 * The folder `folder` of the gzipped tar `archive`, unpacking the archive
 * first if this machine has not yet. Safe when several processes race: each
 * unpacks into its own folder and renames it into place.
 */
export function unpackArchive(archive: string, folder: string): string {
  const compressed = readFileSync(archive);
  const hash = createHash('sha256').update(compressed).digest('hex').slice(0, 16);
  const target = join(tmpdir(), `ri-sandbox-suite-${hash}`);
  if (existsSync(join(target, folder))) return join(target, folder);
  const staging = mkdtempSync(`${target}-staging-`);
  for (const entry of tarEntries(gunzipSync(compressed))) {
    const path = join(staging, entry.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, entry.bytes);
  }
  try {
    renameSync(staging, target);
  } catch {
    // Another process got there first; its copy is the same.
    rmSync(staging, { recursive: true, force: true });
  }
  return join(target, folder);
}
