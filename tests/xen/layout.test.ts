/**
 * Every struct layout and number the Xen model uses, checked against Debian's libxen-dev headers
 * compiled by gcc (offsetof/sizeof and the macros/enums themselves).
 */
import { describe, expect, it } from "vitest";
import { CHECKED_CONSTANTS, LAYOUT } from "../../src/xen/abi";
import { XEN_INCLUDES, runC } from "./headers";

const C_TYPE: Record<string, string> = {
  vcpu_time_info: "struct vcpu_time_info", vcpu_info: "struct vcpu_info", shared_info: "struct shared_info",
  multicall_entry: "struct multicall_entry", xen_hvm_param: "struct xen_hvm_param",
};

describe("layouts against libxen-dev", () => {
  it("every field offset and struct size matches gcc's offsetof/sizeof", () => {
    let body = "";
    for (const [name, l] of Object.entries(LAYOUT)) {
      const t = C_TYPE[name] ?? `struct ${name}`;
      body += `printf("${name} sizeof %zu\\n", sizeof(${t}));\n`;
      for (const f of Object.keys(l.f)) body += `printf("${name} ${f} %zu\\n", offsetof(${t}, ${f}));\n`;
    }
    const out = runC(`${XEN_INCLUDES}\nint main(void){\n${body}return 0;}\n`);
    const got = new Map(out.trim().split("\n").map((line) => { const [s, f, v] = line.split(" "); return [`${s} ${f}`, Number(v)]; }));
    for (const [name, l] of Object.entries(LAYOUT)) {
      expect(got.get(`${name} sizeof`), `sizeof(${name})`).toBe(l.size);
      for (const [f, o] of Object.entries(l.f)) expect(got.get(`${name} ${f}`), `offsetof(${name}, ${f})`).toBe(o);
    }
  });

  it("every hypercall number, sub-op, flag and status code matches the headers", () => {
    const names = Object.keys(CHECKED_CONSTANTS);
    const body = names.map((n) => `printf("${n} %lld\\n", (long long)(${n}));`).join("\n");
    const out = runC(`${XEN_INCLUDES}\nint main(void){\n${body}\nreturn 0;}\n`);
    const got = new Map(out.trim().split("\n").map((line) => { const [n, v] = line.split(" "); return [n!, Number(v)]; }));
    for (const n of names) expect(got.get(n), n).toBe(CHECKED_CONSTANTS[n]);
    expect(names.length).toBeGreaterThan(200);
  });
});
