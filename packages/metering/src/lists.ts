/** Lists at least this long are copied in bulk (see {@link NumberList.copyOf}). */
const BULK_COPY_FROM = 64;

/**
 * The lists a body's scan and charge plan are made of: numbers on a typed
 * array that keeps its storage when the list is emptied. A module's bodies
 * are scanned and written one after the other, each body's lists used up
 * before the next body's are made, so one set of lists serves them all; a
 * JavaScript array lets go of its storage when emptied, and the scan of
 * ruby.wasm's 17,825 bodies made about 100 MB of arrays for the collector.
 */
export class NumberList {
  /** The numbers, in `items[0]` to `items[length - 1]` (what lies past them is left over). */
  items = new Float64Array(16);
  length = 0;

  /** Empties the list, keeping its storage. */
  clear(): this {
    this.length = 0;
    return this;
  }

  push(value: number): void {
    if (this.length === this.items.length) this.grow();
    this.items[this.length++] = value;
  }

  /** The number at `index` (which must be below `length`). */
  at(index: number): number {
    return this.items[index] as number;
  }

  /** The last number (the list must not be empty). */
  last(): number {
    return this.items[this.length - 1] as number;
  }

  /** Takes the last number off (the list must not be empty), and returns it. */
  pop(): number {
    return this.items[--this.length] as number;
  }

  /** Sets the number at `index` (which must be below `length`). */
  set(index: number, value: number): void {
    this.items[index] = value;
  }

  /** Empties the list, then holds `other`'s numbers. */
  copyOf(other: NumberList): this {
    const length = other.length;
    while (this.items.length < length) this.grow();
    const { items } = this;
    // A short list number by number: a bulk copy needs a view of the other's storage, made each time.
    if (length <= BULK_COPY_FROM) for (let i = 0; i < length; i++) items[i] = other.items[i] as number;
    else items.set(other.items.subarray(0, length));
    this.length = length;
    return this;
  }

  /** The numbers, as an array (for tests and messages). */
  toArray(): number[] {
    return Array.from(this.items.subarray(0, this.length));
  }

  private grow(): void {
    const grown = new Float64Array(this.items.length * 2);
    grown.set(this.items);
    this.items = grown;
  }
}
