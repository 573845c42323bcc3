/** What a hypercall handler gets: the host, the calling domain and vCPU, and guest memory. */
import { XEN_ERRNO, XenErrnoName, DOMID_SELF } from "../abi";
import type { Domain } from "../domain";
import type { XenHost } from "../host";
import { GuestMem } from "../guest-memory";
import { DomId, domId } from "../../machine";
import type { XenVcpu } from "../xen-vcpu";

export interface HcCtx {
  host: XenHost;
  dom: Domain;
  v: XenVcpu;
  mem: GuestMem;
  /** What the handler read that the trace should keep (console_io: the text written). */
  text?: string;
}

/** A handler gets the five argument registers; it returns the value for RAX (negative errno on error). */
export type Handler = (c: HcCtx, a: readonly bigint[]) => number | bigint;

export const err = (e: XenErrnoName): number => -XEN_ERRNO[e];

/** An argument as a JS number (addresses: signed, upper-half VAs negative). */
export const num = (x: bigint): number => Number(BigInt.asIntN(64, x));

/**
 * A domid_t argument (public/xen.h: uint16_t, read with mem.u16) as the domain it names: DOMID_SELF
 * is the caller. Whether a domain of that id exists is domainArg's question.
 */
export function domidArg(c: HcCtx, raw: number): DomId {
  return raw === DOMID_SELF ? c.dom.domid : domId(raw);
}

/** Resolves a domid argument (DOMID_SELF) to a domain, or undefined. */
export function domainArg(c: HcCtx, raw: number): Domain | undefined {
  return c.host.domains.get(domidArg(c, raw));
}

/** Only dom0 (the control domain) may act on other domains (XSM dummy policy). */
export function privilegedOrSelf(c: HcCtx, target: Domain): boolean {
  return target === c.dom || c.dom.domid === 0;
}
