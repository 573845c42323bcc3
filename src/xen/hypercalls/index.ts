/**
 * The hypercall table (xen/arch/x86/hypercall.c): reads the number and arguments with the HVM
 * ABI (64-bit: RAX; RDI, RSI, RDX, R10, R8 — 32-bit: EAX; EBX, ECX, EDX, ESI, EDI), runs the
 * handler, writes RAX, counts and traces the call. Guest memory faults become -EFAULT.
 */
import { HYPERVISOR, LAYOUT } from "../abi";
import { GuestFaultAccess, GuestMem } from "../guest-memory";
import type { XenHost } from "../host";
import type { XenVcpu } from "../xen-vcpu";
import { consoleIo } from "./console-io";
import { Handler, HcCtx, err, num } from "./context";
import { domctl, sysctl } from "./domctl";
import { eventChannelOp } from "./event-channel-op";
import { grantTableOp } from "./grant-table-op";
import { hvmOp } from "./hvm-op";
import { memoryOp } from "./memory-op";
import { mmuextOp, mmuUpdate, updateVaMapping } from "./mmu";
import { schedOp } from "./sched-op";
import { setTimerOp } from "./set-timer-op";
import { vcpuOp } from "./vcpu-op";
import { vmAssist } from "./vm-assist";
import { xenVersion } from "./xen-version";

const MC = LAYOUT.multicall_entry;

/** multicall(entries, nr): each entry {op, result, args[6]}; results written back (common/multicall.c). */
const multicall: Handler = (c, a) => {
  const list = num(a[0]!), n = num(a[1]!);
  if (n < 0 || n > 1024) return err("EINVAL");
  for (let i = 0; i < n; i++) {
    const e = list + i * MC.size;
    const op = Number(c.mem.u64(e + MC.f.op));
    const args = Array.from({ length: 5 }, (_, k) => c.mem.u64(e + MC.f.args + k * 8));
    const h = op === HYPERVISOR.multicall ? undefined : TABLE[op];
    const r = h ? call(h, c, args) : BigInt(err("ENOSYS"));
    c.dom.countHypercall(op);
    c.mem.setU64(e + MC.f.result, r);
    if (c.v.runstate !== "running") break; // blocked or shut down: stop the batch
  }
  return 0;
};

export const TABLE: Record<number, Handler> = {
  [HYPERVISOR.xen_version]: xenVersion,
  [HYPERVISOR.console_io]: consoleIo,
  [HYPERVISOR.memory_op]: memoryOp,
  [HYPERVISOR.mmu_update]: mmuUpdate,
  [HYPERVISOR.mmuext_op]: mmuextOp,
  [HYPERVISOR.update_va_mapping]: updateVaMapping,
  [HYPERVISOR.sched_op]: schedOp,
  [HYPERVISOR.event_channel_op]: eventChannelOp,
  [HYPERVISOR.grant_table_op]: grantTableOp,
  [HYPERVISOR.vcpu_op]: vcpuOp,
  [HYPERVISOR.vm_assist]: vmAssist,
  [HYPERVISOR.hvm_op]: hvmOp,
  [HYPERVISOR.set_timer_op]: setTimerOp,
  [HYPERVISOR.multicall]: multicall,
  [HYPERVISOR.domctl]: domctl,
  [HYPERVISOR.sysctl]: sysctl,
};

function call(h: Handler, c: HcCtx, args: bigint[]): bigint {
  try {
    return BigInt(h(c, args));
  } catch (e) {
    if (e instanceof GuestFaultAccess) return BigInt(err("EFAULT"));
    throw e;
  }
}

/** Handles a vmcall exit of `v`: result in RAX. */
export function dispatchHypercall(host: XenHost, v: XenVcpu): void {
  const cpu = v.cpu!;
  const long = cpu.mode === "long64";
  const nr = Number(cpu.getReg("rax") & 0xffffffffn);
  const names = long ? ["rdi", "rsi", "rdx", "r10", "r8"] : ["rbx", "rcx", "rdx", "rsi", "rdi"];
  const args = names.map((r) => (long ? cpu.getReg(r) : BigInt.asUintN(64, BigInt(Number(cpu.getReg(r) & 0xffffffffn)))));
  const h = TABLE[nr];
  const c: HcCtx = { host, dom: v.domain, v, mem: new GuestMem(cpu) };
  const result = h ? call(h, c, args) : BigInt(err("ENOSYS"));
  cpu.setReg("rax", long ? result : BigInt.asUintN(32, result));
  host.recordTrace({ t: host.now, dom: v.domain.domid, domName: v.domain.name, vcpu: v.id, nr, name: host.hypercallName(nr), args, result, ...(c.text !== undefined ? { text: c.text } : {}) });
}
