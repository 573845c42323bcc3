import { spawnSync } from "node:child_process";

/**
 * The system calls Node does not expose (fcntl's OFD locks, lseek's SEEK_DATA/SEEK_HOLE), made by
 * a short `python3 -I -S` child on our own descriptors, passed to it as fd 3, 4, ... Both kinds of
 * state live in the open file description, not the process: a lock taken by the child stays held
 * after it exits, and a seek answer describes the same file. One place owns the child's start-up
 * cost, so image-lock.ts and file-extents.ts share it.
 */
export type FdHelperResult = { ok: true; stdout: string } | { ok: false; reason: string };

const noPython = new Map<string, string>();

export function runFdHelper(purpose: string, script: string, fds: number[], arg: string): FdHelperResult {
  const known = noPython.get(purpose);
  if (known) return { ok: false, reason: known };
  const r = spawnSync("python3", ["-I", "-S", "-c", script, arg], { stdio: ["ignore", "pipe", "pipe", ...fds], encoding: "utf8" });
  if (r.error || r.status !== 0) {
    const reason = `${purpose} needs python3 (${r.error?.message ?? r.stderr.trim()})`;
    noPython.set(purpose, reason);
    return { ok: false, reason };
  }
  return { ok: true, stdout: r.stdout };
}
