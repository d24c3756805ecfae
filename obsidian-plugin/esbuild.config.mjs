// Builds the plugin (main.js, what Obsidian loads) or, with --tests, the node test files.
// One bundle, CommonJS, as Obsidian requires; `obsidian` and node's own modules stay external
// (Obsidian provides the first, Electron the second).
import { build } from "esbuild";
import { builtinModules } from "node:module";
import { readdirSync } from "node:fs";

const node = builtinModules.flatMap((name) => [name, `node:${name}`]);

if (process.argv.includes("--tests")) {
  // Each test file becomes one runnable CommonJS file in build/test/; the plugin's modules are
  // bundled into it, so the tests run what main.js runs.
  const entries = readdirSync("test")
    .filter((name) => name.endsWith(".test.ts"))
    .map((name) => `test/${name}`);
  await build({
    entryPoints: entries,
    outdir: "build/test",
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    sourcemap: "inline",
    external: node,
    // main.ts runs against a small fake of the Obsidian calls it makes (test/fake-obsidian.ts).
    alias: { obsidian: "./test/fake-obsidian.ts" },
    logLevel: "warning",
  });
} else {
  await build({
    entryPoints: ["main.ts"],
    outfile: "main.js",
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "es2020",
    external: ["obsidian", "electron", ...node],
    minify: false,
    treeShaking: true,
    legalComments: "inline",
    logLevel: "warning",
  });
}
