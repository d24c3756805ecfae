// The backend's machine interface, version 1 (docs/protocol.md): newline-delimited JSON events
// on stdout. This module only reads them; it knows nothing of Obsidian or of processes.
//
// Readers must ignore what they do not know (unknown events, unknown fields), so every event is
// kept as the object it was and only the fields the plugin uses are typed.

export const PROTOCOL_VERSION = 1;

export interface BaseEvent {
  v: number;
  event: string;
  time?: string;
  [field: string]: unknown;
}

export interface WatcherStateEvent extends BaseEvent {
  event: "watcher_state";
  state: string; // starting, catching_up, watching, linking, offline, stopped, failed
  pending?: number;
  settling?: number;
  message?: string | null;
}

export interface ProblemEvent extends BaseEvent {
  event: "problem";
  file: string | null;
  line: number | null;
  message: string;
  code?: string;
}

export interface RunFinishedEvent extends BaseEvent {
  event: "run_finished";
  exit_code: number;
  complete?: boolean;
  counts?: Record<string, number>;
}

export interface PendingEvent extends BaseEvent {
  event: "pending";
  papers: { id: string; reason?: string }[];
}

export interface NoteWrittenEvent extends BaseEvent {
  event: "note_written";
  path: string;
  kind?: string;
  action?: string;
}

export interface ErrorEvent extends BaseEvent {
  event: "error";
  message: string;
  exit_code?: number;
}

export type Event = BaseEvent;

/** The event a line holds, or null for anything that is not a v1 event (garbage, a log line
 * that strayed onto stdout, a later incompatible version). */
export function parseEventLine(line: string): Event | null {
  const text = line.trim();
  if (!text.startsWith("{")) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  if (record.v !== PROTOCOL_VERSION || typeof record.event !== "string") return null;
  return record as Event;
}

/** Splits a byte stream into lines as they complete: a chunk may end in the middle of a line
 * (or of a UTF-8 character), and the rest arrives with the next chunk. */
export class NdjsonReader {
  private buffered = "";
  private readonly decoder = new TextDecoder("utf-8");
  /** Lines that were not events, kept for diagnostics (the last few only). */
  readonly ignored: string[] = [];

  constructor(private readonly onEvent: (event: Event) => void) {}

  push(chunk: Uint8Array | string): void {
    this.buffered +=
      typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = this.buffered.indexOf("\n")) >= 0) {
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      this.line(line);
    }
  }

  /** The stream ended: a last line without its newline still counts. */
  end(): void {
    this.buffered += this.decoder.decode();
    if (this.buffered) this.line(this.buffered);
    this.buffered = "";
  }

  private line(line: string): void {
    if (!line.trim()) return;
    const event = parseEventLine(line);
    if (event) {
      this.onEvent(event);
    } else {
      this.ignored.push(line.length > 200 ? `${line.slice(0, 200)}…` : line);
      if (this.ignored.length > 20) this.ignored.shift();
    }
  }
}

export function isEvent<E extends Event>(event: Event, name: E["event"]): event is E {
  return event.event === name;
}
