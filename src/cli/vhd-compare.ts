/**
 * `xenlab vhd compare`, as qemu-img compare: exit 0 identical, 1 different, 2 an image could not
 * be opened, 4 an image could not be read; the same messages on stdout (-q drops them), -s strict.
 */
import { ImageFormat, StatusImage, VhdUsageError, compareImages, openStatusImage } from "../vhd";
import { Args, Verb, err, hostFor, out, sizeCalc, VALUE_FLAGS, SIZE_CALC_HELP } from "./vhd-args";
import { progressReporter } from "./vhd-progress";

function format(a: Args, flag: "-f" | "-F"): ImageFormat | "auto" {
  const f = a.value(flag);
  if (f === undefined) return "auto";
  if (f !== "raw" && f !== "vpc") throw new VhdUsageError(`${flag} must be raw or vpc, not ${f}`);
  return f;
}

export const compareVerb: Verb = {
  usage: "compare [-f FMT] [-F FMT] [-T SRC_CACHE] [-p] [-q] [-s] [-U] [--size-calc current|chs|qemu] FILE1 FILE2",
  help: `compare the disks two images show, raw or VHD (chains read whole), as qemu-img compare: 'Images are identical.' (exit 0), or the first differing 512-byte sector, 'Content mismatch at offset N!' (exit 1); different sizes are equal if the larger one's extra part is zeros ('Warning: Image size mismatch!'). -s (strict) also fails on different sizes and on any range allocated differently (qemu's block status: allocated VHD blocks, holes of raw files). Exit 2: an image could not be opened; 4: read error. -f/-F the formats of FILE1/FILE2 (raw|vpc, probed by default), -q quiet, -p progress; ${SIZE_CALC_HELP}`,
  valueFlags: [...VALUE_FLAGS, "-F"],
  run(a) {
    a.onlyFlags(["-f", "-F", "-T", "-p", "-q", "-s", "-U", "--force-share", "--size-calc"]);
    const [file1, file2] = a.operands(2);
    const quiet = a.has("-q");
    const strict = a.has("-s");
    const host = hostFor(a, "-T");
    const calc = sizeCalc(a);
    const opened: StatusImage[] = [];
    try {
      const formats = [format(a, "-f"), format(a, "-F")];
      for (const [i, file] of [file1!, file2!].entries()) {
        try {
          opened.push(openStatusImage(file, { format: formats[i], host, sizeCalc: calc, holes: strict }));
        } catch (e) {
          // whatever stops the open (missing file, not a VHD, a lock held elsewhere) is qemu-img's exit 2
          err(`xenlab vhd compare: Could not open '${file}': ${(e as Error).message}`);
          return 2;
        }
      }
      const progress = a.has("-p") && !quiet ? progressReporter() : undefined;
      let r;
      try {
        r = compareImages(opened[0]!, opened[1]!, { strict, onProgress: progress?.update });
      } catch (e) {
        progress?.done();
        err(`xenlab vhd compare: Error while reading: ${(e as Error).message}`);
        return 4;
      }
      progress?.done();
      if (!quiet) for (const m of r.messages) out(m);
      return r.result;
    } finally {
      for (const i of opened) i.close();
    }
  },
};
