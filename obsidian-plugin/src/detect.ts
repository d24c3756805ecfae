// Finding the vaultpapers program without PATH: Obsidian started from a desktop menu, the Dock
// or Explorer does not see the PATH a shell sets up, so the plugin looks in the places the
// usual installers put the program and remembers the absolute path in its settings.

import { accessSync, constants, readdirSync, statSync } from "node:fs";
import * as posixPath from "node:path/posix";
import * as winPath from "node:path/win32";

export interface DetectContext {
  platform: NodeJS.Platform;
  home: string;
  vault: string; // absolute path of the vault
  env: Record<string, string | undefined>;
}

export interface FileProbe {
  isExecutableFile(path: string): boolean;
  listDir(path: string): string[];
}

export const systemFiles: FileProbe = {
  isExecutableFile(path: string): boolean {
    try {
      if (!statSync(path).isFile()) return false;
      accessSync(path, process.platform === "win32" ? constants.F_OK : constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
  listDir(path: string): string[] {
    try {
      return readdirSync(path);
    } catch {
      return [];
    }
  },
};

/** Every place worth trying, most specific first, each once. */
export function candidatePaths(ctx: DetectContext, files: FileProbe = systemFiles): string[] {
  const found: string[] = [];
  if (ctx.platform === "win32") {
    const p = winPath;
    const exe = "vaultpapers.exe";
    const parent = p.dirname(ctx.vault);
    found.push(p.join(parent, ".venv", "Scripts", exe), p.join(ctx.vault, ".venv", "Scripts", exe));
    found.push(p.join(ctx.home, ".local", "bin", exe)); // pipx's default bin folder
    found.push(p.join(ctx.home, "pipx", "venvs", "vaultpapers", "Scripts", exe));
    found.push(p.join(ctx.home, ".local", "pipx", "venvs", "vaultpapers", "Scripts", exe));
    // pip install --user: %APPDATA%\Python\PythonXY\Scripts; the python.org installer:
    // %LOCALAPPDATA%\Programs\Python\PythonXY\Scripts.
    const appData = ctx.env.APPDATA ?? p.join(ctx.home, "AppData", "Roaming");
    const localAppData = ctx.env.LOCALAPPDATA ?? p.join(ctx.home, "AppData", "Local");
    for (const base of [p.join(appData, "Python"), p.join(localAppData, "Programs", "Python")]) {
      for (const name of pythonFolders(files.listDir(base))) {
        found.push(p.join(base, name, "Scripts", exe));
      }
    }
  } else {
    const p = posixPath;
    const exe = "vaultpapers";
    const parent = p.dirname(ctx.vault);
    found.push(p.join(parent, ".venv", "bin", exe), p.join(ctx.vault, ".venv", "bin", exe));
    found.push(p.join(ctx.home, ".local", "bin", exe)); // pipx's and pip --user's bin folder
    found.push(p.join(ctx.home, ".local", "pipx", "venvs", "vaultpapers", "bin", exe));
    found.push(p.join(ctx.home, ".local", "share", "pipx", "venvs", "vaultpapers", "bin", exe));
    // The plain venv the main README suggests without pipx.
    found.push(p.join(ctx.home, ".local", "share", "vaultpapers", "bin", exe));
    found.push("/opt/homebrew/bin/" + exe, "/usr/local/bin/" + exe);
    if (ctx.platform === "darwin") {
      // pip install --user with the python.org Python: ~/Library/Python/3.X/bin
      const base = p.join(ctx.home, "Library", "Python");
      for (const version of files.listDir(base).sort().reverse()) {
        found.push(p.join(base, version, "bin", exe));
      }
    }
    found.push("/usr/bin/" + exe);
  }
  return [...new Set(found)];
}

function pythonFolders(names: string[]): string[] {
  // Python312 before Python39: newest first.
  const version = (name: string) => Number(/^Python(\d+)/i.exec(name)?.[1] ?? 0);
  return names.filter((name) => /^Python\d+/i.test(name)).sort((a, b) => version(b) - version(a));
}

/** The first candidate that is an executable file, or null. */
export function detectExecutable(ctx: DetectContext, files: FileProbe = systemFiles): string | null {
  return candidatePaths(ctx, files).find((path) => files.isExecutableFile(path)) ?? null;
}

/** The setting's path is used as written; it must be absolute, since PATH is not to be relied on. */
export function isAbsoluteExecutablePath(path: string, platform: NodeJS.Platform): boolean {
  return platform === "win32" ? winPath.isAbsolute(path) : posixPath.isAbsolute(path);
}
