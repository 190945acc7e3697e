import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared';

// One build per format, every entry in it, so the sandbox's code is in one shared chunk rather than copied
// into each entry: the library, the performance suite (`@ri-sandbox/sandbox/bench`), the Node-only helpers
// (`@ri-sandbox/sandbox/node`) and, in ESM only, the Node-only command line (which loads wabt on demand,
// for `.wat` files).
export default defineConfig([
  packageBuild({
    entry: {
      index: 'src/index.ts',
      bench: 'src/bench/suite.ts',
      node: 'src/node/index.ts',
      cli: 'src/cli/bin.ts',
    },
    format: ['esm'],
    splitting: true,
    external: [/^node:/, 'wabt'],
    dts: { entry: { index: 'src/index.ts', bench: 'src/bench/suite.ts', node: 'src/node/index.ts' } },
  }),
  packageBuild({
    entry: { index: 'src/index.ts', bench: 'src/bench/suite.ts', node: 'src/node/index.ts' },
    format: ['cjs'],
    external: [/^node:/],
    splitting: true,
    clean: false,
  }),
]);
