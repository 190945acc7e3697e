import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared';

// The library for Web Workers (index) and for Node (node), and the worker scripts each starts
// (worker, worker-node), which the library finds beside itself.
export default defineConfig(
  packageBuild({
    entry: {
      index: 'src/index.ts',
      node: 'src/node.ts',
      worker: 'src/worker.ts',
      'worker-node': 'src/worker-node.ts',
    },
    external: [/^node:/],
    shims: true,
    dts: { entry: { index: 'src/index.ts', node: 'src/node.ts' } },
  }),
);
