// What the library entry point (src/index.ts) and the kernel do: register every view with the
// MIME layer, so tests that import one model file directly can still draw it.
import "../../src/render/register";
