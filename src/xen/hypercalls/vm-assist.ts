/**
 * HYPERVISOR_vm_assist(cmd, type) (common/kernel.c do_vm_assist): an HVM/PVH guest may enable
 * only VMASST_TYPE_runstate_update_flag (arch-x86 HVM_VM_ASSIST_MASK); other types are -EINVAL.
 */
import { VMASST_CMD_disable, VMASST_CMD_enable, VMASST_TYPE_runstate_update_flag } from "../abi";
import { Handler, err, num } from "./context";

export const vmAssist: Handler = (c, a) => {
  const cmd = num(a[0]!), type = num(a[1]!);
  if (type !== VMASST_TYPE_runstate_update_flag) return err("EINVAL");
  if (cmd === VMASST_CMD_enable) c.dom.runstateUpdateFlag = true;
  else if (cmd === VMASST_CMD_disable) c.dom.runstateUpdateFlag = false;
  else return err("ENOSYS");
  return 0;
};
