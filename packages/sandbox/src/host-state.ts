/**
 * The sandbox's own part of a snapshot (the WSNP host section): the guest's
 * PRNG, its clock, and the gas of the last execution. Layout (version 1,
 * 33 bytes, little-endian): u8 version, u64 PCG32 state, u64 PCG32
 * increment, f64 eventTimestamp, f64 gasUsed. Nothing measured by a clock is
 * stored, so the same history gives the same snapshot bytes on every engine.
 */
import { type Result, type SnapshotError, err, ok, sandboxError } from '@ri-sandbox/core';
import type { Pcg32State } from '@ri-sandbox/determinism';

/** The state a snapshot carries besides the WebAssembly instance's. */
export interface HostState {
  readonly prng: Pcg32State;
  readonly eventTimestamp: number;
  readonly gasUsed: number;
}

const VERSION = 1;
const BYTES = 33;
/**
 * Where host states are encoded and decoded. A DataView of each state's own
 * bytes would make V8 move such a small array off its heap, for every
 * snapshot and restore.
 */
const SCRATCH = new Uint8Array(BYTES);
const SCRATCH_VIEW = new DataView(SCRATCH.buffer);

/** Encodes `state` for the snapshot's host section. */
export function encodeHostState(state: HostState): Uint8Array {
  const view = SCRATCH_VIEW;
  view.setUint8(0, VERSION);
  view.setBigUint64(1, state.prng.state, true);
  view.setBigUint64(9, state.prng.increment, true);
  view.setFloat64(17, state.eventTimestamp, true);
  view.setFloat64(25, state.gasUsed, true);
  return SCRATCH.slice();
}

/** Decodes a host section, or says why it is not one this sandbox wrote. */
export function decodeHostState(bytes: Uint8Array): Result<HostState, SnapshotError> {
  if (bytes.length !== BYTES || bytes[0] !== VERSION)
    return err(sandboxError.snapshotError(`the sandbox state is not version ${VERSION} of ${BYTES} bytes`));
  SCRATCH.set(bytes);
  const view = SCRATCH_VIEW;
  const eventTimestamp = view.getFloat64(17, true);
  const gasUsed = view.getFloat64(25, true);
  if (!Number.isSafeInteger(eventTimestamp) || !Number.isSafeInteger(gasUsed) || gasUsed < 0)
    return err(sandboxError.snapshotError('the sandbox state holds an impossible clock or gas value'));
  return ok({
    prng: { state: view.getBigUint64(1, true), increment: view.getBigUint64(9, true) },
    eventTimestamp,
    gasUsed,
  });
}
