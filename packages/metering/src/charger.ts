/**
 * The code that moves gas: charges, checks, refills and reloads of the
 * counter, written for one function's balance local.
 */
import type { ByteWriter } from '@ri-sandbox/core';

/**
 * Writes the charges of one function. The balance lives in an i64 local kept
 * equal to the counter `G`: a charge reads the register and still stores `G`
 * (`local.get $balance; cost; i64.sub; local.tee $balance; global.set G`), so
 * that `G` is exact at every instruction (a trap sees the right figure)
 * without a load of `G` on the loop-carried path. After anything that may
 * change `G` behind the function's back (a call, the fuel and grow helpers,
 * an exception caught), `reload` copies `G` into the balance again.
 */
export class Charger {
  constructor(
    private readonly gasGlobal: number,
    private readonly fuelFunction: number,
    private readonly balance: number,
    /**
     * Whether `G` may lag behind the balance between the points where it is
     * read: it is then stored at checks, before calls and where the function
     * may be left, not at every charge.
     */
    private readonly lazy = false,
  ) {}

  /** `global.get G; local.set $balance`. */
  reload(w: ByteWriter): void {
    w.u8(0x23).u32(this.gasGlobal).u8(0x21).u32(this.balance);
  }

  /** `G = $balance`, when `G` may lag behind. */
  store(w: ByteWriter): void {
    if (this.lazy) this.storeNow(w);
  }

  /** `G = $balance`. */
  storeNow(w: ByteWriter): void {
    w.u8(0x20).u32(this.balance).u8(0x24).u32(this.gasGlobal);
  }

  /**
   * `$balance -= cost` (an `i64.const`; a negative one gives gas back), and
   * `G = $balance` if `store` (by default: when checking, or when `G` may not
   * lag); with `check`, then `if ($balance < 0) { G = $balance if not stored;
   * call $fuel; reload }`.
   */
  charge(w: ByteWriter, cost: number, check = true, store = check || !this.lazy, leaveTo = -1): void {
    w.u8(0x20).u32(this.balance);
    i64Const(w, cost);
    this.subtract(w, check, store, leaveTo);
  }

  /** A checked charge of a cost computed at run time: `pushCost` writes the code that pushes it. */
  chargeComputed(w: ByteWriter, pushCost: (w: ByteWriter) => void): void {
    w.u8(0x20).u32(this.balance);
    pushCost(w);
    this.subtract(w, true, true, -1);
  }

  /** `i64.sub`, then the store and the check of {@link charge}. */
  private subtract(w: ByteWriter, check: boolean, store: boolean, leaveTo: number): void {
    w.u8(0x7d);
    if (store) w.u8(0x22).u32(this.balance).u8(0x24).u32(this.gasGlobal);
    else w.u8(0x21).u32(this.balance);
    if (check) this.branchIfNegative(w, !store, leaveTo);
  }

  /**
   * A check with no charge; `G` is stored first when it may lag (`store`), else only before asking
   * for gas. With `leaveTo`, a negative balance branches to that label instead of asking for gas.
   */
  check(w: ByteWriter, store = this.lazy, leaveTo = -1): void {
    if (store) this.storeNow(w);
    this.branchIfNegative(w, !store, leaveTo);
  }

  /** `G = $balance` if `storeFirst`; `call $fuel`; reload: asks for gas. */
  refill(w: ByteWriter, storeFirst: boolean): void {
    if (storeFirst) this.storeNow(w);
    w.u8(0x10).u32(this.fuelFunction);
    this.reload(w);
  }

  /** `br_if label` when `$balance < amount`: with no charge, whether `amount` is affordable. */
  branchIfBelow(w: ByteWriter, amount: number, label: number): void {
    w.u8(0x20).u32(this.balance);
    i64Const(w, amount);
    w.u8(0x53).u8(0x0d).u32(label);
  }

  private branchIfNegative(w: ByteWriter, storeFirst: boolean, leaveTo: number): void {
    w.u8(0x20).u32(this.balance).u8(0x42).u8(0x00).u8(0x53);
    if (leaveTo >= 0) {
      w.u8(0x0d).u32(leaveTo);
      return;
    }
    w.u8(0x04).u8(0x40);
    this.refill(w, storeFirst);
    w.u8(0x0b);
  }
}

/** `i64.const value` for a safe integer (costs, and refunds as negative costs). */
function i64Const(w: ByteWriter, value: number): void {
  w.u8(0x42);
  // Within 33 bits the signed LEB128 of s32 equals the 64-bit one.
  if (value >= -(2 ** 32) && value < 2 ** 32) w.s32(value);
  else w.s64(BigInt(value));
}
