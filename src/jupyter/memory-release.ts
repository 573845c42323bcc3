/**
 * Gives memory back after a big request. V8 collects its old generation only when it wants room,
 * so the copies a 20 MB cell leaves (the message's frames, the cell's text, its compiled forms)
 * stay resident until then: ipykernel keeps them too. After a request this big, each thread runs
 * one full collection once it is idle, and V8 returns the freed pages to the system.
 * The kernel runs with --expose-gc (kernelspec.ts) for this; without it nothing happens.
 */
export const BIG_REQUEST_BYTES = 1 << 20;

export function releaseAfterBig(bytes: number): void {
  const gc: unknown = (globalThis as Record<string, unknown>)["gc"];
  if (bytes < BIG_REQUEST_BYTES || typeof gc !== "function") return;
  setImmediate(() => (gc as () => void)());
}
