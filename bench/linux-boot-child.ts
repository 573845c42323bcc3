/**
 * One fresh process booting Debian's kernel on the Xen host, for the code-cache figure
 * (linux-cache.bench.ts): `node dist/bench/linux-boot-child.js BOOTS [--load FILE] [--save FILE]`.
 * Boots `BOOTS` times in this process (each a fresh XenHost and domain; the process's shared code
 * cache carries over from one boot to the next), loading the code cache file first and saving
 * it after, and prints one JSON line: per boot the wall and CPU seconds, the guest instructions
 * and how many blocks were compiled and how many of those were reused from the code cache.
 */
import { XenHost } from "../src/xen/host";
import { sharedCodeCache } from "../src/machine/code-cache";
import { INIT_FIRST_LINE, linuxGuest } from "../tests/support/linux-guest";
import { nowMs } from "./harness";

export interface ChildBoot { s: number; cpuS: number; instructions: number; compiled: number; reused: number }
export interface ChildResult { loadS: number; loaded: number; boots: ChildBoot[]; saved: number }

function boot(): ChildBoot {
  const g = linuxGuest();
  const host = new XenHost({ pcpus: 1, memoryMiB: 512 });
  host.traceEnabled = false;
  let out = "";
  const t0 = nowMs(), c0 = process.cpuUsage();
  const d = host.createDomain(`name = "debian"\ntype = "pvh"\nkernel = "${g.bzImage}"\nramdisk = "${g.initrd}"\nmemory = 256\nvcpus = 1\nextra = "console=hvc0"\n`);
  host.consoleListeners.add((dom, text) => { if (dom === d) out += text; });
  const r = host.run({ until: () => out.includes(INIT_FIRST_LINE) || d.isShutdown, maxInstructions: 3e9 });
  const s = (nowMs() - t0) / 1000, c = process.cpuUsage(c0);
  if (!out.includes(INIT_FIRST_LINE)) throw new Error(`the kernel did not reach /init (${r.stoppedBy}); console:\n${out.slice(-2000)}`);
  const v = d.vcpus[0]!.cpu!;
  return { s, cpuS: (c.user + c.system) / 1e6, instructions: r.instructions, compiled: v.dispatch.compiled, reused: v.dispatch.reused };
}

function main(): void {
  const args = process.argv.slice(2);
  const boots = Number(args[0]);
  if (!Number.isInteger(boots) || boots < 1) throw new Error(`usage: linux-boot-child BOOTS [--load FILE] [--save FILE] (BOOTS was ${args[0]})`);
  const opt = (name: string): string | undefined => { const k = args.indexOf(name); return k >= 0 ? args[k + 1] : undefined; };
  const load = opt("--load"), save = opt("--save");
  const t0 = nowMs();
  const loaded = load !== undefined ? sharedCodeCache.load(load) : 0;
  const loadS = (nowMs() - t0) / 1000;
  const result: ChildResult = { loadS, loaded, boots: [], saved: 0 };
  for (let k = 0; k < boots; k++) result.boots.push(boot());
  if (save !== undefined) result.saved = sharedCodeCache.save(save);
  console.log(JSON.stringify(result));
}

main();
