import { defineConfig } from "vite";

// Built into the Python package: the server serves index.html at / and /ui/*, assets at /ui/assets/.
export default defineConfig({
  base: "/ui/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "../server/routilux/console",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: true,
  },
});
