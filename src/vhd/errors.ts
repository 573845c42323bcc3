/**
 * Errors are values with names (DESIGN.md): every structural problem in a VHD file is reported as a
 * `VhdFormatError` naming the on-disk field and the byte offset in the file where it lives, so a
 * user (or `xenlab vhd check`) can point at the exact bytes.
 */
export class VhdFormatError extends Error {
  constructor(
    /** The field as the spec names it, e.g. "footer checksum", "BAT entry 17", "parent unique id". */
    readonly field: string,
    /** Absolute byte offset of the field in `file` (-1 when the problem is the file as a whole). */
    readonly offset: number,
    readonly detail: string,
    readonly file?: string,
  ) {
    super(`${file ? `${file}: ` : ""}${field} @${offset}: ${detail}`);
    this.name = "VhdFormatError";
  }
}

/** A caller asked for something the disk cannot do (write to a read-only disk, bad size...). */
export class VhdUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VhdUsageError";
  }
}
