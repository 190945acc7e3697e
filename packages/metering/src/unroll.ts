/**
 * Hot loops with small bodies, checked once per several iterations. A hot
 * loop (see `HotLoops`) asks for gas only at its header: its other blocks
 * subtract without checking. Before it, the instrumentation puts a fast
 * version of it: a loop whose header checks that {@link UNROLL_COPIES}
 * iterations at their dearest are affordable, then runs that many copies of
 * the body one after another, each charging what the original header charges
 * (without the check). When they are not affordable, control falls into the
 * original loop, which checks every iteration and asks for gas as before.
 *
 * Every iteration therefore charges, and stores the counter, exactly as the
 * original does, and the fast path runs only where no check of the original
 * could have failed: the counter, what a trap reports, where gas runs out and
 * when the host is asked for more are all unchanged. Only the checks that
 * could not fail are gone.
 *
 * ```text
 * block $slow
 *   loop $fast
 *     br_if $slow (balance < copies × iteration cost)
 *     block  body (charge; branches to the loop end the block, labels outside move by 2)  br $exit  end
 *     … (copies in all)
 *     br $fast
 *   end
 * end
 * loop  (the original, checked)  end
 * ```
 */
import { ByteWriter, instructionEnd } from '@ri-sandbox/core';
import type { Charger } from './charger';
import { relabel } from './labels';
import {
  BLOCK,
  BR,
  BR_IF,
  BR_TABLE,
  CATCH,
  CATCH_ALL,
  DELEGATE,
  EMPTY,
  END,
  IF,
  LOOP,
  RETHROW,
  TRY,
} from './opcodes';

/** How many copies of a small hot loop's body run per check. */
export const UNROLL_COPIES = 2;

/**
 * The largest loop (in bytes of the original code, so that the decision does
 * not depend on what other transforms insert) that gets a fast version: code
 * grows by about {@link UNROLL_COPIES} times its instrumented body.
 */
export const UNROLL_MAX_LOOP = 96;

/** Constructs the fast version puts between a copy of the body and the hot loop's wrapping. */
const ADDED_LABELS = 2;
/**
 * The label, from a copy's top level, of the construct whose end follows the
 * hot loop (the first of its wrappers): the copy, the fast loop, `$slow`, and
 * the wrapping's `$refill` and `$again` lie between.
 */
const EXIT_LABEL = 5;

/** Scratch writers for a copy of the body and for the fast version, used again for every loop. */
const BODY = new ByteWriter(256);
const FAST = new ByteWriter(512);

/** A hot loop as metering wrote it: where it is in the writer, and what its iterations cost. */
export interface WrittenHotLoop {
  /** How many bytes it took in the original code. */
  readonly sourceSize: number;
  /** Where its `loop` instruction starts. */
  readonly start: number;
  /** Where its header's charge (with the check) starts and ends. */
  readonly chargeStart: number;
  readonly chargeEnd: number;
  /** What the header charges, and whether it stores the counter global. */
  readonly headerCost: number;
  readonly headerStore: boolean;
  /** The most one iteration charges: the sum of the positive charges of its blocks. */
  readonly iterationCost: number;
}

/**
 * Copies `code[start, end)`, met at nesting `depth` within the loop body, into
 * `w` with labels past the loop moved by {@link ADDED_LABELS}. Returns the
 * nesting after it, or -1 for what a copy cannot hold (exception handling, or
 * an `end` that closes the loop itself).
 */
function copyShifted(w: ByteWriter, code: Uint8Array, start: number, end: number, depth: number): number {
  let nesting = depth;
  let p = start;
  // Instructions are copied in runs, up to each branch (which is written renumbered).
  let copied = start;
  while (p < end) {
    const opcode = code[p] as number;
    if (
      opcode === TRY ||
      opcode === CATCH ||
      opcode === CATCH_ALL ||
      opcode === RETHROW ||
      opcode === DELEGATE
    )
      return -1;
    if (opcode === BR || opcode === BR_IF || opcode === BR_TABLE) {
      w.range(code, copied, p);
      p = relabel(w, code, p, nesting + 1, ADDED_LABELS);
      copied = p;
      continue;
    }
    if (opcode === BLOCK || opcode === LOOP || opcode === IF) nesting++;
    else if (opcode === END && --nesting < 0) return -1;
    p = instructionEnd(code, p);
  }
  w.range(code, copied, p);
  return nesting;
}

/**
 * Puts the fast version before the hot loop `loop`, which metering has just
 * written (its `end` is the writer's last byte), when its body is small and
 * its iterations charge something. Returns whether it did; otherwise the
 * writer is as it was.
 */
export function unrollHotLoop(w: ByteWriter, loop: WrittenHotLoop, charger: Charger): boolean {
  const { start, chargeStart, chargeEnd, headerCost, iterationCost } = loop;
  const budget = iterationCost * UNROLL_COPIES;
  if (loop.sourceSize > UNROLL_MAX_LOOP || iterationCost <= 0 || !Number.isSafeInteger(budget)) return false;
  const out = w.view();
  const last = out.length - 1;
  if (out[start] !== LOOP || out[last] !== END) return false;
  const bodyStart = instructionEnd(out, start);
  if (chargeStart < bodyStart || chargeEnd > last) return false;
  const copy = BODY.reset();
  if (copyShifted(copy, out, bodyStart, chargeStart, 0) !== 0) return false;
  // The header's charge, stored as the header stores it, without the check.
  if (headerCost !== 0) charger.charge(copy, headerCost, false, loop.headerStore);
  else if (loop.headerStore) charger.storeNow(copy);
  if (copyShifted(copy, out, chargeEnd, last, 0) !== 0) return false;
  const body = copy.view();
  const fast = FAST.reset();
  fast.u8(BLOCK).u8(EMPTY).u8(LOOP).u8(EMPTY);
  charger.branchIfBelow(fast, budget, 1);
  for (let k = 0; k < UNROLL_COPIES; k++) fast.u8(BLOCK).u8(EMPTY).bytes(body).u8(BR).u8(EXIT_LABEL).u8(END);
  fast.u8(BR).u8(0).u8(END).u8(END);
  w.insert(start, fast.view());
  return true;
}
