/**
 * The console session (src/xen/console-session.ts): a line typed into the PV console ring as
 * `xl console` does, the host run until the guest prompts again, the command's output returned;
 * clear errors when the guest stops, goes idle or spends the budget. The guest is a small shell
 * written against the ring's layout (public/io/console.h: in[1024], out[2048], then in_cons,
 * in_prod, out_cons, out_prod): it echoes what it reads from in[] into out[], answers each line
 * with "got LINE", prompts "> ", and notifies its console port (HVM_PARAM_CONSOLE_EVTCHN) the
 * way Linux's hvc_xen does. Debian's kernel drives the same session in tests/linux.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONSOLE_PFN } from "../../src/xen/builder";
import { ConsoleEndpoint, ConsoleSessionError, consoleSession, xenConsole } from "../../src/xen/console-session";
import { XenHost } from "../../src/xen/host";
import { runXl } from "../../src/xen/xl/xl";
import { consoleGetc, labCode } from "./helpers";

/** Commands of the lab shell: "!" powers off, "@" spins without reading, "~" answers without a prompt. */
function shellGuest(): Uint8Array {
  return labCode(`
      mov r15, rsi                   ; shared_info
      mov rbx, ${CONSOLE_PFN * 4096}
      lea rsi, [rel prm]             ; HVMOP_get_param(DOMID_SELF, HVM_PARAM_CONSOLE_EVTCHN = 18)
      mov word [rsi], 0x7ff0
      mov dword [rsi + 4], 18
      mov edi, 1
      call HC(34)
      mov eax, [rel prm + 8]
      mov [rel port], eax
      xor r12d, r12d                 ; length of the line read so far
      lea rsi, [rel prompt]
      call puts
    again:
${consoleGetc("sleep")}
      cmp cl, 10
      je eol
      lea rdx, [rel line]
      mov [rdx + r12], cl
      inc r12d
      call putc                      ; echo
      jmp again
    eol:
      mov cl, 10
      call putc
      test r12d, r12d
      jz .prompt
      movzx eax, byte [rel line]
      cmp al, '!'
      je halt
      cmp al, '@'
      je spin
      lea rsi, [rel got]
      call puts
      xor r13d, r13d
    .copy:
      cmp r13d, r12d
      jae .done
      lea rdx, [rel line]
      movzx ecx, byte [rdx + r13]
      call putc
      inc r13d
      jmp .copy
    .done:
      mov cl, 10
      call putc
      movzx eax, byte [rel line]
      cmp al, '~'
      je .quiet
    .prompt:
      lea rsi, [rel prompt]
      call puts
    .quiet:
      xor r12d, r12d
      jmp again
    sleep:
      call flush
      mov byte [r15], 0              ; vcpu_info[0].evtchn_upcall_pending
      mov qword [r15 + 8], 0         ; evtchn_pending_sel
      mov qword [r15 + 2048], 0      ; evtchn_pending[0]
      mov eax, [rbx + 3072]          ; input that came meanwhile: no block
      cmp eax, [rbx + 3076]
      jne again
      mov edi, 1                     ; SCHEDOP_block
      xor esi, esi
      call HC(29)
      jmp again
    halt:
      call flush
      lea rsi, [rel zero]            ; SCHEDOP_shutdown(SHUTDOWN_poweroff)
      mov edi, 2
      call HC(29)
      jmp halt
    spin:
      call flush
    .l: inc rax
      jmp .l
    putc:                            ; cl into out[], waiting for room (xenconsoled drains on notify)
      mov eax, [rbx + 3084]
      sub eax, [rbx + 3080]
      cmp eax, 2048
      jb .room
      push rcx
      call flush
      pop rcx
      jmp putc
    .room:
      mov eax, [rbx + 3084]
      and eax, 2047
      mov [rbx + 1024 + rax], cl
      inc dword [rbx + 3084]
      ret
    puts:
      movzx ecx, byte [rsi]
      test cl, cl
      jz .r
      push rsi
      call putc
      pop rsi
      inc rsi
      jmp puts
    .r: ret
    flush:                           ; EVTCHNOP_send(port)
      push rsi
      push rdi
      lea rsi, [rel port]
      mov edi, 4
      call HC(32)
      pop rdi
      pop rsi
      ret
    prm: dw 0, 0
      dd 0
      dq 0
    port: dd 0
    zero: dd 0
    got: db "got ", 0
    prompt: db "> ", 0
    line: times 4096 db 0`);
}

function boot(): XenHost {
  const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
  host.createLabDomain("shell", shellGuest());
  return host;
}

