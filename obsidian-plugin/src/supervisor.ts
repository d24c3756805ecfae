// Keeps one long-running child process (the watcher) alive: started on demand, stopped on
// request (SIGTERM, then SIGKILL if it does not go), started again with exponential backoff if
// it dies, until it has died too often in a row.

import { spawn, type ChildProcess } from "node:child_process";
import { NdjsonReader, type Event } from "./protocol";

export interface Backoff {
  initialMs: number; // first restart delay
  maxMs: number; // longest delay
  maxRestarts: number; // consecutive failed runs before giving up
  stableMs: number; // a run this long resets the count: it was working
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1_000, maxMs: 60_000, maxRestarts: 8, stableMs: 60_000 };

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string; // its end
  ranMs: number;
  spawnError: NodeJS.ErrnoException | null;
}

export type SupervisorState = "stopped" | "running" | "waiting" | "gave-up";

export interface SupervisorOptions {
  executable: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  backoff?: Backoff;
  onEvent?: (event: Event) => void;
  /** Called after each exit not asked for; return false to stop trying (a usage error, a
   * watcher already running: restarting would not help). */
  shouldRestart?: (exit: ExitInfo) => boolean;
  onExit?: (exit: ExitInfo, restartInMs: number | null) => void;
  onState?: (state: SupervisorState) => void;
}

/** The delay before restart number `failures` (1-based). */
export function backoffDelay(backoff: Backoff, failures: number): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, failures - 1));
}

export class Supervisor {
  private child: ChildProcess | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private wanted = false;
  private _state: SupervisorState = "stopped";
  private exited: Promise<void> = Promise.resolve();
  readonly backoff: Backoff;
  /** Every pid this supervisor started, oldest first (tests and logs). */
  readonly pids: number[] = [];

  constructor(private readonly options: SupervisorOptions) {
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  get state(): SupervisorState {
    return this._state;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  start(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.failures = 0;
    this.launch();
  }

  /** Stops the child and any pending restart; resolves once the child has exited. */
  async stop(graceMs = 8_000): Promise<void> {
    this.wanted = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const kill = setTimeout(() => child.kill("SIGKILL"), graceMs);
      child.kill("SIGTERM"); // the backend stops cleanly on SIGTERM and exits 0
      await this.exited;
      clearTimeout(kill);
    }
    this.setState("stopped");
  }

  /** Signals the child now, without waiting (a window closing cannot wait). No restart follows. */
  signal(signal: NodeJS.Signals): void {
    this.wanted = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.child?.kill(signal);
  }

  private launch(): void {
    this.timer = null;
    const started = Date.now();
    let stderr = "";
    let spawnError: NodeJS.ErrnoException | null = null;
    const reader = new NdjsonReader((event) => this.options.onEvent?.(event));
    const child = spawn(this.options.executable, this.options.args, {
      cwd: this.options.cwd,
      env: this.options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      windowsHide: true,
      shell: false,
    });
    this.child = child;
    if (child.pid !== undefined) this.pids.push(child.pid);
    this.setState("running");
    child.stdout?.on("data", (chunk: Buffer) => reader.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-8_000);
    });
    let done!: () => void;
    this.exited = new Promise((resolve) => (done = resolve));
    let closed = false;
    const onGone = (code: number | null, signal: NodeJS.Signals | null) => {
      if (closed) return;
      closed = true;
      reader.end();
      if (this.child === child) this.child = null;
      done();
      this.exitedOnItsOwn({ code, signal, stderr, ranMs: Date.now() - started, spawnError });
    };
    child.on("error", (error: NodeJS.ErrnoException) => {
      spawnError = error;
      if (child.pid === undefined) onGone(null, null); // never started: no close will come
    });
    child.on("close", onGone);
  }

  private exitedOnItsOwn(exit: ExitInfo): void {
    if (!this.wanted) {
      this.options.onExit?.(exit, null);
      return;
    }
    if (exit.ranMs >= this.backoff.stableMs) this.failures = 0;
    this.failures += 1;
    const restart =
      this.failures <= this.backoff.maxRestarts && (this.options.shouldRestart?.(exit) ?? true);
    if (!restart) {
      this.wanted = false;
      this.setState("gave-up");
      this.options.onExit?.(exit, null);
      return;
    }
    const delay = backoffDelay(this.backoff, this.failures);
    this.setState("waiting");
    this.options.onExit?.(exit, delay);
    this.timer = setTimeout(() => this.launch(), delay);
  }

  private setState(state: SupervisorState): void {
    if (state === this._state) return;
    this._state = state;
    this.options.onState?.(state);
  }
}
