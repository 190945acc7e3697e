/** Command-line parsing for `ri-sandbox`: positional arguments and `--flag value` options. */

/** Parsed arguments: the positionals in order, and each option's value (`true` for a bare flag). */
export interface ParsedArgs {
  readonly positionals: readonly string[];
  readonly options: ReadonlyMap<string, string | true>;
}

/** Thrown for a command line that cannot be understood; the message is shown as is. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Splits `argv` into positionals and options. `--name value` and `--name=value`
 * both work; `flags` lists the options that take no value; `--` ends the options.
 */
export function parseArgs(argv: readonly string[], flags: ReadonlySet<string>): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      // Everything after `--` is positional, even if it starts with `--`.
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (flags.has(name)) {
      options.set(name, true);
    } else if (inline !== undefined) {
      options.set(name, inline);
    } else {
      const value = argv[i + 1];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      options.set(name, value);
      i++;
    }
  }
  return { positionals, options };
}

/** The text value of option `name`, or `undefined` if it was not given. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.options.get(name);
  if (value === true || value === '') throw new UsageError(`--${name} needs a value`);
  return value;
}

/** The integer value of option `name`, or `undefined` if it was not given. */
export function integerOption(args: ParsedArgs, name: string): number | undefined {
  const value = args.options.get(name);
  if (value === undefined) return undefined;
  const parsed = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed))
    throw new UsageError(`--${name} must be an integer, got ${String(value)}`);
  return parsed;
}

/** A size such as `1048576`, `64KiB`, `16MiB` or `1GiB`, in bytes. */
export function sizeOption(args: ParsedArgs, name: string): number | undefined {
  const value = args.options.get(name);
  if (value === undefined) return undefined;
  const match = typeof value === 'string' ? /^(\d+)\s*(B|KiB|MiB|GiB)?$/i.exec(value) : null;
  if (match === null)
    throw new UsageError(`--${name} must be a size such as 1048576, 64KiB or 16MiB, got ${String(value)}`);
  const units: Record<string, number> = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
  return Number(match[1]) * (units[(match[2] ?? 'b').toLowerCase()] as number);
}
