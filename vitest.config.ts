import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file starts real servers with worker processes; two files at a time fit 2 cores.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
