// Running the backend once (`--version`, `link --json`, `related --json`, `refresh --json`):
// always a child process started with spawn, never a shell, never waited on synchronously, so
// Obsidian's window stays responsive whatever the backend does.

import { spawn } from "node:child_process";
import { NdjsonReader, type Event } from "./protocol";

export interface RunResult {
  /** Exit code, or null when the process was ended by a signal or never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Why the program could not be started at all (ENOENT, EACCES, ...), or null. */
  spawnError: NodeJS.ErrnoException | null;
  timedOut: boolean;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  onStdout?: (chunk: Buffer) => void;
  /** Keep stdout text in the result (off for long NDJSON streams, which are parsed instead). */
  keepStdout?: boolean;
}

const STDERR_KEPT = 16_000; // the end of stderr is what explains a failure

export function runProgram(executable: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const result: RunResult = {
      code: null,
      signal: null,
      stdout: "",
      stderr: "",
      spawnError: null,
      timedOut: false,
    };
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const child = spawn(executable, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      windowsHide: true,
      shell: false,
    });
    const timer = options.timeoutMs
      ? setTimeout(() => {
          result.timedOut = true;
          child.kill("SIGKILL");
        }, options.timeoutMs)
      : undefined;
    child.stdout.on("data", (chunk: Buffer) => {
      if (options.keepStdout !== false) result.stdout += chunk.toString("utf8");
      options.onStdout?.(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      result.stderr = (result.stderr + chunk.toString("utf8")).slice(-STDERR_KEPT);
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      result.spawnError = error;
      finish();
    });
    child.on("close", (code, signal) => {
      result.code = code;
      result.signal = signal;
      finish();
    });
  });
}

export interface JsonRunResult extends RunResult {
  events: Event[];
  /** Lines on stdout that were not protocol events. */
  ignored: string[];
}

/** Runs a `--json` command, handing each event over as it arrives and keeping them all. */
export async function runJson(
  executable: string,
  args: string[],
  options: RunOptions & { onEvent?: (event: Event) => void } = {},
): Promise<JsonRunResult> {
  const events: Event[] = [];
  const reader = new NdjsonReader((event) => {
    events.push(event);
    options.onEvent?.(event);
  });
  const result = await runProgram(executable, args, {
    ...options,
    keepStdout: false,
    onStdout: (chunk) => {
      reader.push(chunk);
      options.onStdout?.(chunk);
    },
  });
  reader.end();
  return { ...result, events, ignored: reader.ignored };
}

/** The last lines of stderr, for a message: what the backend said when it failed. */
export function stderrTail(stderr: string, lines = 6): string {
  return stderr.trim().split(/\r?\n/).slice(-lines).join("\n");
}
