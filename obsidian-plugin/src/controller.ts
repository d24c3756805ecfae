// Keeps the vault watched while the plugin is loaded: attaches to a watcher that already runs on
// the vault (reading its status file), or starts `vaultpapers watch --json VAULT` and supervises
// it. Feeds the status model either way. Knows nothing of Obsidian's UI.

import { findRunningWatcher, systemProcesses, type ProcessProbe } from "./attach";
import type { Event, ErrorEvent } from "./protocol";
import type { StatusModel } from "./status";
import { stderrTail } from "./run";
import { Supervisor, DEFAULT_BACKOFF, type Backoff, type ExitInfo } from "./supervisor";

export type WatchMode = "idle" | "own" | "attached" | "failed";

export interface ControllerOptions {
  vault: string;
  executable: string;
  model: StatusModel;
  extraArgs?: string[]; // e.g. ["--offline"]
  env?: NodeJS.ProcessEnv;
  backoff?: Backoff;
  pollMs?: number; // how often an attached watcher's status file is read
  probe?: ProcessProbe;
  onEvent?: (event: Event) => void;
  log?: (message: string) => void;
}

// What the backend says when the vault already has a watcher (watch/lock.py).
const ALREADY_RUNNING = /already running/i;
// click's message when an option is unknown: a backend older than the --json interface.
const NO_SUCH_OPTION = /no such option/i;
const EXIT_USAGE = 2;

export class WatchController {
  mode: WatchMode = "idle";
  supervisor: Supervisor | null = null;
  attachedPid: number | null = null;
  private poller: ReturnType<typeof setInterval> | null = null;
  private lastError: string | null = null;
  private readonly probe: ProcessProbe;

  constructor(private readonly options: ControllerOptions) {
    this.probe = options.probe ?? systemProcesses;
  }

  start(): void {
    if (this.mode === "own" || this.mode === "attached") return;
    if (!this.attachIfRunning()) this.startOwn();
  }

  async stop(): Promise<void> {
    this.stopPolling();
    const supervisor = this.supervisor;
    this.supervisor = null;
    this.mode = "idle";
    if (supervisor) await supervisor.stop();
    this.attachedPid = null;
    this.options.model.off("stopped");
  }

  private attachIfRunning(): boolean {
    const own = this.supervisor?.pid ?? null;
    const snapshot = findRunningWatcher(this.options.vault, this.probe, own);
    if (!snapshot) return false;
    this.mode = "attached";
    this.attachedPid = snapshot.pid;
    this.options.log?.(`a watcher already runs on the vault (pid ${snapshot.pid}): attaching`);
    this.options.model.applySnapshot(snapshot);
    this.stopPolling();
    this.poller = setInterval(() => this.poll(), this.options.pollMs ?? 2_000);
    return true;
  }

  private poll(): void {
    const snapshot = findRunningWatcher(this.options.vault, this.probe);
    if (snapshot) {
      this.attachedPid = snapshot.pid;
      this.options.model.applySnapshot(snapshot);
      return;
    }
    // The other watcher stopped: keep the vault watched by starting ours.
    this.options.log?.("the watcher we attached to has stopped: starting our own");
    this.stopPolling();
    this.attachedPid = null;
    this.mode = "idle";
    this.startOwn();
  }

  private stopPolling(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
  }

  private startOwn(): void {
    const { executable, vault, model } = this.options;
    this.mode = "own";
    this.lastError = null;
    model.starting();
    this.supervisor = new Supervisor({
      executable,
      args: ["watch", "--json", ...(this.options.extraArgs ?? []), vault],
      env: this.options.env,
      backoff: this.options.backoff ?? DEFAULT_BACKOFF,
      onEvent: (event) => {
        if (event.event === "error") this.lastError = (event as ErrorEvent).message ?? null;
        model.apply(event);
        this.options.onEvent?.(event);
      },
      shouldRestart: (exit) => this.shouldRestart(exit),
      onExit: (exit, restartInMs) => this.exited(exit, restartInMs),
    });
    this.supervisor.start();
  }

  private shouldRestart(exit: ExitInfo): boolean {
    const said = `${this.lastError ?? ""}\n${exit.stderr}`;
    if (exit.spawnError) return false;
    if (ALREADY_RUNNING.test(said)) return false; // handled in exited(): attach instead
    return exit.code !== EXIT_USAGE; // bad configuration: the same again until the user fixes it
  }

  private exited(exit: ExitInfo, restartInMs: number | null): void {
    if (this.mode !== "own") return; // stopped on purpose
    const said = stderrTail(`${this.lastError ?? ""}\n${exit.stderr}`);
    const how = exit.spawnError
      ? `could not be started (${exit.spawnError.code ?? exit.spawnError.message})`
      : exit.signal
        ? `was ended by ${exit.signal}`
        : `exited with code ${exit.code}`;
    if (restartInMs !== null) {
      this.options.log?.(`the watcher ${how}; restarting in ${Math.round(restartInMs / 1000)} s`);
      this.options.model.fail(`The watcher ${how}; restarting in ${Math.round(restartInMs / 1000)} s.${said ? `\n${said}` : ""}`);
      // The model leaves "error" as soon as the new watcher reports its state.
      return;
    }
    if (ALREADY_RUNNING.test(said) && this.attachIfRunning()) {
      this.supervisor = null;
      return;
    }
    this.mode = "failed";
    const hint = NO_SUCH_OPTION.test(said)
      ? " The installed vaultpapers is too old for this plugin: upgrade it."
      : exit.code === EXIT_USAGE
        ? " Fix the vault's .vaultpapers/config.yaml, then reload the plugin."
        : "";
    this.options.log?.(`the watcher ${how}; not restarting`);
    this.options.model.fail(`The watcher ${how} and is not restarted.${hint}${said ? `\n${said}` : ""}`);
  }
}
