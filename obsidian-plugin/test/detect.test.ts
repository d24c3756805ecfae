// Finding the program on a temp directory tree laid out like the installers lay it out, and the
// version handshake against the real program.

import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { candidatePaths, detectExecutable, type DetectContext } from "../src/detect";
import { compareVersions, handshake, INSTALL_COMMAND, MIN_BACKEND_VERSION, parseVersion } from "../src/version";
import { resolveBackend, DEFAULT_SETTINGS } from "../src/backend";
import { detectSandbox, sandboxMessage } from "../src/sandbox";
import { backendOrSkip } from "./backend";

function tree(t: { after: (fn: () => void) => void }): { root: string; ctx: DetectContext; put: (path: string, mode?: number) => string } {
  const root = mkdtempSync(join(tmpdir(), "vaultpapers-detect-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, "home"));
  mkdirSync(join(root, "Research", "Notes"), { recursive: true });
  const ctx: DetectContext = { platform: "linux", home: join(root, "home"), vault: join(root, "Research", "Notes"), env: {} };
  const put = (path: string, mode = 0o755) => {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, "#!/bin/sh\necho 'vaultpapers, version 9.9.9'\n");
    chmodSync(full, mode);
    return full;
  };
  return { root, ctx, put };
}

test("the first executable in the usual places wins: a venv next to the vault before pipx", (t) => {
  const { ctx, put } = tree(t);
  assert.equal(detectExecutable(ctx), null);
  const pipx = put("home/.local/pipx/venvs/vaultpapers/bin/vaultpapers");
  assert.equal(detectExecutable(ctx), pipx);
  const local = put("home/.local/bin/vaultpapers");
  assert.equal(detectExecutable(ctx), local);
  const venv = put("Research/.venv/bin/vaultpapers");
  assert.equal(detectExecutable(ctx), venv);
});

test("a file that is not executable, or a folder of that name, is passed over", (t) => {
  const { root, ctx, put } = tree(t);
  put("home/.local/bin/vaultpapers", 0o644);
  mkdirSync(join(root, "Research/.venv/bin/vaultpapers"), { recursive: true });
  const pipx = put("home/.local/share/pipx/venvs/vaultpapers/bin/vaultpapers");
  assert.equal(detectExecutable(ctx), pipx);
});

test("the candidates cover pipx, Homebrew, /usr/local and, on Windows, Scripts folders", () => {
  const linux = candidatePaths({ platform: "linux", home: "/home/u", vault: "/home/u/R/Notes", env: {} }, { isExecutableFile: () => false, listDir: () => [] });
  for (const path of [
    "/home/u/R/.venv/bin/vaultpapers",
    "/home/u/.local/bin/vaultpapers",
    "/home/u/.local/pipx/venvs/vaultpapers/bin/vaultpapers",
    "/home/u/.local/share/vaultpapers/bin/vaultpapers",
    "/opt/homebrew/bin/vaultpapers",
    "/usr/local/bin/vaultpapers",
  ]) {
    assert.ok(linux.includes(path), path);
  }
  const windows = candidatePaths(
    { platform: "win32", home: "C:\\Users\\u", vault: "D:\\R\\Notes", env: { APPDATA: "C:\\Users\\u\\AppData\\Roaming" } },
    { isExecutableFile: () => false, listDir: (dir) => (dir.endsWith("Roaming\\Python") ? ["Python39", "Python312", "other"] : []) },
  );
  assert.equal(windows[0], "D:\\R\\.venv\\Scripts\\vaultpapers.exe");
  assert.ok(windows.includes("C:\\Users\\u\\.local\\bin\\vaultpapers.exe"));
  const user = windows.filter((path) => path.includes("Roaming"));
  assert.deepEqual(user, [
    "C:\\Users\\u\\AppData\\Roaming\\Python\\Python312\\Scripts\\vaultpapers.exe",
    "C:\\Users\\u\\AppData\\Roaming\\Python\\Python39\\Scripts\\vaultpapers.exe",
  ]);
});

test("versions: the last word of --version, compared release by release", () => {
  assert.equal(parseVersion("vaultpapers, version 0.2.0\n"), "0.2.0");
  assert.equal(parseVersion("Python 3.11.7"), null);
  assert.equal(compareVersions("0.10.0", "0.9.1"), 1);
  assert.equal(compareVersions("0.2", "0.2.0"), 0);
  assert.equal(compareVersions("0.1.9", "0.2.0"), -1);
});

test("Flatpak and Snap are recognised, and the message says what to do instead", () => {
  assert.equal(detectSandbox({}, () => false), null);
  assert.equal(detectSandbox({ FLATPAK_ID: "md.obsidian.Obsidian" }, () => false)?.kind, "flatpak");
  assert.equal(detectSandbox({}, (path) => path === "/.flatpak-info")?.kind, "flatpak");
  const snap = detectSandbox({ SNAP: "/snap/obsidian/1", SNAP_NAME: "obsidian" }, () => false);
  assert.equal(snap?.kind, "snap");
  assert.match(sandboxMessage(snap!), /cannot start programs installed outside it.*vaultpapers watch/s);
});

test("handshake: the real program found by Detect answers with a version the plugin accepts", async (t) => {
  const bin = backendOrSkip(t);
  if (!bin) return;
  const { root, ctx } = tree(t);
  // pipx puts a link to the venv's script in ~/.local/bin; the same here, to the real one.
  mkdirSync(join(root, "home/.local/bin"), { recursive: true });
  symlinkSync(bin, join(root, "home/.local/bin/vaultpapers"));
  const found = detectExecutable(ctx);
  assert.equal(found, join(root, "home/.local/bin/vaultpapers"));
  const answer = await handshake(found);
  assert.ok(answer.ok, answer.ok ? "" : answer.message);
  assert.ok(compareVersions(answer.version, MIN_BACKEND_VERSION) >= 0);
  const backend = await resolveBackend(DEFAULT_SETTINGS, ctx, undefined, null);
  assert.ok(backend.handshake.ok && backend.handshake.executable === found);
});

test("handshake: missing, too old, or not vaultpapers, each with the one install command", async (t) => {
  const bin = backendOrSkip(t);
  if (!bin) return;
  const missing = await handshake(null);
  assert.ok(!missing.ok && missing.reason === "missing" && missing.message.includes(INSTALL_COMMAND));
  const gone = await handshake("/nonexistent/bin/vaultpapers");
  assert.ok(!gone.ok && gone.reason === "missing" && gone.message.includes(INSTALL_COMMAND));
  const old = await handshake(bin, "999.0.0");
  assert.ok(!old.ok && old.reason === "too-old", JSON.stringify(old));
  assert.match(old.message, /too old: the plugin needs 999\.0\.0/);
  assert.ok(old.message.includes(INSTALL_COMMAND));
  const other = await handshake(process.execPath); // node --version: "v20..."
  assert.ok(!other.ok && other.reason === "unrecognised", JSON.stringify(other));
  const relative = await resolveBackend({ ...DEFAULT_SETTINGS, executable: "vaultpapers" }, { platform: "linux", home: "/", vault: "/", env: {} }, undefined, null);
  assert.ok(!relative.handshake.ok && /must be absolute/.test(relative.handshake.message));
  const sandboxed = await resolveBackend(DEFAULT_SETTINGS, { platform: "linux", home: "/nonexistent", vault: "/nonexistent/v", env: {} }, { isExecutableFile: () => false, listDir: () => [] }, { kind: "flatpak", name: "md.obsidian.Obsidian" });
  assert.ok(!sandboxed.handshake.ok && /Flatpak sandbox/.test(sandboxed.handshake.message) && sandboxed.handshake.message.includes(INSTALL_COMMAND));
});
