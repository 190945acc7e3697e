/**
 * PCG32 (PCG-XSH-RR with 64-bit state, M. E. O'Neill, pcg-random.org): the
 * guest's pseudo-random generator. Small, fast, statistically strong, and
 * specified exactly, so every engine produces the same sequence.
 */

const MULTIPLIER = 6364136223846793005n;
const MASK64 = (1n << 64n) - 1n;

/** The complete state of a {@link Pcg32}, for snapshots. */
export interface Pcg32State {
  readonly state: bigint;
  readonly increment: bigint;
}

/** The stream every sandbox uses: `deterministicSeed` picks the starting point on it. */
export const SANDBOX_STREAM = 54n;

/** A PCG32 generator, seeded as the reference `pcg32_srandom_r(initstate, initseq)` does. */
export class Pcg32 {
  private state = 0n;
  private increment = 1n;
  /**
   * The seed and the stream until the first draw or save works the state out from them: most guests
   * never draw, and a load need not pay for the arithmetic (a few microseconds of BigInts).
   */
  private unseeded: { readonly seed: bigint; readonly stream: bigint } | undefined;

  constructor(seed: bigint | number, stream: bigint | number = SANDBOX_STREAM) {
    // Converted at once, so that a seed that is not an integer is refused here.
    this.unseeded = { seed: BigInt(seed), stream: BigInt(stream) };
  }

  /** Seeds the generator as the reference `pcg32_srandom_r` does, if it is not seeded yet. */
  private seeded(): void {
    const unseeded = this.unseeded;
    if (unseeded === undefined) return;
    this.unseeded = undefined;
    this.increment = ((unseeded.stream << 1n) | 1n) & MASK64;
    this.next();
    this.state = (this.state + (unseeded.seed & MASK64)) & MASK64;
    this.next();
  }

  /** The next 32 random bits, as an unsigned integer. */
  next(): number {
    this.seeded();
    const old = this.state;
    this.state = (old * MULTIPLIER + this.increment) & MASK64;
    const xorShifted = Number((((old >> 18n) ^ old) >> 27n) & 0xffffffffn);
    const rotation = Number(old >> 59n);
    return ((xorShifted >>> rotation) | (xorShifted << (-rotation & 31))) >>> 0;
  }

  /** The generator's state, to save. */
  save(): Pcg32State {
    this.seeded();
    return { state: this.state, increment: this.increment };
  }

  /** Puts the generator back in a saved state. */
  restore(saved: Pcg32State): void {
    this.unseeded = undefined;
    this.state = saved.state & MASK64;
    this.increment = saved.increment & MASK64;
  }
}
