import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    setupFiles: ["tests/support/views.ts"],
    // Protocol and oracle tests start real processes (kernels, jupyter server, qemu-img).
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
