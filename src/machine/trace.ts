/**
 * The trace ring: the last blocks executed (start address + instructions retired, which together
 * with the decode cache give the last instructions) and the last events (exits, faults,
 * interrupts, unimplemented instructions). One store per block keeps it cheap enough to leave on.
 */
const BLOCKS = 1024;
const EVENTS = 256;

export interface TraceEvent {
  rip: number;
  text: string;
}

export class TraceRing {
  private readonly starts = new Float64Array(BLOCKS);
  private readonly counts = new Int32Array(BLOCKS);
  private head = 0;
  private readonly events: TraceEvent[] = [];

  block(start: number, n: number): void {
    const h = this.head;
    this.starts[h] = start;
    this.counts[h] = n;
    this.head = (h + 1) & (BLOCKS - 1);
    this.total++;
  }
  /** Blocks recorded since the last clear (the ring keeps the last BLOCKS of them). */
  total = 0;
  private get filledCount(): number {
    return this.total < BLOCKS ? this.total : BLOCKS;
  }

  event(rip: number, text: string): void {
    this.events.push({ rip, text });
    if (this.events.length > EVENTS) this.events.shift();
  }

  /** Recent blocks, oldest first: [start, instructions]. */
  recentBlocks(): [number, number][] {
    const out: [number, number][] = [];
    for (let k = this.filledCount; k > 0; k--) {
      const i = (this.head - k + BLOCKS) & (BLOCKS - 1);
      out.push([this.starts[i]!, this.counts[i]!]);
    }
    return out;
  }

  recentEvents(): readonly TraceEvent[] {
    return this.events;
  }

  clear(): void {
    this.head = 0;
    this.total = 0;
    this.events.length = 0;
  }
}
