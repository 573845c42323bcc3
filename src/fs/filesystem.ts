import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BlockDevice } from "../vhd/block-device";
import { display, MimeBundle } from "../mime";
import { FsError } from "./errors";
import { childPath, joinPath, splitPath } from "./path";

export type FileType = "file" | "dir" | "symlink" | "other";

/** What `stat` and `ls` return for one name. */
export interface FileStat {
  path: string;
  name: string;
  type: FileType;
  size: number;
  /** POSIX mode bits (ext; FAT synthesises 0755/0644 and 0555/0444 for read-only). */
  mode: number;
  mtime: Date;
  /** ext: inode number; FAT: first cluster. */
  inode: number;
  nlink?: number;
  uid?: number;
  gid?: number;
  /** Symbolic link target. */
  target?: string;
  /** FAT: the 8.3 alias ("LONGFI~1.TXT"); ext: undefined. */
  shortName?: string;
  /** FAT attribute names (READONLY, HIDDEN, SYSTEM, ARCHIVE) or ext inode flags (EXTENTS, INDEX...). */
  flags?: string[];
}

export interface TreeNode {
  stat: FileStat;
  children?: TreeNode[];
}

/** A snapshot of a directory tree, bounded so a huge filesystem still renders quickly. */
export class FsTree {
  constructor(
    readonly root: TreeNode,
    readonly title: string,
    /** Entries not shown because the listing hit `maxEntries` or `maxDepth`. */
    readonly omitted: number,
  ) {}

  /** All nodes depth-first (root first). */
  *walk(): Generator<TreeNode> {
    const stack: TreeNode[] = [this.root];
    while (stack.length) {
      const n = stack.pop()!;
      yield n;
      if (n.children) for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
    }
  }

  toMimeBundle(): MimeBundle {
    return display(this);
  }
}

/** Options every filesystem opener takes. */
export interface FsOptions {
  /** The clock for timestamps of what we write (writable formats only); default the wall clock. */
  now?: () => Date;
}

export interface TreeOptions {
  /** Directory levels below `path` to descend into (default unlimited). */
  maxDepth?: number;
  /** Stop listing after this many entries (default 100000). */
  maxEntries?: number;
}

/** Files larger than this are refused by cat/readFile (a corrupt size must not exhaust memory). */
export const DEFAULT_MAX_READ = 1024 * 1024 * 1024;
/** Hops through symbolic links before ELOOP, as Linux's MAXSYMLINKS (40). */
export const MAX_SYMLINK_HOPS = 40;

/**
 * A mounted filesystem: the primitives each format implements (stat, readdir, readFile, and for
 * writable formats writeFile/mkdir/remove), and the notebook-facing verbs built on them.
 */
export abstract class FileSystem {
  abstract readonly type: string;
  abstract readonly label: string;
  abstract readonly readOnly: boolean;
  abstract readonly device: BlockDevice;
  /** Total and free bytes, for the views. */
  abstract readonly totalBytes: number;
  abstract freeBytes(): number;

  /** Things a reader should know that are not errors (an unreplayed journal, FAT copies that differ...). */
  warnings(): string[] {
    return [];
  }

  /** Describes `path` itself (a symlink is described, not followed). */
  abstract stat(path: string): FileStat;
  /** The entries of a directory, without "." and "..". */
  abstract readdir(path: string): FileStat[];
  /** The contents of a regular file (symlinks followed). */
  abstract readFile(path: string, maxBytes?: number): Uint8Array;

  /** The target of a symbolic link (EINVAL for anything else; FAT has no links). */
  readlink(path: string): string {
    const st = this.stat(path);
    if (st.type !== "symlink" || st.target === undefined) throw new FsError("EINVAL", "not a symbolic link", { path: st.path });
    return st.target;
  }

  writeFile(path: string, _data: Uint8Array, _mtime?: Date): void {
    throw this.readOnlyError(path);
  }
  mkdir(path: string, _mtime?: Date): void {
    throw this.readOnlyError(path);
  }
  remove(path: string): void {
    throw this.readOnlyError(path);
  }
  rename(from: string, _to: string): void {
    throw this.readOnlyError(from);
  }

