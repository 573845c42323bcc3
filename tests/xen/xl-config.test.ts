/** xl.cfg parsing: the syntax of xl.cfg(5)/libxlu, xl's defaults, warnings and errors that name the key. */
import { describe, expect, it } from "vitest";
import { parseDiskSpec, parseXlConfig, parseXlSettings } from "../../src/xen/xl-config";
import { XlConfigError } from "../../src/xen/errors";

describe("xl.cfg syntax", () => {
  it("strings, numbers (decimal, octal, hex), nested lists, ; and newline separators, comments", () => {
    const s = parseXlSettings(`name = "a"; memory = 0x40 # hex\nvcpus=010\nextra='x y'\ndisk = [ 'file:/img,xvda,w', [1, "b"] ]\n`);
    expect(s.map((x) => [x.key, x.value])).toEqual([
      ["name", "a"], ["memory", 64], ["vcpus", 8], ["extra", "x y"], ["disk", ["file:/img,xvda,w", [1, "b"]]],
    ]);
  });

  it("+= appends to a list", () => {
    expect(parseXlSettings(`disk = ['a,xvda']\ndisk += ['b,xvdb']`)[0]!.value).toEqual(["a,xvda", "b,xvdb"]);
  });

  it("syntax errors name the key and the line", () => {
    expect(() => parseXlSettings(`name = "a"\nmemory = 12 34`)).toThrow(/memory: unexpected "3" after the value \(line 2\)/);
    expect(() => parseXlSettings(`name = "a`)).toThrow(/name: unterminated "string/);
    expect(() => parseXlSettings(`memory = lots`)).toThrow(/memory: value lots must be a number, a quoted string or a \[list\]/);
    expect(() => parseXlSettings(`disk = ['a' 'b']`)).toThrow(/disk: expected , or \]/);
    expect(() => parseXlSettings(`= 3`)).toThrow(XlConfigError);
  });
});

describe("domain configuration", () => {
  it("applies xl's defaults (memory 128? no: as xl, memory/maxmem/vcpus/cpu_weight/actions)", () => {
    const c = parseXlConfig(`name = "g"\ntype = "pvh"\nkernel = "k"\nmemory = 64`);
    expect(c).toMatchObject({ name: "g", type: "pvh", memory: 64, maxmem: 64, vcpus: 1, maxvcpus: 1, cpuWeight: 256, cap: 0,
      onPoweroff: "destroy", onReboot: "restart", onCrash: "destroy", cmdline: "" });
  });

  it("root/extra build the command line when cmdline is absent", () => {
    expect(parseXlConfig(`name="g"\ntype="pvh"\nkernel="k"\nroot="/dev/xvda1 ro"\nextra="console=hvc0"`).cmdline).toBe("root=/dev/xvda1 ro console=hvc0");
  });

  it("unknown keys warn, bad values fail naming the key", () => {
    const c = parseXlConfig(`name="g"\ntype="pvh"\nkernel="k"\nfrobnicate = 1`);
    expect(c.warnings).toEqual(['Warning: ignoring unknown key "frobnicate" (line 4)']);
    const bad: [string, RegExp][] = [
      [`type="pvh"\nkernel="k"`, /name: is mandatory/],
      [`name="g"\ntype="pvh"\nkernel="k"\nmemory="lots"`, /memory: must be an integer, got "lots"/],
      [`name="g"\ntype="pvh"\nkernel="k"\nmemory=0`, /memory: 0 is out of range/],
      [`name="g"\ntype="pvh"\nkernel="k"\nmemory=64\nmaxmem=32`, /maxmem: 32 is below memory \(64\)/],
      [`name="g"\ntype="pvh"\nkernel="k"\non_crash="explode"`, /on_crash: "explode" is not one of destroy, restart/],
      [`name="g"\ntype="xen"\nkernel="k"`, /type: "xen" must be "pv", "pvh" or "hvm"/],
      [`name="g"\ntype="pvh"`, /kernel: is required for type "pvh"/],
      [`name="g"\ntype="pvh"\nkernel="k"\ncpus="0-9"`, /cpus: CPU 9 does not exist \(the host has 4\)/],
      [`name="g"\ntype="pvh"\nkernel="k"\ncpu_weight=70000`, /cpu_weight: 70000 is out of range 1..65535/],
      [`name="12"\ntype="pvh"\nkernel="k"`, /name: "12" is not a valid domain name/],
      [`name="g"\ntype="pvh"\nkernel="k"\nuuid="nope"`, /uuid: "nope" is not a UUID/],
      [`name="g"\ntype="pvh"\nkernel="k"\ndisk="x"`, /disk: must be a list/],
    ];
    for (const [text, re] of bad) expect(() => parseXlConfig(text, { nrCpus: 4 }), text).toThrow(re);
  });

  it("cpus lists: ranges, exclusions, lists, all", () => {
    const cpus = (v: string) => parseXlConfig(`name="g"\ntype="lab"\ncpus=${v}`, { nrCpus: 8 }).cpus;
    expect(cpus(`"0-3,6"`)).toEqual([0, 1, 2, 3, 6]);
    expect(cpus(`"0-5,^2"`)).toEqual([0, 1, 3, 4, 5]);
    expect(cpus(`[1, 3]`)).toEqual([1, 3]);
    expect(cpus(`"all"`)).toBeUndefined();
  });
});

describe("disk specs (xl-disk-configuration.5)", () => {
  it("positional, key=value and deprecated prefix forms mean the same", () => {
    const a = parseDiskSpec("/dev/vg/g,,hda");
    const b = parseDiskSpec("format=raw, vdev=hda, access=rw, target=/dev/vg/g");
    const c = parseDiskSpec("raw:/dev/vg/g,hda,w");
    for (const d of [a, b, c]) expect({ target: d.target, format: d.format, vdev: d.vdev, access: d.access }).toEqual({ target: "/dev/vg/g", format: "raw", vdev: "hda", access: "rw" });
    expect(parseDiskSpec("tap:vhd:/x.vhd,xvda,w")).toMatchObject({ target: "/x.vhd", format: "vhd", vdev: "xvda" });
    expect(parseDiskSpec("file:/img,xvdb,r")).toMatchObject({ target: "/img", access: "ro" });
    expect(parseDiskSpec("vdev=xvdc, target=/a,b")).toMatchObject({ target: "/a,b" });
    expect(() => parseDiskSpec("/img")).toThrow(/has no vdev/);
    expect(() => parseDiskSpec("/img,xvda,x")).toThrow(/access x must be/);
  });
});

describe("fuzz: random bytes never escape as anything but XlConfigError", () => {
  it("10,000 mutated configs", () => {
    const base = `name = "g"\ntype = "pvh"\nkernel = "k"\nmemory = 64\ndisk = ['file:/i,xvda,w']\ncpus = "0-1"\n`;
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const alphabet = `"'[],;=#\n 0x9azZ-^\\`;
    for (let i = 0; i < 10_000; i++) {
      const chars = [...base];
      const n = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < n; k++) {
        const at = Math.floor(rnd() * chars.length);
        const op = rnd();
        if (op < 0.4) chars[at] = alphabet[Math.floor(rnd() * alphabet.length)]!;
        else if (op < 0.7) chars.splice(at, 1);
        else chars.splice(at, 0, alphabet[Math.floor(rnd() * alphabet.length)]!);
      }
      try { parseXlConfig(chars.join(""), { nrCpus: 4 }); } catch (e) { if (!(e instanceof XlConfigError)) throw e; }
    }
  });
});
