// The one-shot commands the plugin offers, each one backend run with --json, and what to show
// of its answer. Pure functions over events, plus the runs themselves.

import type { Event, RunFinishedEvent, ErrorEvent } from "./protocol";
import { runJson, stderrTail, type JsonRunResult } from "./run";

// Properties that name a paper in the user's own paper notes (README, "Your own paper notes"),
// after `arxiv_id`, which vaultpapers' paper notes carry.
const PAPER_PROPERTIES = ["arxiv_id", "arxiv", "arxiv_url", "source", "url", "link", "paper", "pdf"];
const NEW_ID = /(?:^|[^\d.])(\d{4}\.\d{4,5})(?:v\d+)?(?![\d])/;
const OLD_ID = /(?:^|[^A-Za-z-])([a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?\/\d{7})(?:v\d+)?(?!\d)/;

/** The arXiv id a note's front matter names, or null. Values are taken as the backend would
 * see them: `arxiv_id: '2103.03206'`, `source: https://arxiv.org/abs/2103.03206v2`. */
export function arxivIdFromFrontmatter(frontmatter: Record<string, unknown> | null | undefined): string | null {
  if (!frontmatter) return null;
  const lowered = new Map(Object.entries(frontmatter).map(([key, value]) => [key.toLowerCase(), value]));
  for (const key of PAPER_PROPERTIES) {
    const value = lowered.get(key);
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) {
      if (typeof item !== "string" && typeof item !== "number") continue;
      const text = String(item);
      if (key !== "arxiv_id" && key !== "arxiv" && !/arxiv/i.test(text)) continue;
      const id = NEW_ID.exec(text)?.[1] ?? OLD_ID.exec(text)?.[1];
      if (id) return id;
    }
  }
  return null;
}

export function finished(events: Event[]): RunFinishedEvent | null {
  const last = [...events].reverse().find((event) => event.event === "run_finished");
  return (last as RunFinishedEvent | undefined) ?? null;
}

export function fatalError(events: Event[]): string | null {
  const error = events.find((event) => event.event === "error") as ErrorEvent | undefined;
  return error ? String(error.message) : null;
}

/** One line saying what a link or refresh run did, for a notice. */
export function summarizeRun(result: JsonRunResult): string {
  const error = fatalError(result.events);
  if (error) return `vaultpapers: ${error}`;
  if (result.spawnError) return `vaultpapers could not be started: ${result.spawnError.message}`;
  const end = finished(result.events);
  if (!end) {
    const said = stderrTail(result.stderr, 3);
    return `vaultpapers stopped without finishing (exit ${result.code ?? result.signal})${said ? `: ${said}` : ""}`;
  }
  const c = end.counts ?? {};
  const n = (key: string) => (typeof c[key] === "number" ? c[key] : 0);
  const parts = [
    `${n("paper_notes_created")} paper notes created`,
    `${n("paper_notes_updated")} updated`,
    `${n("links_inserted")} links inserted`,
  ];
  if (n("pending")) parts.push(`${n("pending")} pending`);
  if (n("problems")) parts.push(`${n("problems")} problem(s): see "Show problems"`);
  return `vaultpapers: ${parts.join(", ")}.`;
}

export interface BackendCall {
  executable: string;
  vault: string;
  env?: NodeJS.ProcessEnv;
  onEvent?: (event: Event) => void;
}

export function linkVault(call: BackendCall): Promise<JsonRunResult> {
  return runJson(call.executable, ["link", "--json", call.vault], { env: call.env, onEvent: call.onEvent });
}

export function refreshPaper(call: BackendCall, arxivId: string): Promise<JsonRunResult> {
  return runJson(call.executable, ["refresh", "--json", call.vault, arxivId], {
    env: call.env,
    onEvent: call.onEvent,
  });
}

export function explainRelated(call: BackendCall, arxivId: string): Promise<JsonRunResult> {
  return runJson(call.executable, ["related", "--json", arxivId, call.vault], {
    env: call.env,
    onEvent: call.onEvent,
    timeoutMs: 120_000,
  });
}

export interface Explanation {
  heading: string;
  lines: string[];
}

/** What the "Why is this paper related?" window shows, from a `related --json` answer. */
export function explanationFrom(result: JsonRunResult, arxivId: string): Explanation {
  const error = fatalError(result.events);
  const answer = result.events.find((event) => event.event === "related");
  if (!answer) {
    const said = error ?? stderrTail(result.stderr, 4) ?? "";
    return { heading: `arXiv ${arxivId}`, lines: [said || `no answer (exit ${result.code})`] };
  }
  const a = answer as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === "string" ? value : value == null ? "" : JSON.stringify(value));
  const heading = [text(a.short_name), text(a.title)].filter(Boolean).join(": ") || `arXiv ${arxivId}`;
  // The backend's own explanation, line by line (the same as `vaultpapers related` prints).
  if (Array.isArray(a.lines) && a.lines.length) return { heading, lines: a.lines.map(text) };
  const lines: string[] = [];
  const relations = Array.isArray(a.relations) ? (a.relations as Record<string, unknown>[]) : [];
  if (!relations.length) lines.push("No related papers in this vault.");
  for (const relation of relations) {
    const who = [text(relation.id), text(relation.title)].filter(Boolean).join(" ");
    lines.push(`${who}: ${text(relation.reason)}`);
  }
  return { heading, lines };
}
