/**
 * What a newcomer installing from npm meets: every publishable package is
 * packed as it would be published (`pnpm pack`, which rewrites the
 * workspace versions), the tarballs are installed into an empty project, and
 * the README's first example runs there as ES module, as CommonJS, and
 * type-checks as strict TypeScript under `node16`, `bundler` and `node10`
 * resolution. publint and @arethetypeswrong/cli check every tarball.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { typeScriptBlocks } from '../docs/markdown';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ri-sandbox-pack-'));
const tarballs = join(work, 'tarballs');
const app = join(work, 'app');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

/** The packages a user can install: every workspace package that is not private. */
const publishable = readdirSync(join(root, 'packages')).filter((name) => {
  const manifest = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')) as {
    private?: boolean;
  };
  return manifest.private !== true;
});

const first = typeScriptBlocks(join(root, 'README.md'), 'README.md')[0];
if (first === undefined) throw new Error('the README has no TypeScript block');

/** The example as CommonJS: `require` for its imports, the rest inside an async function. */
function asCommonJs(code: string): string {
  const requires: string[] = [];
  const body = code.replace(/^import (.+) from '([^']+)';$/gm, (_line, what: string, from: string) => {
    requires.push(`const ${what.replace(/^\{(.*)\}$/, '{$1}')} = require('${from}');`);
    return '';
  });
  return `${requires.join('\n')}\n(async () => {\n${body}\n})().catch((error) => {\n  console.error(error);\n  process.exitCode = 1;\n});\n`;
}

function tsconfig(name: string, module: string, resolution: string, files: string[]): string {
  const options = {
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    target: 'es2022',
    lib: ['es2022', 'dom'],
    module,
    moduleResolution: resolution,
    types: [],
    noEmit: true,
    skipLibCheck: false,
    esModuleInterop: true,
  };
  const path = join(app, name);
  writeFileSync(path, JSON.stringify({ compilerOptions: options, files }, null, 2));
  return path;
}

