// Which vaultpapers program the plugin runs, and whether it can: the setting's absolute path
// (or, if empty, the first program found in the usual places), checked with the version
// handshake, and explained when Obsidian is sandboxed.

import { detectExecutable, isAbsoluteExecutablePath, systemFiles, type DetectContext, type FileProbe } from "./detect";
import { handshake, type Handshake } from "./version";
import { detectSandbox, sandboxMessage, type Sandbox } from "./sandbox";

export interface PluginSettings {
  /** Absolute path of the vaultpapers program; empty: look in the usual places. */
  executable: string;
  /** Start (or attach to) a watcher while the vault is open. */
  watch: boolean;
  /** Hide the status-bar item while nothing is happening. */
  hideWhenIdle: boolean;
  /** Run the watcher with --offline (cached metadata only). */
  offline: boolean;
}

export const DEFAULT_SETTINGS: PluginSettings = {
  executable: "",
  watch: true,
  hideWhenIdle: false,
  offline: false,
};

export interface Backend {
  handshake: Handshake;
  sandbox: Sandbox;
  /** Whether the executable came from the setting (true) or was detected (false). */
  fromSetting: boolean;
}

export async function resolveBackend(
  settings: PluginSettings,
  ctx: DetectContext,
  files: FileProbe = systemFiles,
  sandbox: Sandbox = detectSandbox(ctx.env),
): Promise<Backend> {
  const configured = settings.executable.trim();
  if (configured && !isAbsoluteExecutablePath(configured, ctx.platform)) {
    return {
      sandbox,
      fromSetting: true,
      handshake: {
        ok: false,
        reason: "missing",
        message: `The vaultpapers path in the settings must be absolute (Obsidian does not see your shell's PATH): "${configured}".`,
      },
    };
  }
  const executable = configured || detectExecutable(ctx, files);
  let result = await handshake(executable);
  if (!result.ok && sandbox) result = { ...result, message: `${sandboxMessage(sandbox)}\n${result.message}` };
  return { handshake: result, sandbox, fromSetting: Boolean(configured) };
}
