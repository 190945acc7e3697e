/**
 * The code that moves gas in the helper functions metering adds (the grow
 * helper's charge per page). The charges of the module's own bodies are
 * written by the kernel (c/write.c), in the same form.
 */
import type { ByteWriter } from '@ri-sandbox/core';

/**
 * Writes checked charges for one function whose balance lives in an i64
 * local kept equal to the counter `G`.
 */
export class Charger {
  constructor(
    private readonly gasGlobal: number,
    private readonly fuelFunction: number,
    private readonly balance: number,
  ) {}

  /** `global.get G; local.set $balance`. */
  reload(w: ByteWriter): void {
    w.u8(0x23).u32(this.gasGlobal).u8(0x21).u32(this.balance);
  }

  /**
   * A charge of a cost computed at run time (`pushCost` writes the code that pushes it):
   * `$balance -= cost; G = $balance; if ($balance < 0) { call $fuel; reload }`.
   */
  chargeComputed(w: ByteWriter, pushCost: (w: ByteWriter) => void): void {
    w.u8(0x20).u32(this.balance);
    pushCost(w);
    w.u8(0x7d).u8(0x22).u32(this.balance).u8(0x24).u32(this.gasGlobal);
    w.u8(0x20).u32(this.balance).u8(0x42).u8(0x00).u8(0x53).u8(0x04).u8(0x40);
    w.u8(0x10).u32(this.fuelFunction);
    this.reload(w);
    w.u8(0x0b);
  }
}
