// SPDX-License-Identifier: Apache-2.0
import { defineConfig } from "vite";
import solid from "vite-plugin-solid";

export default defineConfig({
  plugins: [solid()],
  // Relative asset URLs: the same build is served under /view/ and /admin/.
  base: "./",
  build: { target: "es2020", assetsInlineLimit: 0, reportCompressedSize: false },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
