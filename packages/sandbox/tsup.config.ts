import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared';

export default defineConfig([
  packageBuild(),
  // The performance suite, for `pnpm bench` and anyone timing the sandbox in their own setting.
  packageBuild({ entry: { bench: 'src/bench/suite.ts' }, clean: false }),
  // The `ri-sandbox` command line: Node-only, ESM, kept out of the portable entry point.
  packageBuild({
    entry: { cli: 'src/cli/bin.ts' },
    format: ['esm'],
    dts: false,
    platform: 'node',
    clean: false,
    external: ['wabt'],
  }),
]);
