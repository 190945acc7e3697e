/**
 * Memory pressure levels and the advice that goes with them, computed from
 * plain usage records. Nothing here reads platform memory APIs or needs a
 * running sandbox: the caller measures and decides; this package only advises.
 */

/** One sandbox's memory use, as a host scheduler knows it. */
export interface UsageRecord {
  readonly id: string;
  /** Bytes of linear memory in use (0 for a suspended sandbox). */
  readonly memoryUsedBytes: number;
  /** When it last ran (any monotonic unit); without it, its position in the list stands for creation order. */
  readonly lastActiveAt?: number | undefined;
  /** A foreground sandbox is never suggested for suspension. */
  readonly foreground?: boolean | undefined;
}

/** A `SandboxInstance` (or anything with an id and metrics) is accepted as a record too. */
export interface InstanceLike {
  readonly id: string;
  readonly metrics: { readonly memoryUsedBytes: number };
}

/** How close total usage is to what is available. */
export type PressureLevel = 'NORMAL' | 'WARNING' | 'PRESSURE' | 'CRITICAL' | 'OOM';

/** Thresholds, in percent of available bytes, at which each level starts. */
export const PRESSURE_THRESHOLDS = Object.freeze({ WARNING: 70, PRESSURE: 85, CRITICAL: 95, OOM: 100 });

/** Thrown for input that has no meaningful answer; `field` names the culprit. */
export class PressureInputError extends RangeError {
  override readonly name = 'PressureInputError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid ${field}: ${reason}`);
  }
}

interface Normalised {
  readonly id: string;
  readonly bytes: bigint;
  readonly lastActiveAt: number;
  readonly foreground: boolean;
}

function checkBytes(field: string, value: unknown): bigint {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new PressureInputError(
      field,
      `must be a non-negative integer number of bytes, got ${String(value)}`,
    );
  }
  return BigInt(value);
}

const isArray = (value: unknown): boolean => Array.isArray(value);

/** The error for `field`, whose reading threw `error` (a getter, a proxy). */
function readingThrew(field: string, error: unknown): PressureInputError {
  return new PressureInputError(
    field,
    `reading it threw: ${error instanceof Error ? error.message : String(error)}`,
  );
}

/** `record`'s fields, each read once (a getter is not asked twice); a reading that throws is the field's error. */
function readRecord(
  record: unknown,
  field: string,
): { id: unknown; used: unknown; last: unknown; foreground: unknown } {
  // Callers in plain JavaScript may pass anything: check what the types promise.
  if (typeof record !== 'object' || record === null)
    throw new PressureInputError(field, 'must have a string id');
  try {
    const given = record as Partial<UsageRecord> & Partial<InstanceLike>;
    const metrics: unknown = 'metrics' in given ? given.metrics : undefined;
    if ('metrics' in given && (typeof metrics !== 'object' || metrics === null))
      throw new PressureInputError(`${field}.metrics`, 'must be an object with memoryUsedBytes');
    return {
      id: given.id,
      used:
        metrics === undefined
          ? given.memoryUsedBytes
          : (metrics as { memoryUsedBytes?: unknown }).memoryUsedBytes,
      last: 'lastActiveAt' in given ? given.lastActiveAt : undefined,
      foreground: 'foreground' in given ? given.foreground : undefined,
    };
  } catch (error) {
    if (error instanceof PressureInputError) throw error;
    throw readingThrew(field, error);
  }
}

function normalise(records: readonly (UsageRecord | InstanceLike)[]): Normalised[] {
  // Checked without narrowing: `Array.isArray` would turn the elements' type into `any`.
  if (!isArray(records)) throw new PressureInputError('instances', 'must be an array');
  const seen = new Set<string>();
  let given: unknown[];
  try {
    given = [...records];
  } catch (error) {
    throw readingThrew('instances', error);
  }
  return given.map((record, index) => {
    const field = `instances[${index}]`;
    const { id, used, last, foreground } = readRecord(record, field);
    if (typeof id !== 'string') throw new PressureInputError(field, 'must have a string id');
    if (seen.has(id)) throw new PressureInputError(field, `duplicate id "${id}"`);
    seen.add(id);
    if (last !== undefined && (typeof last !== 'number' || !Number.isFinite(last))) {
      const shown = typeof last === 'number' || typeof last === 'string' ? String(last) : typeof last;
      throw new PressureInputError(`${field}.lastActiveAt`, `must be a finite number, got ${shown}`);
    }
    return {
      id,
      bytes: checkBytes(`${field}.memoryUsedBytes`, used),
      lastActiveAt: last ?? index,
      foreground: foreground === true,
    };
  });
}

