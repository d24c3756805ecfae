// Problems the backend reported (a malformed arXiv id, a note it could not write), each with the
// note and line it is about, for the "Show problems" view.

import type { Event, ProblemEvent } from "./protocol";

export interface Problem {
  file: string | null; // vault-relative, "/" separators
  line: number | null; // 1-based
  message: string;
  code: string | null;
}

export function problemFromEvent(event: Event): Problem | null {
  if (event.event !== "problem") return null;
  const p = event as ProblemEvent;
  if (typeof p.message !== "string") return null;
  return {
    file: typeof p.file === "string" ? p.file : null,
    line: typeof p.line === "number" && p.line > 0 ? p.line : null,
    message: p.message,
    code: typeof p.code === "string" ? p.code : null,
  };
}

// status.json keeps problems as the text `vaultpapers status` prints: "path:line: message", or
// "path: message" when the problem has no line.
const WITH_LINE = /^(.+?\.md):(\d+): (.*)$/s;
const WITHOUT_LINE = /^(.+?\.(?:md|bib|json)): (.*)$/s;

export function problemFromStatusLine(text: string): Problem {
  const lined = WITH_LINE.exec(text);
  if (lined) return { file: lined[1], line: Number(lined[2]), message: lined[3], code: null };
  const unlined = WITHOUT_LINE.exec(text);
  if (unlined) return { file: unlined[1], line: null, message: unlined[2], code: null };
  return { file: null, line: null, message: text, code: null };
}

export function describeProblem(problem: Problem): string {
  const where = problem.file ? (problem.line ? `${problem.file}:${problem.line}` : problem.file) : "";
  return where ? `${where}: ${problem.message}` : problem.message;
}
