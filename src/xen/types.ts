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

export const port = (n: number): Port => n as Port;
export const grantRef = (n: number): GrantRef => n as GrantRef;
export const grantHandle = (n: number): GrantHandle => n as GrantHandle;
export const virq = (n: number): Virq => n as Virq;
