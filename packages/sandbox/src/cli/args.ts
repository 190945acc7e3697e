/**
 * Command-line parsing for `ri-sandbox`, strict: every command declares its
 * positional arguments and options, and anything else (an unknown or
 * misspelt option, an extra argument, a value where none is taken) is an
 * error that names it.
 */

/** What one command accepts. */
export interface CommandSpec {
  readonly name: string;
  /**
   * Its positional arguments, in order, for messages; a trailing `?` marks an optional one, a
   * trailing `...` a last one that takes any number of words.
   */
  readonly positionals: readonly string[];
  /** Its options: `true` for those that take a value, `'repeat'` for those that may be given more than once, `false` for flags. */
  readonly options: Readonly<Record<string, boolean | 'repeat'>>;
}

/** Parsed arguments: the positionals in order, and each option's value (`true` for a flag, a list for a repeated one). */
export interface ParsedArgs {
  readonly positionals: readonly string[];
  readonly options: ReadonlyMap<string, string | true | readonly string[]>;
}

/** Thrown for a command line that cannot be understood; the message is shown as is. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Options every command takes. */
export const COMMON_OPTIONS: Readonly<Record<string, boolean | 'repeat'>> = { help: false };
/** Short forms. */
const ALIASES: Readonly<Record<string, string>> = { '-h': 'help' };

/** Edit distance, for "did you mean" (names are short). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, (previous[j] as number) + 1, (current[j - 1] as number) + 1));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

function unknownOption(spec: CommandSpec, name: string): UsageError {
  const known = Object.keys({ ...spec.options, ...COMMON_OPTIONS });
  const near = known
    .filter((option) => distance(option, name) <= 2)
    .sort((a, b) => distance(a, name) - distance(b, name));
  const hint =
    near.length > 0 ? `; did you mean --${near[0]}?` : ` (options: ${known.map((o) => `--${o}`).join(', ')})`;
  return new UsageError(`unknown option --${name} for ${spec.name}${hint}`);
}

/** `<module> <action> [payload-json]`, from a spec's positionals. */
export function usageOf(spec: CommandSpec): string {
  const shown = spec.positionals.map((p) =>
    p.endsWith('...') ? `[${p}]` : p.endsWith('?') ? `[${p.slice(0, -1)}]` : `<${p}>`,
  );
  return `ri-sandbox ${[spec.name, ...shown].join(' ')}`;
}

/**
 * Splits `argv` (the words after the command) by `spec`. `--name value` and
 * `--name=value` both work, `-h` is `--help`, and `--` ends the options.
 * Too few positionals are not checked here (`--help` needs none); too many are.
 */
export function parseArgs(argv: readonly string[], spec: CommandSpec): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string | true | readonly string[]>();
  const takesValue = { ...spec.options, ...COMMON_OPTIONS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const alias = ALIASES[arg];
    if (alias !== undefined) {
      options.set(alias, true);
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (!arg.startsWith('--'))
      throw new UsageError(`unknown option ${arg} for ${spec.name} (options are spelt --name)`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const valued = takesValue[name];
    if (valued === undefined) throw unknownOption(spec, name);
    if (!valued) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value, got --${name}=${inline}`);
      options.set(name, true);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
    const earlier = options.get(name);
    options.set(
      name,
      valued === 'repeat' ? [...((earlier as readonly string[] | undefined) ?? []), value] : value,
    );
  }
  const most = spec.positionals.at(-1)?.endsWith('...') === true ? Infinity : spec.positionals.length;
  if (positionals.length > most) {
    const extra = positionals.slice(most).map((p) => JSON.stringify(p));
    throw new UsageError(
      `unexpected argument${extra.length === 1 ? '' : 's'} ${extra.join(' ')}: usage: ${usageOf(spec)}`,
    );
  }
  return { positionals, options };
}

/** The positionals, after checking that the required ones are there. */
export function requirePositionals(args: ParsedArgs, spec: CommandSpec): readonly string[] {
  const required = spec.positionals.filter((p) => !p.endsWith('?') && !p.endsWith('...')).length;
  if (args.positionals.length < required) throw new UsageError(`usage: ${usageOf(spec)}`);
  return args.positionals;
}

/** The text value of option `name`, or `undefined` if it was not given. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.options.get(name);
  return typeof value === 'string' ? value : undefined;
}

/** Every value of the repeated option `name`, in order (none if it was not given). */
export function listOption(args: ParsedArgs, name: string): readonly string[] {
  const value = args.options.get(name);
  return typeof value === 'object' ? value : [];
}

/** Whether flag `name` was given. */
export function flag(args: ParsedArgs, name: string): boolean {
  return args.options.get(name) === true;
}

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/**
 * The number option `name` (decimal, fractions and exponents allowed), or
 * `undefined` if it was not given; `integer` refuses fractions. Whether the
 * number is in range is the sandbox's to say.
 */
export function numberOption(args: ParsedArgs, name: string, integer = false): number | undefined {
  const value = stringOption(args, name);
  if (value === undefined) return undefined;
  const parsed = DECIMAL.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(parsed)) throw new UsageError(`--${name} must be a number, got ${value}`);
  if (integer && !Number.isSafeInteger(parsed))
    throw new UsageError(`--${name} must be an integer, got ${value}`);
  return parsed;
}

/** A size such as `1048576`, `64KiB`, `16MiB` or `1GiB`, in bytes. */
export function sizeOption(args: ParsedArgs, name: string): number | undefined {
  const value = stringOption(args, name);
  if (value === undefined) return undefined;
  const match = /^(\d+)\s*(B|KiB|MiB|GiB)?$/i.exec(value);
  if (match === null)
    throw new UsageError(`--${name} must be a size such as 1048576, 64KiB or 16MiB, got ${value}`);
  const units: Record<string, number> = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
  return Number(match[1]) * (units[(match[2] ?? 'b').toLowerCase()] as number);
}
