/**
 * The figures of a spec run: per mode, the assertions that pass raw and fail
 * in that mode (regressions), and apart from them the differences the mode
 * explains (a limit of the sandbox's, a canonical NaN), by reason and by
 * assertion kind.
 */
import type { ModeName } from './modes';
import type { FileReport } from './pool';
import { type Command, isAssertion } from './runner';

/** One file's commands and what the pool reported for it. */
export interface FileResult {
  readonly file: string;
  readonly commands: readonly Command[];
  readonly report: FileReport;
}

/** The figures of one mode. */
export interface ModeSummary {
  readonly mode: ModeName;
  readonly files: number;
  /** Assertions that pass in this mode. */
  readonly passing: number;
  /** Assertions that pass raw: the base of the comparison (for raw itself, all assertions). */
  readonly rawPassing: number;
  /** `file:line kind: detail` of each assertion that passes raw and fails here, unexplained. */
  readonly regressions: readonly string[];
  /** Explained differences: reason -> assertion kind -> count. */
  readonly legitimate: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Snapshot round trips, by what became of them (the snapshot mode only). */
  readonly roundTrips: Readonly<Record<string, number>>;
  /** Invalid or malformed binary modules the engine refuses (raw-passing), and how many this mode refused. */
  readonly refusals: number;
  readonly refused: number;
}

const REFUSALS: ReadonlySet<string> = new Set(['assert_invalid', 'assert_malformed']);

/** Summarises `mode` over every file, against the raw run of each. */
export function summarise(results: readonly FileResult[], mode: ModeName): ModeSummary {
  let passing = 0;
  let rawPassing = 0;
  let refusals = 0;
  let refused = 0;
  const regressions: string[] = [];
  const legitimate: Record<string, Record<string, number>> = {};
  const roundTrips: Record<string, number> = {};
  for (const { file, commands, report } of results) {
    const assertions = commands.filter(isAssertion);
    const raw = report.runs.raw?.outcomes;
    const run = report.runs[mode];
    for (const [key, count] of Object.entries(run?.roundTrips ?? {}))
      roundTrips[key] = (roundTrips[key] ?? 0) + count;
    assertions.forEach((command, i) => {
      const outcome = run?.outcomes[i];
      if (outcome?.passed === true) passing++;
      const base = mode === 'raw' ? true : raw?.[i]?.passed === true;
      if (!base) return;
      rawPassing++;
      if (REFUSALS.has(command.type)) {
        refusals++;
        if (outcome?.passed === true) refused++;
      }
      if (outcome?.passed === true) return;
      if (outcome?.legitimate !== undefined) {
        const byKind = (legitimate[outcome.legitimate] ??= {});
        byKind[command.type] = (byKind[command.type] ?? 0) + 1;
        return;
      }
      const detail = outcome?.detail ?? report.error ?? 'no result';
      regressions.push(`${file.replace(/\.json$/, '.wast')}:${command.line} ${command.type}: ${detail}`);
    });
  }
  return {
    mode,
    files: results.length,
    passing,
    rawPassing,
    regressions,
    legitimate,
    roundTrips,
    refusals,
    refused,
  };
}

const count = (n: number) => n.toLocaleString('en-US');

/** The report's lines: `spec <mode>: R regressions of P raw-passing assertions (F files)`, and what differs legitimately. */
export function formatSummary(summary: ModeSummary): string[] {
  if (summary.mode === 'raw')
    return [
      `spec raw: ${count(summary.passing)} of ${count(summary.rawPassing)} assertions pass (${summary.files} files)`,
    ];
  const lines = [
    `spec ${summary.mode}: ${count(summary.regressions.length)} regressions of ${count(summary.rawPassing)} raw-passing assertions (${summary.files} files)`,
    // The chain loads as a sandbox does, without validating the input (see `modes.ts`).
    `  invalid or malformed binary modules refused${summary.mode === 'metering' ? '' : ' without validating the input'}: ${count(summary.refused)} of ${count(summary.refusals)}`,
  ];
  for (const [reason, byKind] of Object.entries(summary.legitimate)) {
    const kinds = Object.entries(byKind).map(([kind, n]) => `${kind} ${count(n)}`);
    const total = Object.values(byKind).reduce((sum, n) => sum + n, 0);
    lines.push(`  differs legitimately, ${count(total)}: ${reason} (${kinds.join(', ')})`);
  }
  const trips = Object.entries(summary.roundTrips);
  if (trips.length > 0)
    lines.push(`  snapshot round trips: ${trips.map(([what, n]) => `${what} ${count(n)}`).join('; ')}`);
  return lines;
}
