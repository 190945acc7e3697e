import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared';

export default defineConfig([
  packageBuild(),
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
