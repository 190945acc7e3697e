/**
 * The TypeScript blocks of a README, as the docs tests check them. A block is
 * a fence whose info string starts with `ts`; `ts check` marks one that is
 * type-checked but not run. An HTML comment right before the fence,
 * `<!-- prelude ... -->`, holds code the reader has already seen or can take
 * for granted (a loaded instance, say): it is prepended to the block, and
 * invisible where the README is rendered. In a block that runs, every line
 * it prints is announced by a `// → text` comment on the line that prints it.
 * A fence indented inside a list item counts too, its indentation removed.
 */
import { readFileSync } from 'node:fs';

/** One TypeScript block of a Markdown file. */
export interface CodeBlock {
  /** The file and the line of the opening fence, for messages: `README.md:12`. */
  readonly where: string;
  /** The code of the hidden prelude (empty if none). */
  readonly prelude: string;
  readonly code: string;
  /** Whether the tests run it (`ts`), or only type-check it (`ts check`). */
  readonly runs: boolean;
  /** What it prints, line by line, from its `// → text` comments. */
  readonly expectedOutput: readonly string[];
}

const FENCE = /^( *)```(\S*)\s*(.*)$/;
const PRELUDE_START = /^<!--\s*prelude\s*$/;
const OUTPUT = /\/\/ → (.*)$/;

/** The TypeScript blocks of the Markdown file at `path`, shown as `name` in messages. */
export function typeScriptBlocks(path: string, name: string): CodeBlock[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  let prelude: string[] | undefined;
  let pendingPrelude = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (prelude !== undefined) {
      if (line.trim() === '-->') {
        pendingPrelude = prelude.join('\n');
        prelude = undefined;
      } else prelude.push(line);
      continue;
    }
    if (PRELUDE_START.test(line)) {
      prelude = [];
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence === null) {
      if (line.trim() !== '') pendingPrelude = '';
      continue;
    }
    const start = i;
    const [, indent = '', language, flags] = fence;
    const body: string[] = [];
    for (i++; i < lines.length && !(lines[i] as string).startsWith(`${indent}\`\`\``); i++) {
      const text = lines[i] as string;
      body.push(text.startsWith(indent) ? text.slice(indent.length) : text);
    }
    if (language === 'ts') {
      blocks.push({
        where: `${name}:${start + 1}`,
        prelude: pendingPrelude,
        code: body.join('\n'),
        runs: !(flags ?? '').split(/\s+/).includes('check'),
        expectedOutput: body.flatMap((text) => {
          const output = OUTPUT.exec(text);
          return output === null ? [] : [output[1] as string];
        }),
      });
    }
    pendingPrelude = '';
  }
  return blocks;
}
