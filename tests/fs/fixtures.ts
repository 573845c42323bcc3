/** What the fs tests import from the library (one place, so the suite reads as a user would). */
export * from "../../src/fs";
export { RawImage as RawImageForTests } from "../../src/vhd/raw-image";
