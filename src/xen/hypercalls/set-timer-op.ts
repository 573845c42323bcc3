/** HYPERVISOR_set_timer_op(u64 abs_ns): one-shot timer raising VIRQ_TIMER; 0 cancels (common/domain.c). */
import { Handler } from "./context";

export const setTimerOp: Handler = (c, a) => {
  const t = BigInt.asUintN(64, a[0]!);
  if (t === 0n) c.v.singleshot = undefined;
  else c.v.singleshot = Math.max(Number(t), c.host.now);
  return 0;
};
