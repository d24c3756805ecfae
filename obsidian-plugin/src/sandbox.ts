// Obsidian installed as a Flatpak (or a Snap) runs in a sandbox: programs installed on the host
// (a pipx venv, Homebrew) are not visible inside it, or run with the sandbox's Python. The plugin
// says so instead of failing with a bare "not found".

import { existsSync } from "node:fs";

export type Sandbox = { kind: "flatpak" | "snap"; name: string } | null;

export function detectSandbox(
  env: Record<string, string | undefined> = process.env,
  exists: (path: string) => boolean = existsSync,
): Sandbox {
  if (env.FLATPAK_ID || exists("/.flatpak-info")) return { kind: "flatpak", name: env.FLATPAK_ID ?? "Flatpak" };
  if (env.SNAP || env.SNAP_NAME) return { kind: "snap", name: env.SNAP_NAME ?? "Snap" };
  return null;
}

/** What to tell the user when the backend cannot be started from inside the sandbox. */
export function sandboxMessage(sandbox: NonNullable<Sandbox>): string {
  const where = sandbox.kind === "flatpak" ? `a Flatpak sandbox (${sandbox.name})` : `a Snap sandbox (${sandbox.name})`;
  return (
    `Obsidian runs in ${where}, which cannot start programs installed outside it. ` +
    "Either install Obsidian from its AppImage, .deb or .rpm, or run the watcher outside Obsidian " +
    "(`vaultpapers watch VAULT`, e.g. as the systemd user service in the README): the plugin " +
    "then shows that watcher's status without starting anything."
  );
}
