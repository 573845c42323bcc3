import { basename, dirname, isAbsolute, join, posix, relative } from "node:path";
import { BlockFile, readAt } from "./block-file";
import { PLATFORM } from "./constants";
import { DynamicHeader } from "./dynamic-header";
import { decodeLocatorPath, platformName } from "./parent-locator";

export interface ParentCandidate {
  /** Where the name came from: "W2ru", "W2ku", "MacX", "header parent name"... */
  source: string;
  /** The name as stored. */
  stored: string;
  /** The host path we would open. */
  path: string;
}

/** Turns a stored Windows/POSIX/URL path into a host path relative to the child's directory. */
function hostPath(stored: string, childDir: string): string {
  const s = stored.replace(/\\/g, "/");
  if (/^[A-Za-z]:\//.test(s)) return join(childDir, posix.basename(s)); // a Windows absolute path
  if (isAbsolute(s)) return s;
  return join(childDir, s);
}

/**
 * Every place the parent might be, in the order we try them: the relative locators first (they
 * survive moving a chain as a whole, simh/simh#352), then absolute ones, then the header's parent
 * name looked up beside the child (what libvhdi's vhdimount does).
 */
export function parentCandidates(childPath: string, file: BlockFile, h: DynamicHeader): ParentCandidate[] {
  const dir = dirname(childPath);
  const out: ParentCandidate[] = [];
  const order = [PLATFORM.W2ru, PLATFORM.Wi2r, PLATFORM.MacX, PLATFORM.W2ku, PLATFORM.Wi2k];
  for (const code of order) {
    for (const l of h.parentLocators) {
      if (l.platformCode !== code || l.platformDataLength === 0 || l.platformDataLength > 65536) continue;
      if (l.platformDataOffset + l.platformDataLength > file.size()) continue;
      const stored = decodeLocatorPath(code, readAt(file, l.platformDataOffset, l.platformDataLength));
      if (!stored) continue;
      out.push({ source: platformName(code), stored, path: hostPath(stored, dir) });
    }
  }
  if (h.parentUnicodeName) {
    const name = h.parentUnicodeName.replace(/\\/g, "/");
    out.push({ source: "header parent name", stored: h.parentUnicodeName, path: join(dir, posix.basename(name)) });
  }
  return out;
}

/** The locator strings XenLab writes for a parent: absolute (W2ku), Windows-relative (W2ru), MacX URL. */
export function locatorPaths(childPath: string, parentPath: string, canonicalParent: string): { W2ku: string; W2ru: string; MacX: string; name: string } {
  let rel = relative(dirname(childPath), parentPath) || basename(parentPath);
  if (!rel.startsWith(".")) rel = `./${rel}`;
  return {
    W2ku: canonicalParent,
    W2ru: rel.replace(/\//g, "\\"),
    MacX: rel,
    name: basename(parentPath),
  };
}
