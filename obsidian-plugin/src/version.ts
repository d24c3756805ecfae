// The version handshake: `vaultpapers --version` prints "vaultpapers, version X.Y.Z" (the last
// word is the version). The plugin needs a backend that speaks the --json protocol.

import { runProgram, stderrTail } from "./run";

/** The first backend version with the `--json` machine interface (protocol v1). */
export const MIN_BACKEND_VERSION = "0.1.0";
/** The one command the plugin's messages give for installing or upgrading the backend: pipx
 * gives it a venv of its own and a stable path (~/.local/bin/vaultpapers) that Detect finds.
 * vaultpapers is installed from a clone of its repository (it is not on a package index). */
export const INSTALL_COMMAND = "pipx install --force /path/to/vaultpapers";

export type Handshake =
  | { ok: true; executable: string; version: string }
  | { ok: false; reason: "missing" | "cannot-run" | "too-old" | "unrecognised"; message: string };

export function parseVersion(output: string): string | null {
  const words = output.trim().split(/\s+/);
  const last = words[words.length - 1] ?? "";
  return /^\d+(\.\d+)*([.+-]?[0-9A-Za-z.+-]*)?$/.test(last) && words.length >= 1 && /vaultpapers/i.test(output)
    ? last
    : null;
}

/** Compares dotted release numbers (1.10 > 1.9); a pre-release suffix counts as its release. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split(/[.+-]/).map((p) => Number.parseInt(p, 10)).filter((n) => !Number.isNaN(n));
  const x = parts(a);
  const y = parts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export async function handshake(
  executable: string | null,
  minVersion: string = MIN_BACKEND_VERSION,
  timeoutMs = 15_000,
): Promise<Handshake> {
  const install = `Install it with \`${INSTALL_COMMAND}\` (the folder of your vaultpapers clone), then press Detect in the plugin's settings (or enter the program's absolute path there).`;
  if (!executable) {
    return {
      ok: false,
      reason: "missing",
      message: `The vaultpapers program was not found. ${install}`,
    };
  }
  const result = await runProgram(executable, ["--version"], { timeoutMs });
  if (result.spawnError) {
    const why = result.spawnError.code === "ENOENT" ? "does not exist" : `cannot be started (${result.spawnError.code ?? result.spawnError.message})`;
    return {
      ok: false,
      reason: result.spawnError.code === "ENOENT" ? "missing" : "cannot-run",
      message: `${executable} ${why}. ${install}`,
    };
  }
  const version = result.code === 0 ? parseVersion(result.stdout) : null;
  if (!version) {
    const said = stderrTail(result.stderr || result.stdout);
    return {
      ok: false,
      reason: "unrecognised",
      message: `${executable} --version did not answer as vaultpapers does${result.timedOut ? " (timed out)" : ""}${said ? `: ${said}` : ""}. ${install}`,
    };
  }
  if (compareVersions(version, minVersion) < 0) {
    return {
      ok: false,
      reason: "too-old",
      message: `vaultpapers ${version} at ${executable} is too old: the plugin needs ${minVersion} or later. Upgrade with \`${INSTALL_COMMAND}\` (the folder of your vaultpapers clone, updated).`,
    };
  }
  // Versions before the machine interface share 0.1.0 with the first one that has it, so the
  // version alone cannot tell: the watch command must offer --json.
  const help = await runProgram(executable, ["watch", "--help"], { timeoutMs });
  if (help.code !== 0 || !/--json\b/.test(help.stdout)) {
    return {
      ok: false,
      reason: "too-old",
      message: `vaultpapers ${version} at ${executable} is too old: its watch command has no --json, which the plugin needs. Upgrade with \`${INSTALL_COMMAND}\` (the folder of your vaultpapers clone, updated).`,
    };
  }
  return { ok: true, executable, version };
}