describe('the packages as published', () => {
  beforeAll(async () => {
    mkdirSync(tarballs, { recursive: true });
    mkdirSync(app, { recursive: true });
    for (const name of publishable) {
      await exec(
        process.execPath,
        [join(root, 'scripts', 'pnpm.mjs'), 'pack', '--pack-destination', tarballs],
        {
          cwd: join(root, 'packages', name),
        },
      );
    }
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const files = readdirSync(tarballs).map((file) => join(tarballs, file));
    await exec('npm', ['install', '--no-audit', '--no-fund', ...files, 'wabt@1.0.39'], { cwd: app });
  }, 300_000);

  it('packs every publishable package', () => {
    expect(readdirSync(tarballs).sort()).toEqual(
      publishable.map((name) => `ri-sandbox-${name}-0.0.0.tgz`).sort(),
    );
  });

  it.each(['first.mjs', 'first.cjs'])("runs the README's first example (%s)", async (file) => {
    writeFileSync(join(app, file), file.endsWith('.cjs') ? asCommonJs(first.code) : first.code);
    const { stdout } = await exec(process.execPath, [file], { cwd: app });
    expect(stdout.split('\n').slice(0, -1)).toEqual(first.expectedOutput);
  });

  it.each(['worker.mjs', 'worker.cjs'])(
    'runs the worker pool from the tarball, with the worker script it ships (%s)',
    async (file) => {
      // (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
      const add = [
        0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 127, 127, 1, 127, 3, 2, 1, 0, 7, 7, 1, 3, 97, 100, 100,
        0, 0, 10, 9, 1, 7, 0, 32, 0, 32, 1, 106, 11,
      ];
      const body = [
        'const pool = createWorkerSandbox({ workers: 1 });',
        'const created = await pool.create({ maxExecutionMs: 60000 });',
        `await pool.load(created.value, new Uint8Array(${JSON.stringify(add)}));`,
        'const result = await pool.execute(created.value, "add", [2, 3]);',
        'console.log(result.value, created.value.worker);',
        'await pool.close();',
      ];
      const code = file.endsWith('.cjs')
        ? [
            "const { createWorkerSandbox } = require('@ri-sandbox/worker/node');",
            '(async () => {',
            ...body,
            '})();',
          ]
        : ["import { createWorkerSandbox } from '@ri-sandbox/worker/node';", ...body];
      writeFileSync(join(app, file), `${code.join('\n')}\n`);
      const { stdout } = await exec(process.execPath, [file], { cwd: app });
      expect(stdout).toBe('5 0\n');
    },
  );

  it.each([
    ['node16', 'node16'],
    ['esnext', 'bundler'],
  ])('type-checks it as strict TypeScript (module %s, resolution %s)', async (module, resolution) => {
    writeFileSync(join(app, 'first.ts'), first.code);
    const config = tsconfig(`tsconfig.${resolution}.json`, module, resolution, ['first.ts']);
    await expect(
      exec(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], {
        cwd: app,
      }),
    ).resolves.toBeDefined();
  });

  it('resolves every entry point with node10 resolution too (the bench and node subpaths included)', async () => {
    writeFileSync(
      join(app, 'node10.ts'),
      [
        "import { createWasmSandbox } from '@ri-sandbox/sandbox';",
        "import { runSandboxBench } from '@ri-sandbox/sandbox/bench';",
        "import { directoryStore } from '@ri-sandbox/sandbox/node';",
        "import { decodeModule } from '@ri-sandbox/core';",
        'export const used = [createWasmSandbox, runSandboxBench, directoryStore, decodeModule];',
      ].join('\n'),
    );
    const config = tsconfig('tsconfig.node10.json', 'commonjs', 'node10', ['node10.ts']);
    await expect(
      exec(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], {
        cwd: app,
      }),
    ).resolves.toBeDefined();
  });

  it('installs without wabt for the library, which only the CLI needs for .wat files', () => {
    const manifest = JSON.parse(
      readFileSync(join(app, 'node_modules', '@ri-sandbox', 'sandbox', 'package.json'), 'utf8'),
    ) as {
      dependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional: boolean }>;
    };
    expect(Object.keys(manifest.dependencies)).not.toContain('wabt');
    expect(manifest.peerDependenciesMeta['wabt']).toEqual({ optional: true });
    for (const name of publishable)
      expect(readdirSync(join(app, 'node_modules', '@ri-sandbox', name))).toEqual(
        expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist']),
      );
  });

  it('ships the sandbox once per format: its entry points share one chunk', () => {
    const dist = join(app, 'node_modules', '@ri-sandbox', 'sandbox', 'dist');
    const defining = readdirSync(dist).filter(
      (file) =>
        /\.c?js$/.test(file) &&
        readFileSync(join(dist, file), 'utf8').includes('function createWasmSandbox('),
    );
    expect(defining).toHaveLength(2);
    expect(defining.every((file) => file.startsWith('chunk-'))).toBe(true);
  });

  it.each(publishable)('@ri-sandbox/%s says where it comes from', (name) => {
    const manifest = JSON.parse(
      readFileSync(join(app, 'node_modules', '@ri-sandbox', name, 'package.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      license: 'MIT',
      repository: { type: 'git', directory: `packages/${name}` },
      homepage: expect.stringContaining(`packages/${name}`) as unknown,
      keywords: expect.arrayContaining(['webassembly']) as unknown,
    });
  });

  it.each(publishable)(
    '@ri-sandbox/%s passes publint and arethetypeswrong',
    async (name) => {
      const tarball = join(tarballs, `ri-sandbox-${name}-0.0.0.tgz`);
      const lint = await exec(bin('publint'), ['--strict', tarball]);
      expect(lint.stdout).toMatch(/All good!/);
      const types = await exec(bin('attw'), [tarball, '--format', 'ascii']);
      expect(types.stdout).toMatch(/No problems found/);
    },
    60_000,
  );
});
