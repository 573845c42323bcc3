/** How a long verb tells its caller how far it is (the CLI's -p, a notebook's progress bar). */
export type Progress = (done: number, total: number) => void;

/**
 * One step of a longer job: the step reports its own done/total, the caller sees it as the share
 * [from, to] of the whole (0..1), so a check that reads the image twice never goes backwards.
 */
export function progressPart(p: Progress | undefined, from: number, to: number): Progress | undefined {
  if (!p) return undefined;
  return (done, total) => p(from + (to - from) * (total > 0 ? Math.min(done / total, 1) : 1), 1);
}
