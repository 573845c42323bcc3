/**
 * Gives memory back once the kernel is idle. V8 collects its old generation only when it wants
 * room, so what a cell dropped (a 300 MB typed array, a big array of numbers, the copies a 20 MB
 * request leaves: its frames, its text, its compiled forms) stays resident until some later cell
 * allocates enough; ipykernel frees such things at once by reference counting. Here a thread runs
 * one full collection shortly after a request when the request was big or the process grew by
 * GROWTH_BYTES since the last collection, and V8 unmaps the freed pages (measured: 485 -> 196 MiB
 * for a dropped 300 MB Uint8Array, 499 -> 197 MiB for a dropped 300 MB array of doubles).
 * The kernel runs with --expose-gc (kernelspec.ts) for this; without it nothing happens.
 */
export const BIG_REQUEST_BYTES = 1 << 20;
/**
 * Growth of resident memory since the last collection that makes an idle kernel collect. A small
 * cell grows the kernel by ~0.1 MiB (bench kernel.rss_per_cell), so collections stay rare (one per
 * ~160 small cells at most); a full collection of the kernel's ~100 MiB heap takes ~50-150 ms.
 */
export const GROWTH_BYTES = 16 << 20;
/** How long the thread must stay idle before it collects: a burst of requests is not slowed. */
export const IDLE_MS = 50;
/** The first retry of a round; a drop soon after a big cell is seen within this. */
export const FIRST_RETRY_MS = 1000;
/** The last retry (1 + 2 + ... + 32 s: a round gives up about a minute after the growth). */
export const MAX_RETRY_MS = 32_000;

function collector(): (() => void) | undefined {
  const gc: unknown = (globalThis as Record<string, unknown>)["gc"];
  return typeof gc === "function" ? (gc as () => void) : undefined;
}

/** For the IO thread: one collection once idle after a request this big. */
export function releaseAfterBig(bytes: number): void {
  const gc = collector();
  if (bytes < BIG_REQUEST_BYTES || !gc) return;
  setImmediate(gc);
}

/**
 * For the main thread, which runs cells: told when each request starts and ends. Growth (or a big
 * request) starts a round of collections, each once the thread has been idle for IDLE_MS: the
 * first at once, then retries FIRST_RETRY_MS, 2x, 4x ... later while the process stays above
 * where it stood before the growth, so a value a later cell drops is given back within about a
 * second of that cell. After the last retry what is left is live (a value the session keeps) and
 * becomes the new baseline: an idle kernel does not collect forever.
 */
export class IdleRelease {
  private timer: NodeJS.Timeout | undefined;
  /** Resident bytes before the growth that started the current round (or after the last round). */
  private baseline = rss();
  /** Resident bytes after the last collection. */
  private settled = this.baseline;
  /** The wait before the next retry of a round; undefined: no round under way. */
  private retryMs: number | undefined;
  private nextTry = 0;
  /** Collections run so far (a figure for tests). */
  collections = 0;

  constructor(private readonly gc: (() => void) | undefined = collector()) {}

  /** What the process holds now is its own (the cell runner just loaded): growth counts from here. */
  settle(): void {
    this.baseline = this.settled = rss();
  }

  /** A request starts: a pending collection waits for the next idle moment. */
  busy(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * A request of `bytes` (its code) is done. `loaded`: the request loaded something for good
   * (TypeScript, on the first TypeScript cell): one collection, and what stays is the baseline.
   */
  idle(bytes: number, loaded = false): void {
    if (!this.gc) return;
    if (loaded) {
      this.retryMs = MAX_RETRY_MS * 2; // the next collection ends the round
      this.schedule(IDLE_MS);
      return;
    }
    if (this.retryMs !== undefined) {
      this.schedule(Math.max(IDLE_MS, this.nextTry - Date.now()));
      return;
    }
    if (bytes < BIG_REQUEST_BYTES && rss() - this.settled < GROWTH_BYTES) return;
    this.retryMs = FIRST_RETRY_MS;
    this.schedule(IDLE_MS);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.collect(), ms);
    this.timer.unref();
  }

  private collect(): void {
    this.timer = undefined;
    this.gc!();
    this.collections++;
    this.settled = rss();
    const retry = this.retryMs ?? MAX_RETRY_MS * 2;
    if (this.settled - this.baseline < GROWTH_BYTES || retry > MAX_RETRY_MS) {
      // Given back, or live: the round ends.
      this.baseline = this.settled;
      this.retryMs = undefined;
      return;
    }
    this.nextTry = Date.now() + retry;
    this.retryMs = retry * 2;
    this.schedule(retry);
  }
}

function rss(): number {
  return process.memoryUsage.rss();
}
