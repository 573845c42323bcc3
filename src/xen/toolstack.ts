/**
 * The toolstack dom0 runs (libxl and xl): domain creation from xl.cfg (config checks, domid and
 * uuid, the domain builder's store/console setup and reserved grants, libxl's XenStore tree,
 * configured disks), `xl destroy` (the hypervisor's domain_kill, then libxl's XenStore cleanup),
 * `xl shutdown`'s request through control/shutdown, and xl's reaction to a domain that shut down
 * (xl_vmcontrol.c handle_domain_death: on_poweroff/on_reboot/on_crash actions).
 */
import { vcpuId } from "../platform";
import { readFileSync } from "node:fs";
import { Gfn, domId, gfn, MachineFrames, PAGE_SIZE, Vcpu } from "../machine";
import { buildPv } from "./pv/builder";
import { DOMID_FIRST_RESERVED, GNTTAB_RESERVED_CONSOLE, GNTTAB_RESERVED_XENSTORE, GTF_permit_access, HVM_PARAM } from "./abi";
import { attachConfiguredDisks } from "./blkback/blkback";
import { buildLab, buildPvh, LAB } from "./builder";
import { LAYOUT } from "./abi";
import { Domain, DomainKind } from "./domain";
import { XenError } from "./errors";
import type { CreateOptions, XenHost } from "./host";
import { viridianGroups } from "./viridian";
import { DomainConfig, parseXlConfig } from "./xl-config";
import { XenVcpu } from "./xen-vcpu";
import { writeGuestDirectories } from "./xenstore/libxl-layout";

let uuidCounter = 0;
function makeUuid(seed: string): string {
  // Deterministic (same notebook, same uuids): FNV-1a of the name and a counter, formatted as v4.
  let h = 0x811c9dc5n;
  const s = `${seed}/${uuidCounter++}`;
  const parts: string[] = [];
  for (let k = 0; k < 4; k++) {
    for (const ch of s + k) { h ^= BigInt(ch.charCodeAt(0)); h = (h * 0x01000193n) & 0xffffffffn; }
    parts.push(h.toString(16).padStart(8, "0"));
  }
  const hex32 = parts.join("");
  return `${hex32.slice(0, 8)}-${hex32.slice(8, 12)}-4${hex32.slice(13, 16)}-a${hex32.slice(17, 20)}-${hex32.slice(20, 32)}`;
}

export class Toolstack {
  private nextDomid = 1;
  /** Domains whose shutdown the toolstack has not acted on yet. */
  private readonly pendingShutdowns: Domain[] = [];
  /** Toolstack messages (what xl would print: restarts, destroys). */
  readonly log: string[] = [];

  constructor(private readonly host: XenHost) {}

  /** dom0 as the host boots it: its memory, vCPUs and XenStore entries. */
  createDom0(memMiB: number): void {
    const cfg = parseXlConfig(`name = "Domain-0"\ntype = "lab"\nmemory = ${memMiB}\nvcpus = ${Math.min(this.host.pcpus.length, 4)}`);
    const d = new Domain(this.host, domId(0), "Domain-0", "dom0", cfg, "00000000-0000-0000-0000-000000000000");
    d.privileged = true;
    this.host.machine.populate(d.domid, gfn(0), memMiB * 256);
    for (let i = 0; i < cfg.vcpus; i++) {
      const v = new XenVcpu(d, vcpuId(i), undefined);
      v.pcpu = i % this.host.pcpus.length;
      v.setRunstate("blocked", 0);
      d.vcpus.push(v);
    }
    this.host.domains.set(d.domid, d);
    const xs = this.host.xenstore;
    xs.mkdirs("/local/domain/0", 0);
    xs.write("/local/domain/0/name", "Domain-0");
    xs.write("/local/domain/0/domid", "0");
    xs.write("/local/domain/0/memory/target", String(memMiB * 1024));
    xs.write("/local/domain/0/memory/static-max", String(memMiB * 1024));
    for (let i = 0; i < cfg.vcpus; i++) xs.write(`/local/domain/0/cpu/${i}/availability`, "online");
  }

