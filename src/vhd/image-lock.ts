import { closeSync, openSync, readFileSync, readdirSync, statSync } from "node:fs";
import { BlockFile, FileHost } from "./block-file";
import { VhdUsageError } from "./errors";
import { runFdHelper } from "./fd-helper";

/**
 * Image locking as qemu does it (block/file-posix.c raw_apply_lock_bytes/raw_check_lock_bytes),
 * so a second writer is refused whether it is qemu or us: open file description (OFD) read locks
 * on single bytes, byte RAW_LOCK_PERM_BASE (100) + bit for each permission held, byte
 * RAW_LOCK_SHARED_BASE (200) + bit for each permission NOT shared with others. Opening tests,
 * with F_OFD_GETLK, 200 + bit for each permission wanted and 100 + bit for each one not shared.
 *
 * Node has no fcntl, so a short python3 child takes the locks on our own descriptor, passed to it
 * as fd 3: an OFD lock belongs to the open file description, not the process, so it stays held
 * after the child exits, until our descriptor is closed (or we die), exactly like qemu's.
 */

/** include/block/block-common.h BLK_PERM_* bits (qemu 7.2) and qemu's names for them in its errors. */
const PERM = { consistentRead: 0, write: 1, writeUnchanged: 2, resize: 3 } as const;
const PERM_NAME = ["consistent read", "write", "write unchanged", "resize"];
const PERM_BASE = 100; // block/file-posix.c RAW_LOCK_PERM_BASE
const SHARED_BASE = 200; // block/file-posix.c RAW_LOCK_SHARED_BASE

/**
 * What an open asks for, as qemu-io/qemu-img hold it on a vpc image (read from /proc/locks while
 * they run): a writer holds consistent read, write and resize and shares neither write nor
 * resize; a reader holds consistent read and shares neither; -U (force-share) shares everything.
 */
export type LockRole = "write" | "read" | "force-share";

function permsOf(role: LockRole): { held: number[]; unshared: number[] } {
  if (role === "write") return { held: [PERM.consistentRead, PERM.write, PERM.resize], unshared: [PERM.write, PERM.resize] };
  if (role === "read") return { held: [PERM.consistentRead], unshared: [PERM.write, PERM.resize] };
  return { held: [PERM.consistentRead], unshared: [] };
}

/** A lock refused: names the permission, as qemu does, and the process holding the image. */
export class VhdLockError extends VhdUsageError {
  constructor(
    readonly path: string,
    readonly permission: string,
    readonly shared: boolean,
    readonly holders: string[],
  ) {
    super(
      `Failed to get ${shared ? "shared " : ""}"${permission}" lock on ${path}: ${holders.length ? `held by ${holders.join(", ")}` : "held by another process"}\n` +
        `Is another process using the image [${path}]? (readers can pass -U / --force-share)`,
    );
    this.name = "VhdLockError";
  }
}

// struct flock on Linux x86-64/arm64: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid (32 bytes)
const HELPER = `
import fcntl, struct, sys, json
def lk(t, b): return struct.pack("hhqqi4x", t, 0, b, 1, 0)
out = []
for spec in json.loads(sys.argv[1]):
    fd = spec["fd"]; r = {"fd": fd}
    try:
        for b in spec["lock"]: fcntl.fcntl(fd, fcntl.F_OFD_SETLK, lk(fcntl.F_RDLCK, b))
        for b in spec["test"]:
            t = struct.unpack("hhqqi4x", fcntl.fcntl(fd, fcntl.F_OFD_GETLK, lk(fcntl.F_WRLCK, b)))[0]
            if t != fcntl.F_UNLCK: r["conflict"] = b; break
    except BlockingIOError:
        r["conflict"] = b
    except OSError as e:
        r["error"] = "byte %d: %s" % (b, e)
    out.append(r)
print(json.dumps(out))
`;

export interface LockRequest {
  fd: number;
  path: string;
  role: LockRole;
}

/**
 * Takes qemu's locks for each request (one child for all of them). Throws VhdLockError on the first
 * conflict (the caller closes its descriptors, which releases what was taken). Returns a reason
 * string instead if locking cannot be done on this host (no python3): the caller warns.
 */
