import { BlockDevice, checkRange } from "./block-device";
import { BlockFile, FileHost, nodeFileHost } from "./block-file";

/** A raw disk image file: byte N of the file is byte N of the disk. */
export class RawImage implements BlockDevice {
  readonly size: number;

  private constructor(
    readonly path: string,
    private readonly file: BlockFile,
    readonly readOnly: boolean,
  ) {
    this.size = file.size();
  }

  static open(path: string, options: { readOnly?: boolean; host?: FileHost } = {}): RawImage {
    const readOnly = options.readOnly ?? false;
    return new RawImage(path, (options.host ?? nodeFileHost).open(path, !readOnly), readOnly);
  }

  read(offset: number, buffer: Uint8Array): void {
    checkRange(`read from ${this.path}`, offset, buffer.length, this.size);
    const done = this.file.read(offset, buffer);
    buffer.fill(0, done); // a file shorter than its stat size (truncated underneath us): zeros
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new Error(`${this.path} is open read-only`);
    checkRange(`write to ${this.path}`, offset, data.length, this.size);
    this.file.write(offset, data);
  }

  flush(): void {
    if (!this.readOnly) this.file.sync();
  }

  close(): void {
    this.file.close();
  }
}