  /** Creates a domain from xl.cfg text (or a parsed config), as `xl create` does. */
  create(cfg: string | DomainConfig, opts: CreateOptions = {}): Domain {
    const config = typeof cfg === "string" ? parseXlConfig(cfg, { nrCpus: this.host.pcpus.length }) : cfg;
    for (const d of this.host.domains.values()) if (d.name === config.name) throw new XenError("EEXIST", `domain with name "${config.name}" already exists`);
    if (config.type === "hvm") throw new XenError("EOPNOTSUPP", `type "hvm" is not supported by this host (no device model): use type = "pvh" (an ELF kernel with XEN_ELFNOTE_PHYS32_ENTRY), "pv" or "lab"`);
    viridianGroups(config.viridian); // an unknown enlightenment fails the create, naming it
    const freeMiB = (this.host.machine.memory.frameCount - this.host.machine.memory.allocatedFrames) / 256;
    if (config.memory + 1 > freeMiB) throw new XenError("ENOMEM", `not enough free memory for ${config.name}: ${config.memory} MiB wanted, ${Math.floor(freeMiB)} MiB free`);
    let id = this.nextDomid;
    while (this.host.domains.has(domId(id))) id++;
    if (id >= DOMID_FIRST_RESERVED) throw new XenError("ENOSPC", "no free domain id");
    this.nextDomid = id + 1;
    const uuid = opts.uuid ?? config.uuid ?? makeUuid(config.name);
    const d = new Domain(this.host, domId(id), config.name, config.type as DomainKind, config, uuid);
    // One TSC floor per domain: its vCPUs' TSCs read as one synchronised clock, as on hardware.
    const tscFloor = { last: 0 };
    for (let i = 0; i < config.maxvcpus; i++) {
      // A PV vCPU has no second stage: its page tables name machine frames (pv/page-types.ts checks them).
      const translation = config.type === "pv" ? new MachineFrames(this.host.machine.memory.frameCount) : undefined;
      const v = new XenVcpu(d, vcpuId(i), new Vcpu(this.host.machine, d.domid, i, undefined, translation));
      v.cpu!.tscFloor = tscFloor;
      v.affinity = config.cpus;
      v.pcpu = config.cpus ? config.cpus[i % config.cpus.length]! : (id + i) % this.host.pcpus.length;
      v.stateEntry = this.host.now;
      v.down = i > 0; // APs wait for VCPUOP_up or a startup IPI
      v.initialised = i === 0; // the builder gives vCPU 0 its context
      d.vcpus.push(v);
    }
    this.host.domains.set(d.domid, d);
    try {
      if (config.type === "pv") {
        const image = opts.kernel ?? readFileSync(config.kernel!);
        buildPv(d, image instanceof Uint8Array ? image : new Uint8Array(image), config.cmdline);
      } else if (config.type === "pvh") {
        const image = opts.kernel ?? readFileSync(config.kernel!);
        const ramdisk = opts.ramdisk ?? (config.ramdisk !== undefined ? readFileSync(config.ramdisk) : undefined);
        buildPvh(d, image instanceof Uint8Array ? image : new Uint8Array(image), config.cmdline, ramdisk && new Uint8Array(ramdisk));
      } else {
        // A lab domain runs raw code: given directly, or a flat binary named by `kernel`
        // (e.g. `nasm -f bin` output assembled for the LAB.code origin); default cli; hlt.
        const code = opts.code ?? (config.kernel !== undefined ? new Uint8Array(readFileSync(config.kernel)) : new Uint8Array([0xfa, 0xf4]));
        buildLab(d, code);
      }
      this.setupDevices(d);
      this.writeXenstoreTree(d);
      attachConfiguredDisks(this.host, d); // disk = [...]: blkback devices, before the guest first runs
    } catch (e) {
      this.destroy(d, true);
      throw e;
    }
    this.host.log(`d${id}: created ${config.type} domain "${config.name}" (${config.memory} MiB, ${config.vcpus} vCPUs)`);
    if (opts.paused) d.pauseCount = 1;
    // vCPU0 is runnable (queued unless paused); APs stay offline until VCPUOP_up.
    d.vcpus[0]!.setRunstate("runnable", this.host.now);
    for (let i = 1; i < d.vcpus.length; i++) d.vcpus[i]!.setRunstate("offline", this.host.now);
    if (!d.paused) this.host.makeRunnable(d.vcpus[0]!, false);
    this.host.xenstore.fire("@introduceDomain", false);
    return d;
  }

