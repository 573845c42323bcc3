// The TLFS numbers live in src/abi (Xen's viridian implements the same interface, and neither
// hypervisor model should import the other's internals for a public ABI).
export * from "../abi/hyperv-tlfs";
