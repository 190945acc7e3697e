/**
 * What a WASI guest starts with (the `wasi` field of a sandbox config, or
 * `@ri-sandbox/wasi` on its own), checked: every bad value is `INVALID_CONFIG`
 * naming the field (`wasi.args.0`, `wasi.files./data/x`, ...).
 */
import { type InvalidConfigError, readingConfigThrew, sandboxError } from './errors';
import { type Result, err, ok } from './result';

/** The longest guest path accepted, in bytes. */
export const MAX_PATH_BYTES = 4096;

const encoder = new TextEncoder();
const utf8 = (text: string) => encoder.encode(text);

/** The guest's world: what a WASI program sees when it starts. */
export interface WasiConfig {
  /** argv, argv[0] included. Default: none. */
  readonly args?: readonly string[] | undefined;
  /** The environment. Default: empty (nothing of the host's). */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /**
   * Files by absolute guest path (`/data/input.txt`), as bytes or text
   * (UTF-8); folders on the way are created. `/` is pre-opened as fd 3.
   */
  readonly files?: Readonly<Record<string, Uint8Array | string>> | undefined;
  /** Standard input, all of it. Default: empty. */
  readonly stdin?: Uint8Array | string | undefined;
  /** The most of standard output kept per execution; the rest is dropped and flagged. Default 1 MiB. */
  readonly stdoutLimitBytes?: number | undefined;
  /** The same, for standard error. Default 1 MiB. */
  readonly stderrLimitBytes?: number | undefined;
  /** The most all file contents may take together; past it, writes fail with `ENOSPC`. Default 64 MiB. */
  readonly maxFileSystemBytes?: number | undefined;
  /** Whether `/` is pre-opened (as fd 3). Default `true`; `false` gives the guest no file system at all. */
  readonly preopenRoot?: boolean | undefined;
}

/** A {@link WasiConfig} with defaults filled in and text turned into bytes. */
export interface ResolvedWasiConfig {
  readonly args: readonly Uint8Array[];
  readonly env: readonly Uint8Array[];
  readonly files: readonly (readonly [path: string, contents: Uint8Array])[];
  readonly stdin: Uint8Array;
  readonly stdoutLimitBytes: number;
  readonly stderrLimitBytes: number;
  readonly maxFileSystemBytes: number;
  readonly preopenRoot: boolean;
}

const MiB = 1 << 20;
const FIELDS = [
  'args',
  'env',
  'files',
  'stdin',
  'stdoutLimitBytes',
  'stderrLimitBytes',
  'maxFileSystemBytes',
  'preopenRoot',
];

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);

const bytesOf = (value: Uint8Array | string) => (typeof value === 'string' ? utf8(value) : value.slice());

function limit(field: string, value: unknown, fallback: number): number | InvalidConfigError {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    return sandboxError.invalidConfig(
      field,
      `must be a non-negative integer number of bytes, got ${typeof value === 'number' ? value : typeof value}`,
    );
  return value;
}

/** A text without NUL (arguments and variables are NUL-terminated for the guest). */
function cString(field: string, value: unknown): Uint8Array | InvalidConfigError {
  if (typeof value !== 'string')
    return sandboxError.invalidConfig(field, `must be a string, got ${typeof value}`);
  if (value.includes('\0')) return sandboxError.invalidConfig(field, 'must not contain a NUL character');
  return utf8(value);
}

function checkPath(field: string, path: string): InvalidConfigError | undefined {
  if (!path.startsWith('/'))
    return sandboxError.invalidConfig(field, 'must be an absolute guest path (starting with /)');
  const parts = path.split('/').filter((part) => part !== '');
  if (parts.length === 0 || path.endsWith('/'))
    return sandboxError.invalidConfig(field, 'must name a file, not a folder');
  if (parts.some((part) => part === '.' || part === '..' || part.includes('\0')))
    return sandboxError.invalidConfig(field, 'must not contain ., .. or NUL');
  if (utf8(path).length > MAX_PATH_BYTES)
    return sandboxError.invalidConfig(field, `must be at most ${MAX_PATH_BYTES} bytes`);
  return undefined;
}

/**
 * Checks `input` (the `wasi` field of a sandbox config, or a standalone config) and fills in defaults.
 * Input whose reading throws (a getter, a proxy) is `INVALID_CONFIG` for `field`, not an exception.
 */
export function resolveWasiConfig(
  input: unknown,
  field = 'wasi',
): Result<ResolvedWasiConfig, InvalidConfigError> {
  const reading = { field };
  try {
    return resolveReadable(input, field, reading);
  } catch (error) {
    return err(readingConfigThrew(reading.field, error));
  }
}

