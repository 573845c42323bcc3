/**
 * The vector-unit helpers generated block code calls as `V.name(c, ...)` (codegen.ts passes this
 * namespace): integer lanes, memory operands, state save/restore.
 */
export * from "./vec-int";
export * from "./vec-mem";
export * from "./xsave";
export * from "./vec-float";
export * from "./vec-ssse3";
export * from "./vec-pcmpstr";
export * from "./vec-mmx";
export * from "./vec-clmul";
export * from "./vec-aes";
export * from "./vec-dp";
export * from "./vec-approx";
export * from "./vec-cvtmmx";