  /** Creates a lab domain around machine code (see builder.ts LAB for the layout). */
  createLab(name: string, code: Uint8Array, opts: { memoryMiB?: number; vcpus?: number; paused?: boolean; extra?: string; allVcpusUp?: boolean; privileged?: boolean } = {}): Domain {
    const cfg = `name = "${name}"\ntype = "lab"\nmemory = ${opts.memoryMiB ?? 16}\nvcpus = ${opts.vcpus ?? 1}\n${opts.extra ?? ""}`;
    const d = this.create(cfg, { code, paused: opts.paused });
    // A privileged lab domain may issue domctl/sysctl, as a control domain (XSM dummy policy).
    d.privileged = opts.privileged ?? false;
    if (opts.allVcpusUp) {
      // Every vCPU starts at the code with its own 16 KiB stack below the BSP's and RBX = its id,
      // as if the BSP had used VCPUOP_initialise + VCPUOP_up for each.
      const v0 = d.vcpus[0]!.cpu!;
      for (const v of d.vcpus.slice(1, d.config.vcpus)) {
        v.cpu!.reset({ mode: "long64", rip: v0.getReg("rip"), rsp: LAB.stackTop - v.id * 0x4000, cr3: v0.getReg("cr3"), regs: { rdi: LAB.hypercallPage, rsi: LAB.sharedInfo, rbx: v.id } });
        v.down = false;
        v.initialised = true;
        v.setRunstate("runnable", this.host.now);
        if (!d.paused) this.host.makeRunnable(v, false);
      }
    }
    return d;
  }

  /** Store and console: pages at the special pfns, unbound ports toward dom0, reserved grants. */
  private setupDevices(d: Domain): void {
    const g = d.guest;
    g.fill(d.storeGfn * PAGE_SIZE, PAGE_SIZE, 0);
    g.fill(d.consoleGfn * PAGE_SIZE, PAGE_SIZE, 0);
    const store = d.evtchn.alloc("unbound", { remoteDom: this.host.dom0.domid, label: "xenstore" })!;
    const cons = d.evtchn.alloc("unbound", { remoteDom: this.host.dom0.domid, label: "console" })!;
    d.storePort = store.port;
    d.consolePort = cons.port;
    if (d.startInfoPfn !== undefined) {
      // A PV guest learns its ports from start_info (start_info_x86_64: store_evtchn, console.domU.evtchn).
      const si = d.startInfoPfn * PAGE_SIZE, S = LAYOUT.start_info.f;
      g.setU32(si + S.store_evtchn, store.port);
      g.setU32(si + S["console.domU.evtchn"], cons.port);
    } else {
      d.hvmParams[HVM_PARAM.STORE_PFN] = BigInt(d.storeGfn);
      d.hvmParams[HVM_PARAM.STORE_EVTCHN] = BigInt(store.port);
      d.hvmParams[HVM_PARAM.CONSOLE_PFN] = BigInt(d.consoleGfn);
      d.hvmParams[HVM_PARAM.CONSOLE_EVTCHN] = BigInt(cons.port);
    }
    // Grant table v1 with the reserved entries for the console and xenstore backends
    // (xg_dom_core.c xc_dom_gnttab_seed: the frames are guest frames, machine frames for a PV guest).
    d.gnttab.grow(1);
    d.gnttab.setEntry(GNTTAB_RESERVED_CONSOLE, this.host.dom0.domid, this.ringRef(d, d.consoleGfn), GTF_permit_access);
    d.gnttab.setEntry(GNTTAB_RESERVED_XENSTORE, this.host.dom0.domid, this.ringRef(d, d.storeGfn), GTF_permit_access);
    // dom0's ends: xenstored (after XS_INTRODUCE) and xenconsoled, served by the host.
    this.host.xenstored.introduce(d, store.port);
    this.host.xenconsoled.attach(d, cons.port);
  }

  /**
   * A ring page as the guest names it: its gfn, or for a PV guest (no translation) the machine
   * frame, as libxl writes store/ring-ref and xc_dom_gnttab_seed fills the reserved grants.
   */
  private ringRef(d: Domain, g: Gfn): Gfn {
    return d.kind === "pv" ? gfn(d.guest.mfnOf(g)!) : g;
  }

