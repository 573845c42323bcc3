/**
 * `xenlab vhd measure`: qemu-img measure for the formats this CLI writes. qemu's vpc driver has no
 * bdrv_measure ("Block driver 'vpc' does not support size measurement"), so for VHD output the
 * figures are the file sizes our own create/convert produce (measure.ts); raw output is qemu's.
 */
import { MeasureTarget, VhdUsageError, measureImage, measureNew, parseSize } from "../vhd";
import { hostFor, Args, Verb, out, outputJson, sizeCalc, vpcOptions, VALUE_FLAGS, SIZE_CALC_HELP } from "./vhd-args";
import { progressReporter } from "./vhd-progress";

export const measureVerb: Verb = {
  usage: "measure [--output=human|json] [-f raw|vpc] [-O raw|vpc|fixed|dynamic] [-o subformat=fixed|dynamic,force_size=on|off,block_size=SIZE] [-b BLOCK_SIZE] [--chs | --force-size] [--size-calc current|chs|qemu] [-U] [-p] (--size SIZE | FILE)",
  help: `bytes a new image needs (qemu-img measure): "required" for the data FILE holds (or an empty disk of --size), "fully allocated" once every block is written. -O raw (default) answers as qemu-img; for VHD output (which qemu-img cannot measure) the figures are exactly the file sizes our convert (FILE) or create (--size) write, rounding the size as they do. ${SIZE_CALC_HELP}`,
  valueFlags: [...VALUE_FLAGS, "--size"],
  run(a: Args) {
    a.onlyFlags(["--output", "-f", "-O", "-o", "-b", "--chs", "--force-size", "--size-calc", "--size", "-U", "--force-share", "-p"]);
    const asJson = outputJson(a);
    const format = a.value("-O") ?? "raw";
    if (a.value("-o") !== undefined && format !== "vpc") throw new VhdUsageError("-o goes with -O vpc");
    const vo = vpcOptions(a.value("-o"));
    const to = format === "vpc" ? (vo.subformat ?? "dynamic") : format;
    if (to !== "raw" && to !== "fixed" && to !== "dynamic") throw new VhdUsageError(`-O must be raw, vpc, fixed or dynamic, not ${format}`);
    const blockSize = a.value("-b") ? parseSize(a.value("-b")!) : vo.blockSize;
    const sizeText = a.value("--size");
    if (sizeText !== undefined && a.positional.length > 0) throw new VhdUsageError("--size N cannot be used together with a filename.");
    if (sizeText === undefined && a.positional.length !== 1) throw new VhdUsageError("Either --size N or one filename must be specified.");
    let m;
    if (sizeText !== undefined) {
      // as `create` fits a size: rounded up to a CHS product unless force_size / --force-size
      const exact = format === "vpc" ? vo.forceSize === true : a.has("--force-size");
      const target: MeasureTarget = { to, blockSize, sizePolicy: exact ? "exact" : "chs" };
      m = measureNew(parseSize(sizeText), target);
    } else {
      // as `convert` fits a raw input: -O vpc rounds to CHS unless force_size=on, -O fixed|dynamic keeps it unless --chs
      const chs = format === "vpc" ? !vo.forceSize : a.has("--chs");
      const from = a.value("-f");
      if (from !== undefined && from !== "raw" && from !== "vpc") throw new VhdUsageError("-f must be raw or vpc");
      const progress = a.has("-p") ? progressReporter() : undefined;
      m = measureImage(a.positional[0]!, { to, blockSize, sizePolicy: chs ? "chs" : "exact" }, { from: from as "raw" | "vpc" | undefined, sizeCalc: sizeCalc(a), host: hostFor(a, "-T"), onProgress: progress?.update });
      progress?.done();
    }
    if (asJson) out(JSON.stringify({ required: m.required, "fully-allocated": m.fullyAllocated }, null, 4));
    else out(`required size: ${m.required}\nfully allocated size: ${m.fullyAllocated}`);
    return 0;
  },
};
