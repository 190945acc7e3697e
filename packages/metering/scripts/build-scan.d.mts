/** Where the generated module goes, from the package's root. */
export const TARGET: string;

/** The text of src/scan-module.ts for the current c/scan.c (compiles it with clang-14). */
export function generate(): string;
