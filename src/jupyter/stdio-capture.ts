/**
 * Routes the process's stdout/stderr (console.log in a cell, or in a timer a cell started) to the
 * current cell's output as stream messages. The kernel's own log lines use `kernelLog`, which
 * writes to the real stderr.
 */
import { currentCellSink } from "./cell-api";

const realStdoutWrite = process.stdout.write.bind(process.stdout);
const realStderrWrite = process.stderr.write.bind(process.stderr);
let installed = false;

export function captureStdio(): void {
  if (installed) return;
  installed = true;
  process.stdout.write = patched("stdout", realStdoutWrite) as typeof process.stdout.write;
  process.stderr.write = patched("stderr", realStderrWrite) as typeof process.stderr.write;
}

export function kernelLog(message: string): void {
  realStderrWrite(`[xenlab] ${message}\n`);
}

function patched(name: "stdout" | "stderr", real: (chunk: string | Uint8Array) => boolean) {
  return (chunk: string | Uint8Array, encoding?: unknown, cb?: unknown): boolean => {
    const sink = currentCellSink();
    if (!sink) return real(chunk);
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString(typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
    sink.stream(name, text);
    const callback = typeof encoding === "function" ? encoding : cb;
    if (typeof callback === "function") queueMicrotask(() => (callback as () => void)());
    return true;
  };
}
