/** HYPERVISOR_vcpu_op (common/domain.c do_vcpu_op, arch/x86/domain.c; public vcpu.h, hvm/hvm_vcpu.h). */
import { ETIME, LAYOUT, VCPUOP, VCPU_SSHOTTMR_future } from "../abi";
import { Handler, err, num } from "./context";
import { gfn } from "../../machine";

const HC = LAYOUT.vcpu_hvm_context.f;
const VCPU_HVM_MODE_64B = 1;

export const vcpuOp: Handler = (c, a) => {
  const cmd = num(a[0]!), id = num(a[1]!), arg = num(a[2]!);
  const { host, dom, mem } = c;
  const v = dom.vcpus[id];
  if (!v) return err("ENOENT");
  switch (cmd) {
    case VCPUOP.initialise: {
      if (v.online) return err("EEXIST");
      const mode = mem.u32(arg + HC.mode);
      if (mode !== VCPU_HVM_MODE_64B) return err("EOPNOTSUPP"); // 32-bit AP start not modelled
      const r = (f: keyof typeof HC) => mem.u64(arg + HC[f]);
      v.cpu!.reset({ mode: "long64", rip: r("cpu_regs.x86_64.rip"), rsp: r("cpu_regs.x86_64.rsp"), cr3: r("cpu_regs.x86_64.cr3"),
        regs: { rax: r("cpu_regs.x86_64.rax"), rsi: r("cpu_regs.x86_64.rsi"), rdi: r("cpu_regs.x86_64.rdi") } });
      v.initialised = true;
      return 0;
    }
    case VCPUOP.up: {
      if (!v.initialised && v.id !== 0) return err("EINVAL");
      if (v.online) return 0;
      v.down = false;
      v.setRunstate("runnable", host.now);
      host.makeRunnable(v, false);
      host.xenstore.write(`/local/domain/${dom.domid}/cpu/${v.id}/availability`, "online");
      return 0;
    }
    case VCPUOP.down: {
      if (!v.online) return 0;
      host.sched.remove(v);
      v.down = true;
      v.setRunstate("offline", host.now);
      return 0;
    }
    case VCPUOP.is_up: return v.online ? 1 : 0;
    case VCPUOP.get_runstate_info: {
      mem.write(arg, v.runstateInfo(host.now));
      return 0;
    }
    case VCPUOP.register_runstate_memory_area: {
      // The argument holds a guest-virtual address (a handle); Xen keeps it and copies the
      // runstate there now and at every change (common/domain.c). 0 unregisters.
      const va = mem.u64(arg);
      v.runstateGva = va === 0n ? undefined : va;
      if (v.runstateGva !== undefined) v.updateRunstateArea(host.now);
      return 0;
    }
    case VCPUOP.set_periodic_timer: {
      const period = Number(mem.u64(arg));
      if (period < 1_000_000) return err("EINVAL"); // Xen: at least 1 ms
      v.periodicNs = period;
      v.periodicNext = host.now + period;
      return 0;
    }
    case VCPUOP.stop_periodic_timer: v.periodicNs = 0; v.periodicNext = undefined; return 0;
    case VCPUOP.set_singleshot_timer: {
      if (v !== c.v) return err("EINVAL");
      const t = Number(mem.u64(arg + LAYOUT.vcpu_set_singleshot_timer.f.timeout_abs_ns)), flags = mem.u32(arg + LAYOUT.vcpu_set_singleshot_timer.f.flags);
      if ((flags & VCPU_SSHOTTMR_future) && t < host.now) return -ETIME;
      v.singleshot = Math.max(t, host.now);
      return 0;
    }
    case VCPUOP.stop_singleshot_timer: if (v !== c.v) return err("EINVAL"); v.singleshot = undefined; return 0;
    case VCPUOP.register_vcpu_info: {
      // For translated guests `mfn` is a guest frame (arch/x86/domain.c map_vcpu_info).
      const RV = LAYOUT.vcpu_register_vcpu_info.f;
      const g = Number(mem.u64(arg + RV.mfn)), offset = mem.u32(arg + RV.offset);
      if (offset > 4096 - LAYOUT.vcpu_info.size) return err("EINVAL");
      if (dom.sharedInfo.isRelocated(v.id)) return err("EINVAL");
      const e = host.machine.p2m(dom.domid).lookup(gfn(g));
      if (!e || !e.writable) return err("EINVAL");
      dom.sharedInfo.relocate(v.id, host.machine.memory.view(e.mfn), offset);
      v.vcpuInfoGpa = g * 4096 + offset;
      return 0;
    }
    default: return err("ENOSYS");
  }
};
