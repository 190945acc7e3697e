#!/usr/bin/env node
/** The `ri-sandbox` executable: the command line wired to Node's file system and streams. */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { thrownReason } from '@ri-sandbox/core';
import { directoryStore } from '../node/directory-store';
import { runCli } from './main';

type CreateWabt = typeof import('wabt');

/** wabt, which the library does not need: only reading `.wat` files does, so it is an optional peer dependency. */
async function loadWabt(): Promise<CreateWabt> {
  try {
    return (await import('wabt')).default;
  } catch {
    throw new Error('reading a .wat file needs the wabt package, which is not installed (npm install wabt)');
  }
}

async function watToWasm(createWabt: CreateWabt, source: string, path: string): Promise<Uint8Array> {
  const wabt = await createWabt();
  const features = {
    exceptions: true,
    multi_value: true,
    bulk_memory: true,
    reference_types: true,
    simd: true,
    tail_call: true,
  };
  const module = wabt.parseWat(path, source, features);
  try {
    module.resolveNames();
    module.validate();
    return module.toBinary({ write_debug_names: true }).buffer;
  } finally {
    module.destroy();
  }
}

/** Every file under `folder`, by path relative to it. */
async function readFolder(folder: string): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  try {
    for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      files[relative(folder, path).split('\\').join('/')] = new Uint8Array(await readFile(path));
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT' ? `no such folder: ${folder}` : `cannot read ${folder}: ${code ?? String(error)}`,
    );
  }
  return files;
}

/** All of standard input when it is piped; nothing when it is a terminal. */
async function readStdin(): Promise<Uint8Array> {
  if (process.stdin.isTTY) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
  return new Uint8Array(Buffer.concat(chunks));
}

const exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readFile: async (path) => {
    try {
      return new Uint8Array(await readFile(path));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(
        code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path}: ${code ?? String(error)}`,
      );
    }
  },
  writeFile: async (path, bytes) => {
    try {
      await writeFile(path, bytes);
    } catch (error) {
      throw new Error(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  },
  makeFolder: async (path) => {
    try {
      await mkdir(path, { recursive: true });
    } catch (error) {
      throw new Error(
        `cannot make the folder ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }
  },
  preparedStore: directoryStore,
  watToWasm: async (source, path) => {
    const createWabt = await loadWabt();
    try {
      return await watToWasm(createWabt, source, path);
    } catch (error) {
      throw new Error(
        `${path} is not valid WebAssembly text: ${thrownReason(error).split('\n').slice(0, 2).join(' ')}`,
      );
    }
  },
  importModule: async (path) => (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>,
  readStdin,
  readFolder,
});
process.exitCode = exitCode;
