// A watcher may already run on the vault (started by systemd, launchd, a terminal, or another
// Obsidian window). The backend allows one per vault, so the plugin then reads what that watcher
// publishes in `.vaultpapers/status.json` instead of starting a second.
//
// How the backend writes it (src/vaultpapers/watch/status.py, lock.py): status.json is replaced
// atomically; `pid` is the watcher's, `stopped` is null while it runs and set when it stops
// cleanly. A watcher killed outright leaves `stopped` null, so the pid must also be alive. The
// authoritative test is the flock on `.vaultpapers/watch.lock`, which node cannot take; the pid
// check is the next best, and if it is ever wrong the backend still refuses the second watcher
// ("already running"), which the controller treats as a reason to attach.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { problemFromEvent, problemFromStatusLine, type Problem } from "./problems";

export const STATE_DIR = ".vaultpapers";

export interface WatcherSnapshot {
  pid: number;
  /** The watcher's last published state (watching, offline, failed, ...), null if not said. */
  state: string | null;
  message: string | null;
  pending: { id: string; reason: string }[];
  settling: number;
  problems: Problem[];
  errors: string[];
  observer: string;
  lastActivity: string | null;
}

export interface ProcessProbe {
  /** Whether a process with this pid exists. */
  alive(pid: number): boolean;
  /** Its command line, where the system tells (Linux /proc), else null. */
  commandLine(pid: number): string | null;
}

export const systemProcesses: ProcessProbe = {
  alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      // EPERM: it exists but belongs to someone else.
      return (error as NodeJS.ErrnoException).code === "EPERM";
    }
  },
  commandLine(pid: number): string | null {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
    } catch {
      return null;
    }
  },
};

export function statusFilePath(vault: string): string {
  return join(vault, STATE_DIR, "status.json");
}

/** The status file's content, or null when there is none or it cannot be read. */
export function readStatusFile(vault: string): Record<string, unknown> | null {
  try {
    const data: unknown = JSON.parse(readFileSync(statusFilePath(vault), "utf8"));
    return typeof data === "object" && data !== null && !Array.isArray(data)
      ? (data as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

export function snapshotFrom(data: Record<string, unknown>): WatcherSnapshot | null {
  const pid = data.pid;
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid <= 0) return null;
  const strings = (value: unknown): string[] =>
    Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
  return {
    pid,
    state: typeof data.state === "string" ? data.state : null,
    message: typeof data.message === "string" ? data.message : null,
    pending: pendingFrom(data.pending),
    settling: strings(data.settling).length,
    problems: Array.isArray(data.problems) ? data.problems.map(problemFrom).filter((p): p is Problem => p !== null) : [],
    errors: strings(data.errors),
    observer: typeof data.observer === "string" ? data.observer : "",
    lastActivity: typeof data.last_activity === "string" ? data.last_activity : null,
  };
}

/** The watcher running on the vault, as its status file describes it; null when none runs.
 * `exceptPid` leaves out a watcher the plugin started itself. */
export function findRunningWatcher(
  vault: string,
  probe: ProcessProbe = systemProcesses,
  exceptPid: number | null = null,
): WatcherSnapshot | null {
  const data = readStatusFile(vault);
  if (!data || data.stopped) return null;
  const snapshot = snapshotFrom(data);
  if (!snapshot || snapshot.pid === exceptPid || !probe.alive(snapshot.pid)) return null;
  // A pid reused by an unrelated process after the watcher was killed: where the system tells
  // the command line, it must be vaultpapers'.
  const command = probe.commandLine(snapshot.pid);
  if (command !== null && !command.includes("vaultpapers")) return null;
  return snapshot;
}

// Pending papers: a list of {id, reason} (docs/protocol.md, `status`), or, as status.json was
// written before the protocol, a mapping of id to reason.
function pendingFrom(value: unknown): { id: string; reason: string }[] {
  if (Array.isArray(value)) {
    return value
      .filter((item): item is Record<string, unknown> => typeof item === "object" && item !== null)
      .filter((item) => typeof item.id === "string")
      .map((item) => ({ id: item.id as string, reason: String(item.reason ?? "") }));
  }
  if (typeof value === "object" && value !== null) {
    return Object.entries(value as Record<string, unknown>).map(([id, reason]) => ({ id, reason: String(reason) }));
  }
  return [];
}

// A problem: an object as in `problem` events, or the "path:line: message" text of older files.
function problemFrom(value: unknown): Problem | null {
  if (typeof value === "string") return problemFromStatusLine(value);
  if (typeof value === "object" && value !== null) return problemFromEvent({ v: 1, event: "problem", ...value });
  return null;
}