  protected readOnlyError(path: string): FsError {
    return new FsError("EROFS", `${this.type} is mounted read-only`, { path });
  }

  /** `ls`: the entries of a directory sorted by name, or the stat of a file. */
  ls(path = "/"): FileStat[] {
    const st = this.stat(path);
    if (st.type !== "dir") return [st];
    return this.readdir(path).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  tree(path = "/", options: TreeOptions = {}): FsTree {
    const maxDepth = options.maxDepth ?? Infinity;
    const maxEntries = options.maxEntries ?? 100_000;
    let count = 0;
    let omitted = 0;
    // A directory reachable twice (a corrupt entry pointing at an ancestor) would make the walk
    // endless: every directory is visited once, by its inode (ext) or first cluster (FAT).
    const seen = new Set<number>();
    const visit = (stat: FileStat, depth: number): TreeNode => {
      if (stat.type !== "dir") return { stat };
      if (seen.has(stat.inode)) throw new FsError("ECORRUPT", `directory ${stat.path} is reached twice (a directory cycle)`, { path: stat.path, field: "directory entry" });
      seen.add(stat.inode);
      const entries = this.ls(stat.path);
      if (depth >= maxDepth || count >= maxEntries) {
        omitted += entries.length;
        return { stat, children: [] };
      }
      const children: TreeNode[] = [];
      for (const e of entries) {
        if (count >= maxEntries) {
          omitted++;
          continue;
        }
        count++;
        children.push(visit(e, depth + 1));
      }
      return { stat, children };
    };
    const root = this.stat(path);
    return new FsTree(visit(root, 0), `${this.type}${this.label ? ` "${this.label}"` : ""} ${joinPath(splitPath(path))}`, omitted);
  }

  /** `cat(path)` returns the bytes; `cat(path, "utf8")` (or any Node encoding) decodes them. */
  cat(path: string): Uint8Array;
  cat(path: string, encoding: BufferEncoding): string;
  cat(path: string, encoding?: BufferEncoding): Uint8Array | string {
    const data = this.readFile(path);
    return encoding ? Buffer.from(data.buffer, data.byteOffset, data.length).toString(encoding) : data;
  }

  /** Copies a file, or a directory recursively, out to the host filesystem. Returns files copied. */
  copyOut(path: string, hostPath: string, seen: Set<number> = new Set()): number {
    const st = this.stat(path);
    if (st.type === "file") {
      writeFileSync(hostPath, this.readFile(path));
      utimesSync(hostPath, st.mtime, st.mtime); // keep the modification time, as cp -p would
      return 1;
    }
    if (st.type === "symlink") {
      symlinkSync(st.target ?? "", hostPath);
      return 1;
    }
    if (st.type !== "dir") return 0;
    if (seen.has(st.inode)) throw new FsError("ECORRUPT", `directory ${st.path} is reached twice (a directory cycle)`, { path: st.path });
    seen.add(st.inode);
    mkdirSync(hostPath, { recursive: true });
    let n = 0;
    for (const e of this.readdir(path)) n += this.copyOut(e.path, join(hostPath, e.name), seen);
    return n;
  }

  /** Copies a host file, or a directory recursively, into the filesystem. Returns files copied. */
  copyIn(hostPath: string, path: string): number {
    if (this.readOnly) throw this.readOnlyError(path);
    const st = statSync(hostPath);
    if (st.isFile()) {
      this.writeFile(path, readFileSync(hostPath), st.mtime);
      return 1;
    }
    if (!st.isDirectory()) throw new FsError("EINVAL", `${hostPath} is neither a file nor a directory`, { path: hostPath });
    if (splitPath(path).length > 0 && !this.exists(path)) this.mkdir(path, st.mtime);
    let n = 0;
    for (const name of readdirSync(hostPath).sort()) n += this.copyIn(join(hostPath, name), childPath(joinPath(splitPath(path)), name));
    return n;
  }

  exists(path: string): boolean {
    try {
      this.stat(path);
      return true;
    } catch (e) {
      if (e instanceof FsError && (e.code === "ENOENT" || e.code === "ENOTDIR")) return false;
      throw e;
    }
  }

  toMimeBundle(): MimeBundle {
    return display(this);
  }
}
