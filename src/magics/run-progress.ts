/**
 * Running a host for a while with a live progress bar: virtual time, instructions retired and
 * speed, redrawn at most every 100 ms, ending as done, interrupted or stopped by an error. `%run`
 * uses it, and so do cells (`runWithProgress(longhorn, { until })` in cell scope), for either
 * personality: anything with the platform run loop's `now`, `instructions` and `run`.
 */
import { KeyboardInterrupt } from "../interrupt";
import { ProgressView } from "../render/progress";
import type { MagicContext } from "./magic";

/** Where the bar is drawn: the running cell's output (the kernel's OutputSink). */
export type ProgressSink = Pick<MagicContext["out"], "display" | "updateDisplay">;

export interface RunnableHost<H> {
  /** Virtual time, ns. */
  readonly now: number;
  /** Instructions retired by all guests so far. */
  readonly instructions: number;
  run(opts: { ns?: number; until?: (h: H) => boolean; maxInstructions?: number; onSlice?: (h: H) => void }): { stoppedBy: string };
}

export interface ProgressRunOptions<H> {
  ns?: number;
  until?: (h: H) => boolean;
  maxInstructions?: number;
  /** What the bar says it is doing (default "running the host"). */
  label?: string;
}

let runs = 0;

/** Runs `host` as `host.run(opts)` does, drawing progress into `out` once the run lasts over 300 ms. */
export function runShowingProgress<H extends RunnableHost<H>>(host: H, opts: ProgressRunOptions<H>, out: ProgressSink | undefined): ReturnType<H["run"]> {
  const t0 = Date.now();
  const start = host.now;
  const icount0 = host.instructions;
  const id = `run-${t0}-${++runs}`;
  let shown = false;
  let last = 0;
  const view = (status: string) => {
    const secs = Math.max((Date.now() - t0) / 1000, 1e-3);
    const insns = host.instructions - icount0;
    return new ProgressView({
      label: opts.label ?? "running the host",
      done: (host.now - start) / 1e6,
      total: opts.ns === undefined ? undefined : opts.ns / 1e6,
      unit: "ms of virtual time",
      figures: { instructions: insns.toLocaleString("en-US"), MIPS: (insns / secs / 1e6).toFixed(1), "wall s": secs.toFixed(1) },
      status,
    }).toMimeBundle();
  };
  const onSlice = () => {
    const now = Date.now();
    if (!out || now - t0 < 300 || now - last < 100) return;
    last = now;
    if (!shown) out.display(view("running"), { id });
    else out.updateDisplay(id, view("running"));
    shown = true;
  };
  try {
    const result = host.run({ ns: opts.ns, until: opts.until, maxInstructions: opts.maxInstructions, onSlice }) as ReturnType<H["run"]>;
    if (shown) out!.updateDisplay(id, view(result.stoppedBy === "until" || result.stoppedBy === "time" || result.stoppedBy === "idle" ? "done" : `stopped: ${result.stoppedBy}`));
    return result;
  } catch (err) {
    if (shown) out!.updateDisplay(id, view(err instanceof KeyboardInterrupt ? "interrupted" : "stopped by an error"));
    throw err;
  }
}
