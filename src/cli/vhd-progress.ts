/**
 * qemu-img's -p: "    (NN.NN/100%)" rewritten in place on stdout (util/qemu-progress.c prints with
 * printf, two decimals and a carriage return; `qemu-img convert -p ... 2>/dev/null` shows it), a
 * newline when the verb ends.
 */
export interface ProgressReporter {
  update(done: number, total: number): void;
  done(): void;
}

export function progressReporter(stream: NodeJS.WritableStream = process.stdout): ProgressReporter {
  // qemu-img starts every -p verb with qemu_progress_print(0, 100)
  let last = 0;
  stream.write(`    (0.00/100%)\r`);
  return {
    update(done, total) {
      // qemu prints on each whole percent moved; so do we (a 1 TiB convert is not 10^6 lines)
      const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
      if (pct === last) return;
      last = pct;
      stream.write(`    (${pct.toFixed(2)}/100%)\r`);
    },
    done() {
      if (last < 100) stream.write(`    (100.00/100%)\r`);
      stream.write("\n");
    },
  };
}
