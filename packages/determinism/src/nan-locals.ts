/**
 * Float locals whose NaN bits never get out. A producer's result that a
 * `local.set` or `local.tee` takes is canonicalized before the write, like any
 * result whose NaN bits could get out. Yet if every read of the local is
 * taken where NaN bits cannot get out (by a producer or a comparison, see
 * `takenBlind`), or is canonicalized where it is read, the local may hold the
 * result as the engine made it: its bits never leave it. Compilers keep most
 * intermediate values of float code in locals (`dx = a.x - b.x; d2 = dx * dx
 * + ...`), read only by more arithmetic: the writes then need nothing.
 *
 * If no read lets the value out, nothing is canonicalized, whatever else the
 * local holds. Otherwise the reads that do are canonicalized instead of the
 * writes only if the local is not a parameter (a caller's NaN must keep its
 * bits) and every write to it is of a producer's result or of a constant that
 * is not a NaN: a loaded or copied NaN must keep its bits too, and a read
 * canonicalized would change them. Of the two placements, writes or escaping
 * reads, the cheaper is chosen, each site weighed by the loops around it, so
 * that a value computed once and stored in a loop keeps its one check outside
 * the loop.
 */
import { instructionEnd, readLeb } from '@ri-sandbox/core';
import { LANE, slotAt, takenBlind } from './nan-flow';

/** What one body asked to defer: the locals that producers' results are written to, and their lanes. */
export class LocalWrites {
  private readonly locals: number[] = [];
  private readonly lanes: number[] = [];
  private n = 0;

  /** Empties the list for the next body. */
  clear(): void {
    this.n = 0;
  }

  /** A producer's result written to `local`, read as `lane` (1 + its index in `LANES`). */
  add(local: number, lane: number): void {
    this.locals[this.n] = local;
    this.lanes[this.n] = lane;
    this.n++;
  }

  /** The locals written, with their lanes; parameters (the first `params`) keep their callers' bits. */
  candidates(params: number): Map<number, Candidate> {
    const candidates = new Map<number, Candidate>();
    for (let i = 0; i < this.n; i++) {
      const local = this.locals[i] as number;
      if (candidates.has(local)) continue;
      const candidate = new Candidate(this.lanes[i] as number);
      candidate.keepsBits = local < params;
      candidates.set(local, candidate);
    }
    return candidates;
  }
}

/** One local's two placements, as the walk of the body finds them. */
class Candidate {
  /** Whether it is a parameter or a write was found whose bits must be kept. */
  keepsBits = false;
  /**
   * Whether a producer of another lane writes it too (a 128-bit local written as f32x4 and as f64x2):
   * its reads cannot be judged in one lane, so every write keeps its check.
   */
  mixed = false;
  /** The cost of canonicalizing at the writes of producers' results, those writes' offsets and lanes. */
  writeCost = 0;
  readonly writeSites: number[] = [];
  readonly writeLanes: number[] = [];
  /** The cost of canonicalizing where reads let the value out, and their offsets. */
  readCost = 0;
  readonly readSites: number[] = [];

  constructor(readonly lane: number) {}
}

const BLOCK = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const TRY = 0x06;
const DELEGATE = 0x18;
const TRY_TABLE = 0x1f;
const END = 0x0b;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const F32_CONST = 0x43;
const F64_CONST = 0x44;

/** A site's weight in `depth` loops: the cheaper placement is the one whose checks run fewer times. */
function weight(depth: number): number {
  return 8 ** Math.min(depth, 12);
}

/**
 * Whether the instruction at `p` is `f32.const` or `f64.const` of a number whose exponent is not all
 * ones (neither a NaN nor an infinity: their bits need not be told apart here).
 */
function finiteConstant(code: Uint8Array, p: number): boolean {
  const byte = code[p];
  if (byte === F32_CONST)
    return !(((code[p + 4] as number) & 0x7f) === 0x7f && ((code[p + 3] as number) & 0x80) !== 0);
  if (byte === F64_CONST)
    return !(((code[p + 8] as number) & 0x7f) === 0x7f && ((code[p + 7] as number) & 0xf0) === 0xf0);
  return false;
}