function resolveReadable(
  input: unknown,
  field: string,
  /** The field being read, named in the error if reading it throws. */
  reading: { field: string },
): Result<ResolvedWasiConfig, InvalidConfigError> {
  if (!isRecord(input)) return err(sandboxError.invalidConfig(field, 'must be an object'));
  for (const key of Object.keys(input)) {
    if (!FIELDS.includes(key))
      return err(
        sandboxError.invalidConfig(`${field}.${key}`, `is not a WASI option (options: ${FIELDS.join(', ')})`),
      );
  }
  const args: Uint8Array[] = [];
  reading.field = `${field}.args`;
  const given = input['args'];
  if (given !== undefined) {
    if (!Array.isArray(given))
      return err(sandboxError.invalidConfig(`${field}.args`, 'must be an array of strings'));
    for (const [i, arg] of (given as unknown[]).entries()) {
      const bytes = cString(`${field}.args.${i}`, arg);
      if (!(bytes instanceof Uint8Array)) return err(bytes);
      args.push(bytes);
    }
  }
  const env: Uint8Array[] = [];
  reading.field = `${field}.env`;
  const variables = input['env'];
  if (variables !== undefined) {
    if (!isRecord(variables))
      return err(sandboxError.invalidConfig(`${field}.env`, 'must be an object of strings'));
    for (const [name, value] of Object.entries(variables)) {
      if (name === '' || name.includes('=') || name.includes('\0'))
        return err(
          sandboxError.invalidConfig(
            `${field}.env.${name}`,
            'is not a variable name (empty, or with = or NUL)',
          ),
        );
      const bytes = cString(`${field}.env.${name}`, value);
      if (!(bytes instanceof Uint8Array)) return err(bytes);
      env.push(utf8(`${name}=${value as string}`));
    }
  }
  const files: [string, Uint8Array][] = [];
  reading.field = `${field}.files`;
  const paths = input['files'];
  if (paths !== undefined) {
    if (!isRecord(paths))
      return err(sandboxError.invalidConfig(`${field}.files`, 'must be an object of paths'));
    for (const [path, contents] of Object.entries(paths)) {
      const problem = checkPath(`${field}.files.${path}`, path);
      if (problem !== undefined) return err(problem);
      if (typeof contents !== 'string' && !(contents instanceof Uint8Array))
        return err(sandboxError.invalidConfig(`${field}.files.${path}`, 'must be a Uint8Array or a string'));
      files.push([path, bytesOf(contents)]);
    }
  }
  reading.field = field;
  const stdin = input['stdin'];
  if (stdin !== undefined && typeof stdin !== 'string' && !(stdin instanceof Uint8Array))
    return err(sandboxError.invalidConfig(`${field}.stdin`, 'must be a Uint8Array or a string'));
  const limits = [
    limit(`${field}.stdoutLimitBytes`, input['stdoutLimitBytes'], MiB),
    limit(`${field}.stderrLimitBytes`, input['stderrLimitBytes'], MiB),
    limit(`${field}.maxFileSystemBytes`, input['maxFileSystemBytes'], 64 * MiB),
  ];
  for (const value of limits) if (typeof value !== 'number') return err(value);
  const [stdoutLimitBytes, stderrLimitBytes, maxFileSystemBytes] = limits as [number, number, number];
  const preopenRoot = input['preopenRoot'] ?? true;
  if (typeof preopenRoot !== 'boolean')
    return err(
      sandboxError.invalidConfig(`${field}.preopenRoot`, `must be a boolean, got ${typeof preopenRoot}`),
    );
  const total = files.reduce((sum, [, contents]) => sum + contents.length, 0);
  if (total > maxFileSystemBytes)
    return err(
      sandboxError.invalidConfig(
        `${field}.files`,
        `take ${total} bytes, more than maxFileSystemBytes (${maxFileSystemBytes})`,
      ),
    );
  return ok({
    args,
    env,
    files,
    stdin: stdin === undefined ? new Uint8Array() : bytesOf(stdin),
    stdoutLimitBytes,
    stderrLimitBytes,
    maxFileSystemBytes,
    preopenRoot,
  });
}

/**
 * A copy of `config`'s own fields, each read once (the arguments, variables and files copied and
 * frozen; a value of another type kept as it is, for {@link resolveWasiConfig} to refuse), so that
 * what is checked is what is kept: a getter is not asked again. A reading that throws is
 * `INVALID_CONFIG` for the field being read. Anything but an object is given back as it is.
 */
export function copyWasiConfig(config: unknown, field = 'wasi'): Result<unknown, InvalidConfigError> {
  if (!isRecord(config)) return ok(config);
  let reading = field;
  try {
    const copied: Record<string, unknown> = {};
    for (const key of Object.keys(config)) {
      reading = `${field}.${key}`;
      copied[key] = copyField(key, config[key]);
    }
    return ok(Object.freeze(copied));
  } catch (error) {
    return err(readingConfigThrew(reading, error));
  }
}

/** `value` of the field `key`, copied where it is of the type the field takes. */
function copyField(key: string, value: unknown): unknown {
  const bytes = (item: unknown) => (item instanceof Uint8Array ? item.slice() : item);
  if (key === 'args' && Array.isArray(value)) return Object.freeze([...(value as unknown[])]);
  if (key === 'env' && isRecord(value)) return Object.freeze({ ...value });
  if (key === 'files' && isRecord(value))
    return Object.freeze(Object.fromEntries(Object.entries(value).map(([path, v]) => [path, bytes(v)])));
  return key === 'stdin' ? bytes(value) : value;
}