  /** The XenStore tree libxl writes for a new domain (libxl_create.c, libxl_dom.c, libxl_console.c). */
  private writeXenstoreTree(d: Domain): void {
    const xs = this.host.xenstore, id = d.domid, p = `/local/domain/${id}`, c = d.config;
    xs.mkdirs(p, 0);
    xs.setPerms(p, [{ perm: "n", id: 0 }, { perm: "r", id }]);
    const vm = `/vm/${d.uuid}`;
    xs.write(`${vm}/uuid`, d.uuid);
    xs.write(`${vm}/name`, d.name);
    xs.write(`${vm}/start_time`, (this.host.now / 1e9).toFixed(2));
    xs.write(`${p}/vm`, vm);
    xs.write(`${p}/name`, d.name);
    xs.write(`${p}/domid`, String(id));
    writeGuestDirectories(xs, p, id);
    for (const f of ["feature-poweroff", "feature-reboot", "feature-suspend"]) xs.write(`${p}/control/${f}`, "");
    xs.write(`${p}/memory/static-max`, String(c.maxmem * 1024));
    xs.write(`${p}/memory/target`, String(c.memory * 1024));
    xs.write(`${p}/memory/videoram`, "-1");
    for (let i = 0; i < c.maxvcpus; i++) xs.write(`${p}/cpu/${i}/availability`, i < c.vcpus ? "online" : "offline");
    xs.write(`${p}/store/port`, String(d.storePort));
    xs.write(`${p}/store/ring-ref`, String(this.ringRef(d, d.storeGfn)));
    const cp = `${p}/console`;
    xs.write(`${cp}/backend`, `/local/domain/0/backend/console/${id}/0`);
    xs.write(`${cp}/backend-id`, "0");
    xs.write(`${cp}/limit`, "1048576");
    xs.write(`${cp}/type`, "xenconsoled");
    xs.write(`${cp}/output`, "pty");
    xs.write(`${cp}/tty`, `/dev/pts/${id}`);
    xs.write(`${cp}/port`, String(d.consolePort));
    xs.write(`${cp}/ring-ref`, String(this.ringRef(d, d.consoleGfn)));
    xs.write(`/libxl/${id}/type`, c.type);
    xs.write(`/libxl/${id}/dm-version`, "qemu_xen");
  }

  /** `xl destroy`: the hypervisor kills the domain (domain_kill), then libxl removes its XenStore tree. */
  destroy(d: Domain, quiet = false): void {
    if (d.domid === 0) throw new XenError("EINVAL", "cannot destroy Domain-0");
    this.host.killDomain(d);
    // Its watches go first: removing its nodes would otherwise fire them into its freed ring page.
    this.host.xenstore.removeWatchesOf(d.domid);
    try { this.host.xenstore.rm(`/local/domain/${d.domid}`); } catch { /* already gone */ }
    try { this.host.xenstore.rm(`/vm/${d.uuid}`); } catch { /* already gone */ }
    try { this.host.xenstore.rm(`/libxl/${d.domid}`); } catch { /* already gone */ }
    this.host.xenstore.fire("@releaseDomain", false);
    if (!quiet) this.host.log(`d${d.domid}: destroyed`);
  }

  /** Asks the guest to shut down through XenStore control/shutdown (what `xl shutdown` does). */
  requestShutdown(d: Domain, reason: "poweroff" | "reboot" = "poweroff"): void {
    this.host.xenstore.write(`/local/domain/${d.domid}/control/shutdown`, reason);
  }

  /** The hypervisor reports a domain shut down (VIRQ_DOM_EXC): xl acts on it between quanta. */
  noticeShutdown(d: Domain): void {
    this.pendingShutdowns.push(d);
  }

  /** xl's reaction to a shut-down domain (xl_vmcontrol.c handle_domain_death). */
  applyShutdownActions(): void {
    while (this.pendingShutdowns.length) {
      const d = this.pendingShutdowns.shift()!;
      if (!this.host.domains.has(d.domid)) continue;
      const r = d.shutdownReason!;
      const action = r === "poweroff" ? d.config.onPoweroff : r === "reboot" ? d.config.onReboot : r === "crash" ? d.config.onCrash : r === "watchdog" ? d.config.onWatchdog : "preserve";
      const msg = `Domain ${d.domid} has shut down, reason code ${d.shutdownCode} 0x${d.shutdownCode.toString(16)}`;
      this.log.push(msg);
      if (r === "suspend") continue;
      this.log.push(`Action for shutdown reason code ${d.shutdownCode} is ${action}`);
      if (action === "destroy" || action === "coredump-destroy") {
        this.log.push(`Domain ${d.domid} needs to be cleaned up: destroying the domain`);
        this.destroy(d);
      } else if (action === "restart" || action === "rename-restart" || action === "coredump-restart") {
        this.log.push(`Domain ${d.domid} needs to be cleaned up: destroying the domain`);
        const { config, kernelImage, name, uuid } = d;
        this.destroy(d);
        const nc = { ...config, name: action === "rename-restart" ? `${name}--incoming` : name };
        const nd = this.create(nc, { kernel: kernelImage, code: kernelImage, uuid });
        this.log.push(`Done. Rebooting now (domain ${nd.domid})`);
      }
    }
  }
}
