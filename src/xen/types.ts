/**
 * Branded numbers for Xen's own name spaces, beside the machine's Gfn/Mfn/DomId, so a port can
 * never be passed where a grant reference is expected (public/event_channel.h evtchn_port_t,
 * public/grant_table.h grant_ref_t and grant_handle_t).
 */

/** An event-channel port (evtchn_port_t, public/event_channel.h). */
export type Port = number & { readonly __brand: "Port" };
/** A grant reference: an index into the granting domain's table (grant_ref_t, public/grant_table.h). */
export type GrantRef = number & { readonly __brand: "GrantRef" };
/** A handle for a mapping the mapper holds (grant_handle_t, public/grant_table.h). */
export type GrantHandle = number & { readonly __brand: "GrantHandle" };
/** A VIRQ number (public/xen.h VIRQ_*). */
export type Virq = number & { readonly __brand: "Virq" };

/**
 * evtchn_port_t, grant_ref_t and grant_handle_t are uint32_t in the public headers: a number
 * outside that range (a fraction, a negative, NaN) is nobody's port or reference. Whether it names
 * a port or entry that exists is for the table to say (EventChannelTable.valid, GrantTable.check).
 */
function uint32(what: string, n: number): number {
  if (!(Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff)) throw new RangeError(`${what} ${n} is not a uint32 (public headers: ${what} is uint32_t)`);
  return n;
}

export const port = (n: number): Port => uint32("evtchn_port_t", n) as Port;
export const grantRef = (n: number): GrantRef => uint32("grant_ref_t", n) as GrantRef;
export const grantHandle = (n: number): GrantHandle => uint32("grant_handle_t", n) as GrantHandle;
export const virq = (n: number): Virq => n as Virq;
