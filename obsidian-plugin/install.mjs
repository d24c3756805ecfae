// Copies the built plugin (main.js, manifest.json) into a vault:
//   npm run install-plugin -- /path/to/vault [--config-dir .obsidian]
// Obsidian loads it from VAULT/<config dir>/plugins/vaultpapers/ once enabled in its settings.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const args = process.argv.slice(2);
const at = args.indexOf("--config-dir");
const configDir = at >= 0 ? args.splice(at, 2)[1] : ".obsidian";
const [vault] = args;
if (!vault) {
  console.error("usage: npm run install-plugin -- VAULT [--config-dir .obsidian]");
  process.exit(2);
}
if (!existsSync("main.js")) {
  console.error("main.js is missing: run `npm run build` first");
  process.exit(1);
}
const { id } = JSON.parse(readFileSync("manifest.json", "utf8"));
const target = join(resolve(vault), configDir, "plugins", id);
mkdirSync(target, { recursive: true });
for (const file of ["main.js", "manifest.json"]) copyFileSync(file, join(target, file));
console.log(`installed into ${target}; enable "vaultpapers" in Obsidian's Settings → Community plugins`);