/**
 * Where to canonicalize for the locals `writes` names, in `code` (a body's instructions), whose first
 * `params` locals are its parameters: `site(offset, lane)` for each place, in no particular order, at
 * the writes of producers' results (where the result would otherwise have been canonicalized) or at
 * the reads that let the value out and after each `local.tee` whose copy on the stack gets out.
 */
export function placeLocalSites(
  code: Uint8Array,
  writes: LocalWrites,
  params: number,
  site: (offset: number, lane: number) => void,
): void {
  const candidates = writes.candidates(params);
  walkLocals(code, candidates);
  for (const [, candidate] of candidates) {
    // No read lets the value out: nothing to canonicalize, whatever else the local holds. Otherwise at
    // the reads that do, if that runs fewer times and no NaN the local holds must keep its bits.
    const { readSites, readCost, writeSites, writeLanes, writeCost, keepsBits, mixed } = candidate;
    const atReads = !mixed && (readSites.length === 0 || (!keepsBits && readCost < writeCost));
    if (atReads) for (const offset of readSites) site(offset, candidate.lane);
    else
      writeSites.forEach((offset, i) => {
        site(offset, writeLanes[i] as number);
      });
  }
}

/** Fills in each candidate's placements, in one walk of `code`. */
function walkLocals(code: Uint8Array, candidates: Map<number, Candidate>): void {
  // The range of the candidates' indices: most reads and writes are of other locals, told apart here
  // without a look-up.
  let lowest = Infinity;
  let highest = -1;
  for (const local of candidates.keys()) {
    lowest = Math.min(lowest, local);
    highest = Math.max(highest, local);
  }
  // Per enclosing block: 1 for a loop. `depth` counts the loops.
  const loops: number[] = [];
  let depth = 0;
  let previous = -1;
  for (let p = 0; p < code.length;) {
    const end = instructionEnd(code, p);
    const byte = code[p] as number;
    if (byte === LOCAL_GET || byte === LOCAL_SET || byte === LOCAL_TEE) {
      const local = readLeb(code, p + 1);
      const candidate = local >= lowest && local <= highest ? candidates.get(local) : undefined;
      if (candidate !== undefined) visitLocal(code, candidate, previous, p, end, depth);
    } else if (byte === BLOCK || byte === IF || byte === TRY || byte === TRY_TABLE) loops.push(0);
    else if (byte === LOOP) {
      loops.push(1);
      depth++;
    } else if (byte === END || byte === DELEGATE) depth -= loops.pop() ?? 0;
    previous = p;
    p = end;
  }
}

/**
 * The `local.get`, `local.set` or `local.tee` of `candidate` at `[start, end)`, after the instruction
 * at `previous` (-1 at the start of the body), inside `depth` loops.
 */
function visitLocal(
  code: Uint8Array,
  candidate: Candidate,
  previous: number,
  start: number,
  end: number,
  depth: number,
): void {
  const { lane } = candidate;
  const byte = code[start] as number;
  if (byte !== LOCAL_GET) {
    // A write: of a producer's result (canonicalized where the producer ends, if checks stay at the
    // writes), of a finite constant, or of a value whose bits must be kept.
    const made = previous >= 0 ? (LANE[slotAt(code, previous)] as number) : 0;
    if (made !== 0) {
      candidate.writeCost += weight(depth);
      candidate.writeSites.push(start);
      candidate.writeLanes.push(made);
      if (made !== lane) candidate.mixed = true;
    } else if (previous < 0 || !finiteConstant(code, previous)) candidate.keepsBits = true;
    if (byte === LOCAL_SET) return;
  }
  // A read, or the copy a `local.tee` leaves on the stack.
  if (!takenBlind(code, end, lane)) {
    candidate.readCost += weight(depth);
    candidate.readSites.push(end);
  }
}
