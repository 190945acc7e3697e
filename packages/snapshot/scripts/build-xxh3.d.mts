/** The text of src/xxh3-modules.ts for the current wat/xxh3.wat. */
export function generate(): Promise<string>;
