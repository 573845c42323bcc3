/**
 * GUIDs as stored by GPT: the first three fields little-endian, the last two as bytes
 * (UEFI spec appendix A, "EFI_GUID").
 */
export type Guid = string & { readonly __brand: "Guid" };

export function readGuid(b: Uint8Array, off: number): Guid {
  const hex = (i: number) => (b[off + i] ?? 0).toString(16).padStart(2, "0");
  const le = (idx: number[]) => idx.map(hex).join("");
  return [le([3, 2, 1, 0]), le([5, 4]), le([7, 6]), le([8, 9]), le([10, 11, 12, 13, 14, 15])]
    .join("-")
    .toUpperCase() as Guid;
}

export const ZERO_GUID = "00000000-0000-0000-0000-000000000000" as Guid;

/**
 * Partition type GUIDs with names, from the UEFI spec (EFI System), Microsoft's
 * "PARTITION_INFORMATION_GPT" docs and the Discoverable Partitions Specification (Linux);
 * the names follow util-linux's sfdisk/fdisk type list.
 */
export const GPT_TYPE_NAMES: Readonly<Record<string, string>> = {
  "C12A7328-F81F-11D2-BA4B-00A0C93EC93B": "EFI System",
  "024DEE41-33E7-11D3-9D69-0008C781F39F": "MBR partition scheme",
  "21686148-6449-6E6F-744E-656564454649": "BIOS boot",
  "E3C9E316-0B5C-4DB8-817D-F92DF00215AE": "Microsoft reserved",
  "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7": "Microsoft basic data",
  "5808C8AA-7E8F-42E0-85D2-E1E90434CFB3": "Microsoft LDM metadata",
  "AF9B60A0-1431-4F62-BC68-3311714A69AD": "Microsoft LDM data",
  "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC": "Windows recovery environment",
  "0FC63DAF-8483-4772-8E79-3D69D8477DE4": "Linux filesystem",
  "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F": "Linux swap",
  "E6D6D379-F507-44C2-A23C-238F2A3DF928": "Linux LVM",
  "A19D880F-05FC-4D3B-A006-743F0F84911E": "Linux RAID",
  "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709": "Linux root (x86-64)",
  "44479540-F297-41B2-9AF7-D131D5F0458A": "Linux root (x86)",
  "933AC7E1-2EB4-4F13-B844-0E14E2AEF915": "Linux home",
  "BC13C2FF-59E6-4262-A352-B275FD6F7172": "Linux extended boot",
  "8DA63339-0007-60C0-C436-083AC8230908": "Linux reserved",
  "48465300-0000-11AA-AA11-00306543ECAC": "Apple HFS/HFS+",
  "516E7CB4-6ECF-11D6-8FF8-00022D09712B": "FreeBSD data",
};

export function gptTypeName(type: Guid): string {
  return GPT_TYPE_NAMES[type] ?? "unknown";
}
