// A real `watch --json` session driven by the plugin's controller: saving a note that cites a
// paper gives note_written events and the status item goes linking → idle; a malformed id shows
// up in the problems with its file and line; unloading stops the watcher.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { WatchController } from "../src/controller";
import { StatusModel } from "../src/status";
import { systemProcesses } from "../src/attach";
import type { Event } from "../src/protocol";
import { backendEnv, backendOrSkip, makeVault, startArxivServer, waitFor, writeNote } from "./backend";

test("a note saved with an arXiv URL gets its paper note, seen as events and in the status item", async (t) => {
  const bin = backendOrSkip(t);
  if (!bin) return;
  const server = await startArxivServer();
  const { vault, cleanup } = makeVault({ "Welcome.md": "Nothing cited yet.\n" });
  const model = new StatusModel();
  const events: Event[] = [];
  const texts: string[] = [];
  model.onChange(() => texts.push(model.view().text));
  const controller = new WatchController({
    vault,
    executable: bin,
    model,
    env: backendEnv(server),
    extraArgs: ["--settle", "0.5"],
    onEvent: (event) => events.push(event),
  });
  t.after(async () => {
    await controller.stop();
    cleanup();
    await server.stop();
  });
  controller.start();
  assert.equal(controller.mode, "own");
  await waitFor("the watcher to be idle", () => model.view().state === "idle");
  assert.ok(texts.includes("vaultpapers: catching up…"), texts.join(" | "));
  const before = events.length;

  writeNote(vault, "Reading/2021-07 log.md", "Started Perceiver: https://arxiv.org/abs/2103.03206\nTypo: https://arxiv.org/abs/2006.162360\n");
  const written = await waitFor("a paper note written", () =>
    events.slice(before).find((e) => e.event === "note_written" && e.kind === "paper" && e.action === "created"),
  );
  const paperPath = String(written.path);
  assert.match(paperPath, /^Papers\/.*2103\.03206.*\.md$/);
  assert.ok(existsSync(join(vault, paperPath)), "the event names a file that exists");
  assert.match(readFileSync(join(vault, paperPath), "utf8"), /arxiv_id: ['"]2103\.03206['"]/);

  // Once the note is quiet, the link goes into it: a note_written (kind note) and link_inserted.
  const linked = await waitFor("links inserted into the note", () =>
    events.slice(before).find((e) => e.event === "link_inserted" && e.path === "Reading/2021-07 log.md"),
  );
  assert.deepEqual(linked.papers, ["2103.03206"]);
  assert.match(readFileSync(join(vault, "Reading/2021-07 log.md"), "utf8"), /2103\.03206 \[\[/);

  await waitFor("the problem of the malformed id", () => model.problems.find((p) => p.line === 2));
  const problem = model.problems.find((p) => p.line === 2)!;
  assert.equal(problem.file, "Reading/2021-07 log.md");
  assert.equal(problem.code, "invalid-arxiv-id");
  await waitFor("idle again", () => model.view().state === "idle");
  const session = texts.slice(texts.lastIndexOf("vaultpapers: catching up…") + 1);
  assert.ok(session.includes("vaultpapers: linking…"), session.join(" | "));

  // Every run of the session is whole: started, finished, in order.
  const runs = events.filter((e) => e.event === "run_started" || e.event === "run_finished").map((e) => e.event);
  for (let i = 0; i < runs.length; i += 2) assert.deepEqual(runs.slice(i, i + 2), ["run_started", "run_finished"]);

  const pid = controller.supervisor!.pid!;
  await controller.stop();
  assert.equal(systemProcesses.alive(pid), false);
  assert.equal(model.view().state, "off");
  assert.deepEqual(readdirSync(join(vault, "Papers")).filter((n) => n.endsWith(".md")).length, 1);
});
