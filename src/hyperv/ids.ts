/**
 * Hyper-V's own name spaces, branded so that a partition id, a connection id and a port id cannot
 * be passed for one another (or for a Xen domid, which the adapter derives from a partition id).
 * TLFS §2.4 (data types): HV_PARTITION_ID is a UINT64 the hypervisor assigns at
 * HvCreatePartition; HV_CONNECTION_ID is a UINT32 whose low 24 bits are the id (the upper 8 are
 * reserved), named by HvPostMessage / HvSignalEvent and created by HvConnectPort.
 */
export type PartitionId = number & { readonly __brand: "PartitionId" };
export type ConnectionId = number & { readonly __brand: "ConnectionId" };

export function partitionId(n: number): PartitionId {
  if (!(Number.isSafeInteger(n) && n >= 0)) throw new RangeError(`partition id ${n} is not an HV_PARTITION_ID (an unsigned integer)`);
  return n as PartitionId;
}

/**
 * An HV_CONNECTION_ID as the guest passes it (the whole UINT32: the host's table is keyed by it,
 * so reserved bits a guest sets name no connection rather than being dropped).
 */
export function connectionId(n: number): ConnectionId {
  if (!(Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff)) throw new RangeError(`connection id ${n} is not an HV_CONNECTION_ID (UINT32)`);
  return n as ConnectionId;
}
