/**
 * Docs are code: every TypeScript block of every README type-checks in strict
 * mode (with `noUncheckedIndexedAccess`), and every block not marked
 * `ts check` runs and prints exactly what its `// → text` comments say.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CodeBlock, typeScriptBlocks } from './markdown';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
/** Inside the repository, so that bare imports (wabt) resolve from its node_modules; ignored by git. */
const work = join(root, 'node_modules', '.cache', 'ri-sandbox-docs');
const PRELUDE = join(root, 'tests', 'docs', 'prelude.ts');

const readmes = [
  'README.md',
  ...readdirSync(join(root, 'packages')).map((name) => `packages/${name}/README.md`),
];
/** A block's relative imports resolve from its README's folder, as they would for a reader there. */
function withImportsFrom(block: CodeBlock, folder: string): CodeBlock {
  const code = block.code.replace(
    /(from\s+')(\.\.?\/[^']+)(')/g,
    (_, before: string, path: string, after: string) => `${before}${join(folder, path)}${after}`,
  );
  return { ...block, code };
}
const blocks: CodeBlock[] = readmes.flatMap((name) =>
  typeScriptBlocks(join(root, name), name).map((block) => withImportsFrom(block, dirname(join(root, name)))),
);
const fileOf = (index: number) => join(work, `block-${index}.ts`);

/** Type errors of every block, by block, in one program. */
function typeErrors(): Map<number, string[]> {
  const program = ts.createProgram(
    blocks.map((_, i) => fileOf(i)),
    {
      strict: true,
      noUncheckedIndexedAccess: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      moduleDetection: ts.ModuleDetectionKind.Force,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: ['node'],
      typeRoots: [join(root, 'node_modules', '@types')],
      baseUrl: root,
      paths: {
        '@ri-sandbox/worker/node': ['packages/worker/src/node.ts'],
        '@ri-sandbox/sandbox/node': ['packages/sandbox/src/node/index.ts'],
        '@ri-sandbox/*': ['packages/*/src/index.ts'],
        '@docs/prelude': [PRELUDE],
      },
      skipLibCheck: true,
      noEmit: true,
      esModuleInterop: true,
    },
  );
  const errors = new Map<number, string[]>();
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const index = blocks.findIndex((_, i) => diagnostic.file?.fileName === fileOf(i));
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const line =
      diagnostic.file && diagnostic.start !== undefined
        ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1
        : 0;
    errors.set(index, [...(errors.get(index) ?? []), `line ${line}: ${text}`]);
  }
  return errors;
}

let errors = new Map<number, string[]>();

describe('the READMEs', () => {
  beforeAll(() => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    // The prelude first, then the block: its line numbers in messages count from the prelude's start.
    blocks.forEach((block, i) => {
      writeFileSync(fileOf(i), `${block.prelude}\n${block.code}\n`);
    });
    errors = typeErrors();
  }, 120_000);

  it('have TypeScript blocks, most of which run', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(19);
    expect(blocks.filter((b) => b.runs).length).toBeGreaterThan(blocks.length / 2);
  });

  it('type-check in strict mode, every block', () => {
    const failures = [...errors].map(
      ([i, messages]) => `${blocks[i]?.where ?? 'outside the blocks'}: ${messages.join('; ')}`,
    );
    expect(failures.join('\n')).toBe('');
  });

  it.each(blocks.flatMap((block, i) => (block.runs ? [[block.where, i] as const] : [])))(
    '%s runs and prints what it says',
    async (_where, i) => {
      const block = blocks[i] as CodeBlock;
      const outfile = join(work, `block-${i}.mjs`);
      await build({
        entryPoints: [fileOf(i)],
        bundle: true,
        format: 'esm',
        platform: 'node',
        target: 'es2022',
        tsconfig: join(root, 'tsconfig.json'),
        alias: { '@docs/prelude': PRELUDE },
        // The worker pool runs from its build: its worker script must sit beside it, as it does for users.
        external: ['wabt', '@ri-sandbox/worker', '@ri-sandbox/worker/node'],
        outfile,
        logLevel: 'error',
      });
      const { stdout } = await run(process.execPath, [outfile], { cwd: work, timeout: 120_000 });
      expect(stdout.split('\n').slice(0, -1)).toEqual(block.expectedOutput);
    },
    150_000,
  );
});
