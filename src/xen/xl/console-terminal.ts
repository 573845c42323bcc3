/**
 * The terminal `xl console` attaches the domain's console to. xl connects the console's pty to
 * the user's terminal, and programs in the guest talk to that terminal: busybox's line editor asks
 * where the cursor is (DSR 6, "ESC [ 6 n", ECMA-48 §8.3.35) at every prompt and reads the cursor
 * position report ("ESC [ row ; col R", §8.3.14) back from its input. In a notebook the cell is the
 * terminal, so this one follows the cursor over what the guest prints — printable characters with
 * the wrap at the right margin (a VT100's pending wrap), CR, LF, BS, TAB, and the CSI cursor
 * motions and erases line editors send — answers DSR 6 and DSR 5 ("ESC [ 0 n": no malfunction),
 * and leaves the control sequences out of the text it shows.
 */

const ESC = "\x1b";

export class ConsoleTerminal {
  /** Cursor, 1-based as the report gives it. */
  row = 1;
  col = 1;
  /** Past the last column: the next printable character wraps first (VT100 "last column flag"). */
  private wrapPending = false;
  /** An escape sequence split across two chunks of output. */
  private partial = "";

  constructor(readonly cols = 80, readonly rows = 24) {}

  /** Takes guest output; returns the text to show and what the terminal answers (to type back). */
  feed(text: string): { shown: string; replies: string } {
    const s = this.partial + text;
    this.partial = "";
    let shown = "", replies = "";
    for (let i = 0; i < s.length; i++) {
      const ch = s[i]!;
      if (ch === ESC) {
        if (i + 1 >= s.length) { this.partial = s.slice(i); break; }
        if (s[i + 1] !== "[") { i++; continue; } // a two-character escape (ESC 7, ESC =, ...): no cursor effect modelled
        // CSI: parameters and intermediates, then a final byte 0x40-0x7e.
        let j = i + 2;
        while (j < s.length && !(s.charCodeAt(j) >= 0x40 && s.charCodeAt(j) <= 0x7e)) j++;
        if (j >= s.length) { this.partial = s.slice(i); break; }
        replies += this.csi(s.slice(i + 2, j), s[j]!);
        i = j;
        continue;
      }
      shown += ch;
      this.put(ch);
    }
    return { shown, replies };
  }

  private put(ch: string): void {
    switch (ch) {
      case "\r": this.col = 1; this.wrapPending = false; return;
      case "\n": this.lineFeed(); return; // the pty's ONLCR already turned "\n" into "\r\n"
      case "\b": if (this.col > 1) this.col--; this.wrapPending = false; return;
      case "\t": this.col = Math.min(this.cols, (Math.floor((this.col - 1) / 8) + 1) * 8 + 1); return;
      case "\x07": return;
    }
    if (ch < " ") return;
    if (this.wrapPending) { this.col = 1; this.lineFeed(); this.wrapPending = false; }
    if (this.col === this.cols) this.wrapPending = true;
    else this.col++;
  }

  private lineFeed(): void {
    if (this.row < this.rows) this.row++;
  }

  /** One CSI sequence: the cursor moves it makes, and the answer it asks for. */
  private csi(params: string, final: string): string {
    const n = params.split(";").map((p) => (p === "" ? undefined : Number(p)));
    const a = n[0] ?? 1;
    if (final === "n") {
      // With a wrap pending the report says column 81, as tmux reports it (xterm says 80).
      if (params === "6") return `${ESC}[${this.row};${this.wrapPending ? this.cols + 1 : this.col}R`;
      return params === "5" ? `${ESC}[0n` : "";
    }
    this.wrapPending = false;
    switch (final) {
      case "A": this.row = Math.max(1, this.row - a); return "";
      case "B": this.row = Math.min(this.rows, this.row + a); return "";
      case "C": this.col = Math.min(this.cols, this.col + a); return "";
      case "D": this.col = Math.max(1, this.col - a); return "";
      case "G": this.col = Math.min(this.cols, Math.max(1, a)); return "";
      case "H": case "f": this.row = Math.min(this.rows, Math.max(1, n[0] ?? 1)); this.col = Math.min(this.cols, Math.max(1, n[1] ?? 1)); return "";
      default: return ""; // erases (J, K), attributes (m), modes (h, l): no cursor motion
    }
  }
}

const terminals = new WeakMap<object, ConsoleTerminal>();

/** The terminal of a domain's console (one per domain, kept between attaches as a real one is). */
export function consoleTerminal(d: object): ConsoleTerminal {
  let t = terminals.get(d);
  if (!t) { t = new ConsoleTerminal(); terminals.set(d, t); }
  return t;
}