describe("console session", () => {
  it("types a line, runs to the next prompt and returns what the command printed (after its echo)", () => {
    const host = boot();
    const sh = consoleSession(xenConsole(host, "shell"), { prompt: "> " });
    expect(sh.run("hello world")).toBe("got hello world");
    expect(sh.lines("a b")).toEqual(["got a b"]);
    // An empty line prints nothing but the prompt.
    expect(sh.lines("")).toEqual([]);
    expect(sh.transcript).toBe("> hello world\ngot hello world\n> a b\ngot a b\n> \n> ");
  });

  it("a line longer than in[] is fed as the guest frees room, as xenconsoled does", () => {
    const host = boot();
    const inner = xenConsole(host, "shell");
    const fitted: number[] = [];
    const spy: ConsoleEndpoint = { ...inner, input: (t) => { const n = inner.input(t); fitted.push(n); return n; } };
    const sh = consoleSession(spy, { prompt: "> " });
    const long = Array.from({ length: 3000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
    expect(sh.run(long)).toBe(`got ${long}`);
    expect(fitted[0]).toBe(1024); // the ring's in[] size: the rest waited
    expect(fitted.reduce((a, b) => a + b, 0)).toBe(3001);
  });

  it("waitFor stops at a marker (text, pattern or condition) in the output from now on", () => {
    const host = boot();
    const sh = consoleSession(xenConsole(host, "shell"), { prompt: "> " });
    sh.type("one\ntwo\n");
    expect(sh.waitFor("got two")).toBe("> one\ngot one\n> two\ngot two");
    // What followed the marker is read by the next call.
    expect(sh.waitFor("> ")).toBe("\n> ");
    const d = host.domain("shell");
    sh.type("!\n");
    sh.waitFor(() => d.isShutdown);
    expect(d.shutdownReason).toBe("poweroff");
  });

  it("says why no prompt came: the guest shut down, went idle, or the budget ran out", () => {
    const host = boot();
    const sh = consoleSession(xenConsole(host, "shell"), { prompt: "> " });
    const failure = (f: () => unknown): ConsoleSessionError => {
      try { f(); } catch (e) { if (e instanceof ConsoleSessionError) return e; throw e; }
      throw new Error("no ConsoleSessionError");
    };
    // "~" answers without prompting again; the guest blocks with no timer: nothing will come.
    const idle = failure(() => sh.run("~x"));
    expect(idle.reason).toBe("idle");
    expect(idle.message).toMatch(/^domain shell went idle .* while waiting for the prompt `> ` after `~x`; last output: "> ~x\\ngot ~x\\n"$/);
    sh.type("\n"); // the prompt back
    // "@" spins without reading: the instruction budget ends the wait.
    const spun = failure(() => sh.run("@", { maxInstructions: 2_000_000 }));
    expect(spun.reason).toBe("budget");
    expect(spun.message).toMatch(/^domain shell: \d+ instructions retired \(budget 2000000\) while waiting for the prompt `> ` after `@`/);
    // Or virtual time, when given.
    expect(failure(() => sh.waitFor("never", { ns: 1e6 })).reason).toBe("time");
  });

  it("a domain that stopped is named with its state, and typing into it is refused", () => {
    const host = boot();
    const sh = consoleSession(xenConsole(host, "shell"), { prompt: "> " });
    const e1 = (() => { try { sh.run("!"); } catch (e) { return e as ConsoleSessionError; } })()!;
    expect(e1.reason).toBe("stopped");
    // A lab domain's on_poweroff is destroy: the session still says what happened.
    expect(e1.message).toMatch(/^domain shell shut down \(poweroff\) and is gone \(destroyed, as its on_poweroff action says\) while waiting for the prompt `> ` after `!`/);
    expect(() => sh.run("hello")).toThrow(/domain shell shut down \(poweroff\) and is gone/);
    expect(() => consoleSession(xenConsole(host, "shell")).run("hello")).toThrow(/domain shell is gone \(destroyed, or not created yet\)/);
    // A Domain object names that domain only: a new one of the same name is another console.
    const host2 = boot();
    const d = host2.domain("shell");
    expect(consoleSession(xenConsole(host2, d), { prompt: "> " }).run("x")).toBe("got x");
    runXl(host2, ["pause", "shell"]);
    expect(() => consoleSession(xenConsole(host2, d), { prompt: "> " }).run("y")).toThrow(/domain shell is paused/);
  });

  it("by name, the session follows the domain through xl save + xl restore (a new domain, the same shell)", () => {
    const host = boot();
    const sh = consoleSession(xenConsole(host, "shell"), { prompt: "> " });
    expect(sh.run("before")).toBe("got before");
    const file = join(mkdtempSync(join(tmpdir(), "xenlab-session-")), "shell.chk");
    expect(runXl(host, ["save", "shell", file]).exitCode).toBe(0);
    const r = runXl(host, ["restore", file]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.domain!.domid).not.toBe(1);
    expect(sh.run("after")).toBe("got after");
  });
});
