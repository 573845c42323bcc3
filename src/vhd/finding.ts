import { VhdFormatError } from "./errors";

/**
 * One observation about a VHD file. "error" is corruption (check exit 2), "leak" is space no
 * structure references (exit 3), "warning" is a deviation from the spec that real tools accept
 * (a parent time stamp of 0 written by Windows, a future creation time...).
 */
export interface Finding {
  severity: "error" | "leak" | "warning";
  field: string;
  offset: number;
  message: string;
  file?: string;
}

export function finding(severity: Finding["severity"], field: string, offset: number, message: string): Finding {
  return { severity, field, offset, message };
}

/** Throws the first error among `findings` as a VhdFormatError. */
export function throwFirstError(findings: Finding[], file?: string): void {
  const e = findings.find((f) => f.severity === "error");
  if (e) throw new VhdFormatError(e.field, e.offset, e.message, file);
}
