/**
 * Errors from partition tables and filesystems. Every failure is an `FsError` with a POSIX-like
 * code, the path it concerns (when there is one) and, for corrupt structures, the on-disk field
 * and byte offset, so a notebook can tell "no such file" from "the inode table points outside the
 * disk" without parsing messages.
 */

export type FsErrorCode =
  | "ENOENT" // no such file or directory
  | "ENOTDIR" // a path component is not a directory
  | "EISDIR" // a file operation on a directory
  | "EEXIST" // the name is taken
  | "ENOTEMPTY" // removing a directory that still has entries
  | "EROFS" // the filesystem (or device) is read-only
  | "ENOSPC" // no free cluster / directory slot
  | "EFBIG" // a file too large to read into memory
  | "EINVAL" // a bad name or argument
  | "ELOOP" // too many symbolic links
  | "ECORRUPT" // an on-disk structure is inconsistent
  | "EUNSUPPORTED" // a valid structure we do not implement (e.g. ext4 encryption)
  | "ENOFS"; // no filesystem / partition table recognised

export interface FsErrorDetails {
  path?: string;
  /** The on-disk structure and field, e.g. "gpt.header.crc32" or "ext4 inode 12 i_block". */
  field?: string;
  /** Byte offset on the device (or partition) where the bad field lives. */
  offset?: number;
}

export class FsError extends Error {
  readonly code: FsErrorCode;
  readonly path?: string;
  readonly field?: string;
  readonly offset?: number;

  constructor(code: FsErrorCode, message: string, details: FsErrorDetails = {}) {
    const where = [
      details.path !== undefined ? `path ${details.path}` : "",
      details.field !== undefined ? `field ${details.field}` : "",
      details.offset !== undefined ? `offset ${details.offset}` : "",
    ].filter(Boolean);
    super(`${code}: ${message}${where.length ? ` (${where.join(", ")})` : ""}`);
    this.name = "FsError";
    this.code = code;
    if (details.path !== undefined) this.path = details.path;
    if (details.field !== undefined) this.field = details.field;
    if (details.offset !== undefined) this.offset = details.offset;
  }
}

/** Shorthand for the most common error: a structure that does not make sense. */
export function corrupt(message: string, field: string, offset?: number, path?: string): FsError {
  return new FsError("ECORRUPT", message, { field, offset, path });
}