export function lockImages(requests: LockRequest[]): string | undefined {
  if (requests.length === 0) return undefined;
  const specs = requests.map((r, i) => {
    const p = permsOf(r.role);
    return {
      fd: 3 + i,
      lock: [...p.held.map((b) => PERM_BASE + b), ...p.unshared.map((b) => SHARED_BASE + b)],
      test: [...p.held.map((b) => SHARED_BASE + b), ...p.unshared.map((b) => PERM_BASE + b)],
    };
  });
  const r = runFdHelper("image locking (fcntl F_OFD_SETLK)", HELPER, requests.map((q) => q.fd), JSON.stringify(specs));
  if (!r.ok) return r.reason;
  const results = JSON.parse(r.stdout) as Array<{ fd: number; conflict?: number; error?: string }>;
  results.forEach((res, i) => {
    const q = requests[i]!;
    if (res.error) throw new VhdUsageError(`${q.path}: could not take its image lock (${res.error})`);
    if (res.conflict === undefined) return;
    const shared = res.conflict < SHARED_BASE; // we tested another's hold of a permission we do not share
    const bit = shared ? res.conflict - PERM_BASE : res.conflict - SHARED_BASE;
    throw new VhdLockError(q.path, PERM_NAME[bit] ?? `bit ${bit}`, shared, lockHolders(q.path, res.conflict));
  });
  return undefined;
}

/**
 * The processes with a lock on `byte` of `path`: every /proc/PID/fd entry for the same inode whose
 * fdinfo lists a lock covering it (OFD locks carry no pid; /proc/locks shows -1 for them).
 */
export function lockHolders(path: string, byte: number): string[] {
  let target;
  try {
    target = statSync(path);
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      try {
        const s = statSync(`/proc/${pid}/fd/${fd}`);
        if (s.ino !== target.ino || s.dev !== target.dev) continue;
        const locks = readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8")
          .split("\n")
          .filter((l) => l.startsWith("lock:"));
        const covers = locks.some((l) => {
          const m = /(\d+)\s+(\d+|EOF)\s*$/.exec(l);
          return m !== null && Number(m[1]) <= byte && (m[2] === "EOF" || byte <= Number(m[2]));
        });
        if (!covers) continue;
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
        const who = Number(pid) === process.pid ? "this process" : `pid ${pid}`;
        found.push(`${who} (${cmd.length > 120 ? `${cmd.slice(0, 117)}...` : cmd})`);
        break;
      } catch {
        // the fd closed while we looked
      }
    }
  }
  return found;
}

export interface LockingOptions {
  /** -U / --force-share: readers share every permission (files written are locked as ever). */
  forceShare?: boolean;
  /** Told once when locks cannot be taken on this host; the open goes on unlocked. */
  onUnavailable?: (reason: string) => void;
}

/** Locks a just-opened file (closing it if refused); files without a descriptor (memory) are not locked. */
export function lockOpened(file: BlockFile, role: LockRole, o: LockingOptions): BlockFile {
  if (file.descriptor === undefined) return file;
  try {
    const why = lockImages([{ fd: file.descriptor, path: file.name, role }]);
    if (why) o.onUnavailable?.(why);
  } catch (e) {
    file.close();
    throw e;
  }
  return file;
}

/** The role of an open: -U (force-share) is for what is only read (qemu-img convert -U: the sources); a file written always takes a writer's locks. */
export function roleFor(writable: boolean, o: LockingOptions): LockRole {
  if (writable) return "write";
  return o.forceShare ? "force-share" : "read";
}

/**
 * Before a file is created over (truncated), as qemu's raw_co_create takes its locks first: if
 * `path` exists, hold a writer's locks on it through a read-only descriptor until the returned
 * release is called (after the truncation), so an image in use is refused, never emptied.
 */
export function guardExisting(path: string, o: LockingOptions): () => void {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return () => {}; // nothing there to protect
  }
  try {
    const why = lockImages([{ fd, path, role: "write" }]);
    if (why) o.onUnavailable?.(why);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let held = true;
  return () => {
    if (held) closeSync(fd); // once: the number may be reused by the next open
    held = false;
  };
}

/** A FileHost whose opens take qemu's image locks (every CLI verb's files). */
export function lockingHost(inner: FileHost, o: LockingOptions = {}): FileHost {
  return {
    exists: (path) => inner.exists(path),
    canonical: (path) => inner.canonical(path),
    rename: (from, to) => inner.rename(from, to),
    remove: (path) => inner.remove(path),
    open: (path, writable) => lockOpened(inner.open(path, writable), roleFor(writable, o), o),
    create: (path) => {
      const release = guardExisting(path, o);
      let file: BlockFile;
      try {
        file = inner.create(path);
      } finally {
        release();
      }
      return lockOpened(file, "write", o);
    },
  };
}
