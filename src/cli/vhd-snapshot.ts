/**
 * The verbs VHD cannot do as qemu-img does them, refused by name with the reason, and the
 * snapshot VHD does have (a differencing child, vhd-util snapshot).
 *
 * The format has no internal snapshots (VHD spec: a footer, a dynamic header, a BAT and blocks;
 * no snapshot table), so qemu-img snapshot -c/-a/-d fail on vpc and -l lists nothing; its type,
 * size rule and block size are fixed when the file is made, so qemu-img amend fails ("Format
 * driver 'vpc' does not support option amendment"). The messages keep qemu-img's words.
 */
import { VhdDisk, VhdUsageError, createDifferencing } from "../vhd";
import { Args, Verb, err, hostFor, out, VALUE_FLAGS } from "./vhd-args";

const NO_INTERNAL = "VHD has no internal snapshots (the format holds one disk: footer, header, BAT, blocks; no snapshot table)";

/** Opens FILE as qemu-img would before refusing, so a missing or broken image is named as such. */
function mustOpen(a: Args, file: string): void {
  VhdDisk.open(file, { readOnly: true, noParent: true, host: hostFor(a, "-T") }).close();
}

function differencing(parent: string, child: string): number {
  const d = createDifferencing(child, parent);
  out(`Formatting '${child}', fmt=vpc differencing size=${d.size} parent=${parent}`);
  d.close();
  return 0;
}

export const snapshotVerb: Verb = {
  usage: "snapshot PARENT CHILD | snapshot -n CHILD -p PARENT | snapshot [-l | -c NAME | -a NAME | -d NAME] FILE",
  help: `create CHILD, a differencing disk over PARENT (vhd-util snapshot; also its -n CHILD -p PARENT form), which is how VHD snapshots. qemu-img's internal-snapshot forms are answered as on vpc: -l lists none (exit 0), -c/-a/-d are refused (exit 1) because ${NO_INTERNAL}`,
  valueFlags: [...VALUE_FLAGS, "-n", "-p", "-c", "-a", "-d"],
  run(a) {
    a.onlyFlags(["-n", "-p", "-l", "-c", "-a", "-d", "-U", "--force-share"]);
    const internal = (["-c", "-a", "-d"] as const).filter((f) => a.value(f) !== undefined);
    if (a.has("-l") || internal.length) {
      if (a.has("-n", "-p") || internal.length + (a.has("-l") ? 1 : 0) > 1) throw new VhdUsageError("snapshot: give one of -l, -c, -a, -d (qemu-img) or -n/-p (vhd-util)");
      const [file] = a.operands(1);
      mustOpen(a, file!);
      if (a.has("-l")) {
        // qemu-img snapshot -l on vpc prints nothing: there is nothing to list
        err(`note: ${file}: ${NO_INTERNAL}; its snapshots are differencing children (xenlab vhd snapshot ${file} CHILD)`);
        return 0;
      }
      const flag = internal[0]!;
      const name = a.value(flag)!;
      const verb = flag === "-c" ? "create" : flag === "-a" ? "apply" : "delete";
      const qemuWhy = flag === "-c" ? "Operation not supported" : flag === "-a" ? "Block driver does not support snapshots" : "snapshot not found";
      const instead = flag === "-c" ? `; make a differencing child instead: xenlab vhd snapshot ${file} CHILD` : flag === "-a" ? "; to go back to a snapshot, open its parent (or a new child of it) instead of the child" : "; to drop a snapshot, delete its differencing child, or coalesce it into the parent";
      err(`xenlab vhd snapshot: Could not ${verb} snapshot '${name}': ${qemuWhy}: ${NO_INTERNAL}${instead}`);
      return 1;
    }
    if (a.has("-n", "-p")) {
      const child = a.value("-n");
      const parent = a.value("-p");
      if (!child || !parent) throw new VhdUsageError("snapshot -n CHILD -p PARENT: both are needed");
      a.operands(0);
      return differencing(parent, child);
    }
    const [parent, child] = a.operands(2);
    return differencing(parent!, child!);
  },
};

export const amendVerb: Verb = {
  usage: "amend [-f vpc] -o OPTIONS FILE",
  help: "refused as qemu-img refuses it on vpc: a VHD's type (fixed/dynamic), size rule and block size are set when the file is made; convert -O vpc -o subformat=...,block_size=... writes a new image with other options, resize changes the size",
  valueFlags: [...VALUE_FLAGS],
  run(a) {
    a.onlyFlags(["-o", "-p", "-q", "-t", "--force"]);
    const [file] = a.operands(1);
    if (a.value("-o") === undefined) throw new VhdUsageError("Must specify options (-o)");
    mustOpen(a, file!);
    err(
      `xenlab vhd amend: Format driver 'vpc' does not support option amendment: a VHD's type, size rule and block size are fixed in its footer and header when it is made ` +
        `(use convert -O vpc -o ${a.value("-o")} ${file} NEW to write a new image with them, or resize to change the size)`,
    );
    return 1;
  },
};
