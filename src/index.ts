/** The XenLab library: everything a notebook cell (or any Node program) can use without Jupyter. */
export * from "./render/mime";
export * from "./interrupt";
export * from "./machine";
export * from "./vhd";
export * from "./fs";
