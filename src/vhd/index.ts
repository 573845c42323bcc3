/** The VHD library: `import { VhdDisk, createVhd } from "xenlab/vhd"`-style entry point. */
export * from "./block-device";
export * from "./block-file";
export * from "./constants";
export * from "./errors";
export * from "./finding";
export * from "./footer";
export * from "./dynamic-header";
export * from "./parent-locator";
export * from "./geometry";
export * from "./raw-image";
export * from "./vhd-disk";
export * from "./create";
