/** The kernels the script assembles, by name. */
export const KERNELS: Readonly<
  Record<'xxh3' | 'zeroBlocks' | 'equalBytes', { wat: string; target: string; name: string; about: string }>
>;

/** The text of the TypeScript file of `kernel` for its current WAT. */
export function generate(kernel: 'xxh3' | 'zeroBlocks' | 'equalBytes'): Promise<string>;
