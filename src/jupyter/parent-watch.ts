/**
 * The kernel's life is bounded by its parent's, as ipykernel's ParentPollerUnix bounds it: when
 * the process that started the kernel (the client or server; JPY_PARENT_PID when it says so) dies,
 * the kernel is re-parented and must go, or it is an orphan holding ports and memory forever.
 *
 * It runs in the IO thread, which stays responsive while a cell keeps the main thread busy; the
 * caller ends the process with SIGTERM, whose default action (kernel.ts keeps it) works even then.
 */

/** How often the parent is looked at (ipykernel polls every second). */
export const PARENT_POLL_MS = 1000;

export interface ParentWatch {
  stop(): void;
}

/** The pid the kernel belongs to: JPY_PARENT_PID if set (jupyter_client sets it), else the OS parent. */
export function watchedParent(env: NodeJS.ProcessEnv = process.env, ppid = process.ppid): number {
  const fromEnv = Number(env.JPY_PARENT_PID);
  return Number.isInteger(fromEnv) && fromEnv > 1 ? fromEnv : ppid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by someone else
  }
}

export function watchParent(onGone: (why: string) => void, parent = watchedParent()): ParentWatch {
  const original = process.ppid;
  const timer = setInterval(() => {
    const why = !alive(parent) ? `parent process ${parent} is gone` : process.ppid !== original ? `re-parented from ${original} to ${process.ppid}` : undefined;
    if (why === undefined) return;
    clearInterval(timer);
    onGone(why);
  }, PARENT_POLL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
