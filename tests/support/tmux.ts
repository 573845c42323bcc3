/** tmux as an independent terminal emulator: how it answers a cursor position query. */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * What tmux (an 80x24 pane) answers when a program prints `bytes` (latin1) and then asks for the
 * cursor position (ESC [ 6 n): its own cursor position report, "ESC [ row ; col R".
 */
export function tmuxCursorReport(bytes: string): string {
  const dir = mkdtempSync(join(tmpdir(), "xenlab-tmux-"));
  const file = join(dir, "out.bin"), reply = join(dir, "reply.bin"), done = `${file}.done`, sock = `xenlab-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(file, Buffer.from(`${bytes}\x1b[6n`, "latin1"));
  const tmux = (...a: string[]) => execFileSync("tmux", ["-L", sock, "-f", "/dev/null", ...a], { encoding: "utf8" });
  try {
    // Raw, no echo, no onlcr: the bytes reach tmux as a terminal receives them (the guest's tty
    // already made LF CR LF), and tmux's answer is read back unprocessed (up to 1 s).
    tmux("new-session", "-d", "-x", "80", "-y", "24", `stty raw -echo -onlcr min 0 time 10; cat ${file}; dd bs=64 count=1 of=${reply} 2>/dev/null; touch ${done}; sleep 60`);
    for (let i = 0; i < 400 && !existsSync(done); i++) execFileSync("sleep", ["0.05"]);
    const [h, w] = tmux("display-message", "-p", "#{pane_height} #{pane_width}").trim().split(" ").map(Number);
    if (h !== 24 || w !== 80) throw new Error(`tmux pane is ${w}x${h}, not 80x24`);
    return readFileSync(reply, "latin1");
  } finally {
    try { tmux("kill-server"); } catch { /* already gone */ }
  }
}