function checkAvailable(availableBytes: unknown): bigint {
  const available = checkBytes('availableBytes', availableBytes);
  if (available === 0n) throw new PressureInputError('availableBytes', 'must be positive');
  return available;
}

/** The level of `used` bytes against `available`, computed exactly in integers. */
function levelOf(used: bigint, available: bigint): PressureLevel {
  const percent = used * 100n;
  if (percent >= available * BigInt(PRESSURE_THRESHOLDS.OOM)) return 'OOM';
  if (percent >= available * BigInt(PRESSURE_THRESHOLDS.CRITICAL)) return 'CRITICAL';
  if (percent >= available * BigInt(PRESSURE_THRESHOLDS.PRESSURE)) return 'PRESSURE';
  if (percent >= available * BigInt(PRESSURE_THRESHOLDS.WARNING)) return 'WARNING';
  return 'NORMAL';
}

const total = (records: readonly Normalised[]) => records.reduce((sum, r) => sum + r.bytes, 0n);

/**
 * The pressure level of `instances` against `availableBytes`: below 70% NORMAL,
 * from 70% WARNING, from 85% PRESSURE, from 95% CRITICAL, from 100% OOM.
 * Computed in integers, so exactly 70% is WARNING.
 *
 * @throws PressureInputError for negative, fractional or non-numeric bytes,
 * zero available bytes, or duplicate ids.
 */
export function getMemoryPressure(
  instances: readonly (UsageRecord | InstanceLike)[],
  availableBytes: number,
): PressureLevel {
  return levelOf(total(normalise(instances)), checkAvailable(availableBytes));
}

/** What to do about the current level; the caller decides whether to. */
export type PressureAdvice =
  | { readonly level: 'NORMAL'; readonly action: 'none' }
  | { readonly level: 'WARNING'; readonly action: 'log'; readonly message: string }
  | {
      readonly level: 'PRESSURE';
      readonly action: 'suspend';
      /** Least recently active first, as many as needed to get under 85%. */
      readonly instanceIds: readonly string[];
      /** Whether suspending them all is enough to get under 85% (foreground sandboxes are never listed). */
      readonly sufficient: boolean;
    }
  | { readonly level: 'CRITICAL'; readonly action: 'emergency_save'; readonly instanceIds: readonly string[] }
  | {
      readonly level: 'OOM';
      readonly action: 'report';
      readonly message: string;
      readonly usedBytes: number;
    };

function percentText(used: bigint, available: bigint): string {
  return `${(Number((used * 10000n) / available) / 100).toFixed(2)}%`;
}

/**
 * Advice for `instances` under `availableBytes`: NORMAL, nothing; WARNING, a
 * message to log; PRESSURE, the sandboxes to suspend (least recently active
 * first, never the foreground ones) to get back under 85%; CRITICAL, every
 * sandbox but the foreground ones to save now; OOM, a report.
 *
 * @throws PressureInputError as {@link getMemoryPressure} does.
 */
export function adviseOnPressure(
  instances: readonly (UsageRecord | InstanceLike)[],
  availableBytes: number,
): PressureAdvice {
  const records = normalise(instances);
  const available = checkAvailable(availableBytes);
  const used = total(records);
  const level = levelOf(used, available);
  const background = records.filter((r) => !r.foreground);
  switch (level) {
    case 'NORMAL':
      return { level, action: 'none' };
    case 'WARNING':
      return {
        level,
        action: 'log',
        message: `sandbox memory at ${percentText(used, available)} of ${available} available bytes (warning from 70%)`,
      };
    case 'PRESSURE': {
      const byAge = [...background].sort((a, b) => a.lastActiveAt - b.lastActiveAt);
      const instanceIds: string[] = [];
      let remaining = used;
      const target = available * BigInt(PRESSURE_THRESHOLDS.PRESSURE);
      for (const record of byAge) {
        if (remaining * 100n < target) break;
        if (record.bytes === 0n) continue;
        instanceIds.push(record.id);
        remaining -= record.bytes;
      }
      return { level, action: 'suspend', instanceIds, sufficient: remaining * 100n < target };
    }
    case 'CRITICAL':
      return { level, action: 'emergency_save', instanceIds: background.map((r) => r.id) };
    case 'OOM':
      return {
        level,
        action: 'report',
        message: `sandbox memory at ${percentText(used, available)} of ${available} available bytes: out of memory`,
        usedBytes: Number(used),
      };
  }
}
