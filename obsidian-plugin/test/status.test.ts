// The status-bar item: idle, linking, N pending, error, from the watcher's events.

import { test } from "node:test";
import assert from "node:assert/strict";
import { StatusModel } from "../src/status";
import type { Event } from "../src/protocol";

const e = (event: string, fields: Record<string, unknown> = {}): Event => ({ v: 1, event, ...fields });

test("a watcher session moves the item through catching up, idle, linking, pending and back", () => {
  const model = new StatusModel();
  const seen: string[] = [];
  model.onChange(() => seen.push(model.view().text));
  assert.equal(model.view().state, "off");
  model.apply(e("watcher_state", { state: "starting", pending: 0, settling: 0 }));
  model.apply(e("watcher_state", { state: "catching_up", pending: 0, settling: 0 }));
  model.apply(e("run_started", { command: "watch" }));
  model.apply(e("problem", { file: "a.md", line: 4, message: "malformed", code: "invalid-arxiv-id" }));
  assert.equal(model.problems.length, 0, "problems count once their run has finished");
  model.apply(e("run_finished", { exit_code: 0, counts: { pending: 0, problems: 1 } }));
  model.apply(e("watcher_state", { state: "watching", pending: 0, settling: 0 }));
  assert.equal(model.view().state, "idle");
  assert.deepEqual(model.problems, [{ file: "a.md", line: 4, message: "malformed", code: "invalid-arxiv-id" }]);
  model.apply(e("watcher_state", { state: "linking", pending: 0, settling: 1 }));
  assert.equal(model.view().state, "linking");
  model.apply(e("run_started", { command: "watch" }));
  model.apply(e("pending", { papers: [{ id: "2103.03206", reason: "arXiv: 503" }, { id: "2107.14795", reason: "x" }] }));
  model.apply(e("run_finished", { exit_code: 1, counts: { pending: 2, problems: 0 } }));
  model.apply(e("watcher_state", { state: "offline", pending: 2, settling: 0, message: "arXiv answers 503" }));
  assert.equal(model.view().text, "vaultpapers: 2 pending");
  assert.match(model.view().tooltip, /cannot be reached/);
  assert.equal(model.problems.length, 0, "the last run found none");
  model.apply(e("watcher_state", { state: "watching", pending: 0, settling: 0 }));
  assert.equal(model.view().state, "idle");
  assert.deepEqual(seen.slice(0, 3), ["vaultpapers: linking…", "vaultpapers: catching up…", "vaultpapers: catching up…"]);
});

test("errors: a fatal event, a failed state; a new state clears a failed one", () => {
  const model = new StatusModel();
  model.apply(e("error", { message: "a watcher is already running", exit_code: 1 }));
  assert.equal(model.view().state, "error");
  assert.match(model.view().tooltip, /already running/);
  model.apply(e("watcher_state", { state: "failed", pending: 0, settling: 0, message: "disk full" }));
  assert.match(model.view().tooltip, /disk full/);
  model.apply(e("watcher_state", { state: "watching", pending: 0, settling: 0 }));
  assert.equal(model.view().state, "idle");
});

test("hide-when-idle hides only the idle item; unknown events change nothing", () => {
  const model = new StatusModel();
  model.hideWhenIdle = true;
  let changes = 0;
  model.onChange(() => changes++);
  model.apply(e("watcher_state", { state: "watching", pending: 0, settling: 0 }));
  assert.equal(model.view().hidden, true);
  model.apply(e("note_written", { path: "Papers/x.md" }));
  model.apply(e("from_the_future", {}));
  assert.equal(changes, 1);
  model.apply(e("watcher_state", { state: "watching", pending: 3, settling: 0 }));
  assert.equal(model.view().hidden, false);
  model.fail("backend missing");
  assert.equal(model.view().hidden, false);
});

test("a run that fails (no run_finished, the state failed) leaves linking; the next state clears it", () => {
  const model = new StatusModel();
  model.apply(e("watcher_state", { state: "watching", pending: 0, settling: 0 }));
  model.apply(e("watcher_state", { state: "linking", pending: 0, settling: 0 }));
  model.apply(e("run_started", { command: "watch" }));
  assert.equal(model.view().state, "linking");
  model.apply(e("watcher_state", { state: "failed", pending: 0, settling: 0, message: "database is locked" }));
  assert.equal(model.view().state, "error");
  model.apply(e("watcher_state", { state: "watching", pending: 0, settling: 0 }));
  assert.equal(model.view().state, "idle");
});
