/**
 * The terminal `xl console` puts behind a domain's console (src/xen/xl/console-terminal.ts): the
 * cursor position report it answers a DSR query (ESC [ 6 n) with is tmux's (an independent terminal
 * emulator) after the same bytes — line wrap at column 80 (the pending wrap), CR/LF, BS, TAB,
 * CSI cursor motions, scrolling at the bottom; sequences split across chunks still parse; the
 * shown text drops the sequences.
 */
import { describe, expect, it } from "vitest";
import { ConsoleTerminal } from "../../src/xen/xl/console-terminal";
import { tmuxCursorReport } from "../support/tmux";

const STREAMS: Record<string, string> = {
  "a prompt after a line": "Linux (none) 6.1.0\r\n/ # ",
  "exactly 80 columns (wrap pending)": "x".repeat(80),
  "81 columns (wrapped)": "y".repeat(81),
  "80 columns then CR LF": "z".repeat(80) + "\r\n# ",
  "backspace and tab": "abc\b\bd\tq\t",
  "CSI motions": "hello\x1b[3D\x1b[2Cw\x1b[5;10Hx\x1b[A\x1b[2B\x1b[K\x1b[1Gy",
  "scrolling past the bottom": Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\r\n") + "\r\n$ ",
  "busybox's redraw": "/ # ls\r\x1b[K/ # ls -l\x1b[J",
};

describe("the console terminal's cursor", () => {
  for (const [name, bytes] of Object.entries(STREAMS)) {
    it(`answers ESC[6n as tmux does: ${name}`, () => {
      const t = new ConsoleTerminal();
      const { replies } = t.feed(`${bytes}\x1b[6n`);
      expect(replies).toBe(tmuxCursorReport(bytes));
    });
  }

  it("parses a sequence split across two chunks, answers DSR 5, and shows no sequence", () => {
    const t = new ConsoleTerminal();
    const a = t.feed("ab\x1b["), b = t.feed("6ncd\x1b[5n");
    expect(a).toEqual({ shown: "ab", replies: "" });
    expect(b).toEqual({ shown: "cd", replies: "\x1b[1;3R\x1b[0n" });
  });
});
