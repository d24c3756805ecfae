// The real vaultpapers backend for the tests: found through VAULTPAPERS_BIN (the repository's
// .venv/bin/vaultpapers), with the loopback arXiv server its package ships. Nothing here stands
// in for the backend.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";

export const BIN = process.env.VAULTPAPERS_BIN ? resolve(process.env.VAULTPAPERS_BIN) : null;
/** The Python of the backend's environment (for the loopback server). */
export const PYTHON = process.env.VAULTPAPERS_PYTHON ?? (BIN ? join(dirname(BIN), process.platform === "win32" ? "python.exe" : "python") : null);
export const REPO = resolve(__dirname, "..", "..", "..");
export const ENTRIES = join(REPO, "examples", "arxiv-entries");

/** Skip (by hand, with a reason) or fail (in CI) when the backend is not given. */
export function backendOrSkip(t: { skip: (message: string) => void }): string | null {
  if (BIN && existsSync(BIN)) return BIN;
  const why = BIN
    ? `VAULTPAPERS_BIN=${BIN} does not exist`
    : "VAULTPAPERS_BIN is not set: point it at the repository's .venv/bin/vaultpapers to run the tests against the real backend";
  if (process.env.CI) throw new Error(`${why} (CI must run these tests)`);
  t.skip(why);
  return null;
}

export interface ArxivServer {
  url: string;
  stop(): Promise<void>;
  requests(): Promise<number>;
}

/** `python -m vaultpapers.testing.arxiv_server --entries examples/arxiv-entries` (docs/protocol.md,
 * "Testing against a loopback arXiv"): serves the example papers on 127.0.0.1. */
export async function startArxivServer(extraArgs: string[] = []): Promise<ArxivServer> {
  if (!PYTHON) throw new Error("no Python for the loopback arXiv server");
  const child = spawn(PYTHON, ["-m", "vaultpapers.testing.arxiv_server", "--entries", ENTRIES, ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`arxiv_server did not start: ${stderr}`)), 20_000);
    child.on("exit", (code) => reject(new Error(`arxiv_server exited ${code}: ${stderr}`)));
    lines.once("line", (line) => {
      clearTimeout(timer);
      resolveUrl((JSON.parse(line) as { url: string }).url);
    });
  });
  const base = url.replace(/\/api\/query$/, "");
  return {
    url,
    stop: () => stopProcess(child),
    requests: async () => ((await (await fetch(`${base}/control/requests`)).json()) as { requests: number }).requests,
  };
}

export async function stopProcess(child: ChildProcess, graceMs = 8_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((done) => child.once("exit", () => done()));
  const kill = setTimeout(() => child.kill("SIGKILL"), graceMs);
  child.kill("SIGTERM");
  await gone;
  clearTimeout(kill);
}

/** The environment the backend runs in: the loopback arXiv, no pacing. */
export function backendEnv(server: ArxivServer): NodeJS.ProcessEnv {
  return { ...process.env, VAULTPAPERS_ARXIV_API: server.url, VAULTPAPERS_ARXIV_DELAY: "0" };
}

/** A vault in a temp folder from {path: text}; removed by the returned function. */
export function makeVault(files: Record<string, string>): { vault: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), "vaultpapers-plugin-"));
  const vault = join(root, "vault");
  mkdirSync(vault);
  for (const [path, text] of Object.entries(files)) writeNote(vault, path, text);
  return { vault, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Saves a note as editors (and Obsidian) do: a temp file moved into place. */
export function writeNote(vault: string, path: string, text: string): void {
  const target = join(vault, path);
  mkdirSync(dirname(target), { recursive: true });
  const temp = join(dirname(target), `.${Date.now()}.tmp`);
  writeFileSync(temp, text);
  renameSync(temp, target);
}

/** Waits until `check` returns something truthy; fails after `timeoutMs` saying what it waited for. */
export async function waitFor<T>(what: string, check: () => T | null | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
