// What the status-bar item shows: idle, linking, N pending, or error, worked out from the
// watcher's events (a watcher we started) or from its status file (one we attached to).

import type { Event, PendingEvent, RunFinishedEvent, WatcherStateEvent, ErrorEvent } from "./protocol";
import { problemFromEvent, type Problem } from "./problems";
import type { WatcherSnapshot } from "./attach";

export type StatusState = "off" | "idle" | "linking" | "pending" | "error";

export interface StatusView {
  state: StatusState;
  text: string; // the status bar's few words
  tooltip: string; // the details, on hover
  hidden: boolean; // hide-when-idle
}

// Watcher states (protocol: watcher_state.state) in which the backend is working.
const BUSY = new Set(["starting", "catching_up", "linking"]);

export class StatusModel {
  hideWhenIdle = false;
  /** Problems of the last finished run (or of the attached watcher's status file). */
  problems: Problem[] = [];
  pending = 0;
  settling = 0;
  private watcherState: string | null = null;
  private running = false;
  private runProblems: Problem[] = [];
  private failure: string | null = null;
  private offNote = "not running";
  private attachedPid: number | null = null;
  private readonly listeners: (() => void)[] = [];

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** The backend cannot run or stopped for good: missing, too old, sandboxed, gave up. */
  fail(message: string): void {
    this.failure = message;
    this.changed();
  }

  /** Not running, and that is no fault (the plugin is unloading, watching is turned off). */
  off(note: string): void {
    this.failure = null;
    this.watcherState = null;
    this.running = false;
    this.attachedPid = null;
    this.offNote = note;
    this.changed();
  }

  /** A watcher (ours) is being started again; the old failure no longer holds. */
  starting(): void {
    this.failure = null;
    this.attachedPid = null;
    this.watcherState = "starting";
    this.changed();
  }

  apply(event: Event): void {
    switch (event.event) {
      case "watcher_state": {
        const e = event as WatcherStateEvent;
        this.watcherState = typeof e.state === "string" ? e.state : this.watcherState;
        // A run that fails ends with the state `failed` and no run_finished; whatever state
        // follows a run but `linking` means no run is under way.
        if (e.state !== "linking") this.running = false;
        if (typeof e.pending === "number") this.pending = e.pending;
        if (typeof e.settling === "number") this.settling = e.settling;
        if (e.state === "failed") this.failure = e.message || "the watcher failed";
        else if (e.state !== "stopped") this.failure = null;
        break;
      }
      case "run_started":
        this.running = true;
        this.runProblems = [];
        break;
      case "problem": {
        const problem = problemFromEvent(event);
        if (problem) this.runProblems.push(problem);
        break;
      }
      case "pending": {
        const papers = (event as PendingEvent).papers;
        if (Array.isArray(papers)) this.pending = papers.length;
        break;
      }
      case "run_finished": {
        const e = event as RunFinishedEvent;
        this.running = false;
        this.problems = this.runProblems;
        this.runProblems = [];
        if (e.counts && typeof e.counts.pending === "number") this.pending = e.counts.pending;
        break;
      }
      case "error":
        this.running = false;
        this.failure = (event as ErrorEvent).message || "the backend reported an error";
        break;
      default:
        return; // an event the status bar does not need (note_written, progress, ...)
    }
    this.changed();
  }

  /** A watcher we did not start, as its status file describes it. */
  applySnapshot(snapshot: WatcherSnapshot): void {
    this.running = false;
    this.attachedPid = snapshot.pid;
    this.watcherState = snapshot.state && snapshot.state !== "stopped" ? snapshot.state : "watching";
    this.failure = snapshot.state === "failed" ? snapshot.message || "the watcher's last run failed" : null;
    this.pending = snapshot.pending.length;
    this.settling = snapshot.settling;
    this.problems = snapshot.problems;
    this.changed();
  }

  view(): StatusView {
    const state = this.state();
    const details: string[] = [];
    const problems = this.problems.length
      ? `${this.problems.length} problem(s): use "Show problems"`
      : "no problems";
    let text: string;
    switch (state) {
      case "error":
        text = "vaultpapers: error";
        details.push(this.failure ?? "");
        break;
      case "off":
        text = "vaultpapers: off";
        details.push(this.offNote);
        break;
      case "linking":
        text = this.watcherState === "catching_up" ? "vaultpapers: catching up…" : "vaultpapers: linking…";
        break;
      case "pending":
        text = `vaultpapers: ${this.pending} pending`;
        details.push(`${this.pending} paper(s) waiting for arXiv metadata`);
        break;
      default:
        text = "vaultpapers: idle";
    }
    if (state !== "off" && state !== "error") {
      details.push(
        this.attachedPid !== null
          ? `watched by a vaultpapers watcher already running (pid ${this.attachedPid})`
          : "watched by vaultpapers",
      );
      if (this.watcherState === "offline") details.push("arXiv cannot be reached; retrying");
      if (this.settling) details.push(`${this.settling} note(s) waiting to be quiet before links go in`);
      details.push(problems);
    }
    return {
      state,
      text,
      tooltip: details.filter(Boolean).join("\n"),
      hidden: this.hideWhenIdle && state === "idle",
    };
  }

  state(): StatusState {
    if (this.failure !== null) return "error";
    if (this.watcherState === null || this.watcherState === "stopped") return "off";
    if (this.running || BUSY.has(this.watcherState)) return "linking";
    if (this.pending > 0) return "pending";
    return "idle";
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
