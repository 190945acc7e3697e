import type { Metafile } from 'esbuild';

/** Builds the playground into `outdir` (default `examples/playground/dist/`) and returns esbuild's metafile. */
export function buildPlayground(outdir?: string): Promise<Metafile>;
