/** HYPERVISOR_hvm_op set_param/get_param (arch/x86/hvm/hvm.c; public hvm/hvm_op.h, hvm/params.h). */
import { HVMOP_get_param, HVMOP_set_evtchn_upcall_vector, HVMOP_set_param, HVM_NR_PARAMS, HVM_PARAM, LAYOUT } from "../abi";
import { vector as toVector } from "../../abi/x86";
import { Handler, err, num, domainArg } from "./context";

const F = LAYOUT.xen_hvm_param.f;
/** Params a guest may set on itself (hvm.c hvm_allow_set_param); the rest are toolstack-only. */
export const GUEST_SETTABLE_PARAMS = new Set<number>([HVM_PARAM.CALLBACK_IRQ, HVM_PARAM.TIMER_MODE]);
/** Params a guest may read (hvm_allow_get_param). */
export const GUEST_READABLE_PARAMS = new Set<number>([HVM_PARAM.CALLBACK_IRQ, HVM_PARAM.STORE_PFN, HVM_PARAM.STORE_EVTCHN, HVM_PARAM.CONSOLE_PFN, HVM_PARAM.CONSOLE_EVTCHN, HVM_PARAM.PAE_ENABLED, HVM_PARAM.TIMER_MODE]);

/** hvm.c hvmop_set_evtchn_upcall_vector: "if ( op.vector < 0x10 ) return -EINVAL". */
const MIN_UPCALL_VECTOR = 0x10;

export const hvmOp: Handler = (c, a) => {
  const op = num(a[0]!), arg = num(a[1]!);
  if (op === HVMOP_set_evtchn_upcall_vector) {
    // hvm.c hvmop_set_evtchn_upcall_vector refuses the exceptions' low vectors.
    const U = LAYOUT.xen_hvm_evtchn_upcall_vector.f;
    const vcpu = c.dom.vcpus[c.mem.u32(arg + U.vcpu)], vector = c.mem.u8(arg + U.vector);
    if (!vcpu) return err("ENOENT");
    if (vector < MIN_UPCALL_VECTOR) return err("EINVAL");
    vcpu.upcallVector = toVector(vector);
    // Already pending: assert it now, as hvmop_set_evtchn_upcall_vector does.
    if (vcpu.cpu && c.dom.sharedInfo.hasVcpuInfo(vcpu.id) && c.dom.sharedInfo.upcallPending(vcpu.id)) c.host.lapic.setIrq(vcpu.platform, vcpu.upcallVector);
    return 0;
  }
  if (op !== HVMOP_set_param && op !== HVMOP_get_param) return err("ENOSYS");
  const d = domainArg(c, c.mem.u16(arg + F.domid));
  if (!d) return err("ESRCH");
  const index = c.mem.u32(arg + F.index);
  if (index >= HVM_NR_PARAMS) return err("EINVAL");
  const self = d === c.dom && c.dom.domid !== 0;
  if (d !== c.dom && c.dom.domid !== 0) return err("EPERM");
  if (op === HVMOP_get_param) {
    if (self && !GUEST_READABLE_PARAMS.has(index)) return err("EPERM");
    c.mem.setU64(arg + F.value, d.hvmParams[index]!);
    return 0;
  }
  if (self && !GUEST_SETTABLE_PARAMS.has(index)) return err("EPERM");
  d.hvmParams[index] = c.mem.u64(arg + F.value);
  return 0;
};
