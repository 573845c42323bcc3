/**
 * The trace ring: the last `limit` records of what guests asked of the hypervisor (Xen's
 * hypercalls, Hyper-V's TLFS calls), oldest overwritten first, as xentrace's per-CPU buffers do.
 */
export class TraceRing<T> {
  private readonly buf: T[] = [];
  private next = 0;
  enabled = true;

  constructor(private cap: number) {
    if (!(Number.isInteger(cap) && cap > 0)) throw new RangeError(`trace ring size ${cap} must be a positive integer`);
  }

  get limit(): number {
    return this.cap;
  }

  /** Resizes the ring, keeping the newest records. */
  set limit(n: number) {
    if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`trace ring size ${n} must be a positive integer`);
    const keep = this.records().slice(-n);
    this.buf.length = 0;
    this.buf.push(...keep);
    this.next = keep.length;
    this.cap = n;
  }

  push(r: T): void {
    if (!this.enabled) return;
    if (this.buf.length < this.cap) this.buf.push(r);
    else this.buf[this.next % this.cap] = r;
    this.next++;
  }

  /** Records in order, oldest first. */
  records(): T[] {
    if (this.buf.length < this.cap) return [...this.buf];
    const k = this.next % this.cap;
    return [...this.buf.slice(k), ...this.buf.slice(0, k)];
  }

  /** The newest record. */
  last(): T | undefined {
    if (this.buf.length === 0) return undefined;
    return this.buf.length < this.cap ? this.buf[this.buf.length - 1] : this.buf[(this.next - 1) % this.cap];
  }

  get length(): number {
    return this.buf.length;
  }

  /** Records pushed since creation (including overwritten ones). */
  get total(): number {
    return this.next;
  }

  clear(): void {
    this.buf.length = 0;
    this.next = 0;
  }
}
