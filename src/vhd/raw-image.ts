import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";
import { BlockDevice, checkRange } from "./block-device";

/** A raw disk image file: byte N of the file is byte N of the disk. */
export class RawImage implements BlockDevice {
  readonly size: number;
  private fd: number | undefined;

  private constructor(
    readonly path: string,
    fd: number,
    readonly readOnly: boolean,
  ) {
    this.fd = fd;
    this.size = fstatSync(fd).size;
  }

  static open(path: string, options: { readOnly?: boolean } = {}): RawImage {
    const readOnly = options.readOnly ?? false;
    return new RawImage(path, openSync(path, readOnly ? "r" : "r+"), readOnly);
  }

  read(offset: number, buffer: Uint8Array): void {
    checkRange(`read from ${this.path}`, offset, buffer.length, this.size);
    let done = 0;
    while (done < buffer.length) {
      const n = readSync(this.handle(), buffer, done, buffer.length - done, offset + done);
      if (n === 0) break; // a file shorter than its stat size (truncated underneath us): zeros
      done += n;
    }
    buffer.fill(0, done);
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new Error(`${this.path} is open read-only`);
    checkRange(`write to ${this.path}`, offset, data.length, this.size);
    let done = 0;
    while (done < data.length) {
      done += writeSync(this.handle(), data, done, data.length - done, offset + done);
    }
  }

  flush(): void {
    if (!this.readOnly) fsyncSync(this.handle());
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private handle(): number {
    if (this.fd === undefined) throw new Error(`${this.path} is closed`);
    return this.fd;
  }
}
