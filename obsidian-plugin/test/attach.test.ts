// A watcher already runs on the vault (systemd, another window): the plugin reads its status file
// instead of starting a second, and takes over when it stops.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WatchController } from "../src/controller";
import { StatusModel } from "../src/status";
import { findRunningWatcher, snapshotFrom, systemProcesses } from "../src/attach";
import { backendEnv, backendOrSkip, makeVault, startArxivServer, stopProcess, waitFor, writeNote } from "./backend";

test("a status file left by a watcher that is gone (killed, pid dead) is not a running watcher", (t) => {
  const { vault, cleanup } = makeVault({});
  t.after(cleanup);
  mkdirSync(join(vault, ".vaultpapers"));
  const dead = spawnSyncPid();
  writeFileSync(join(vault, ".vaultpapers", "status.json"), JSON.stringify({ pid: dead, vault, since: "x", stopped: null }));
  assert.equal(findRunningWatcher(vault), null);
  // Alive, but not vaultpapers (a reused pid): not a watcher either.
  writeFileSync(join(vault, ".vaultpapers", "status.json"), JSON.stringify({ pid: process.pid, vault, since: "x", stopped: null }));
  assert.equal(findRunningWatcher(vault), null);
  // Both shapes of pending and problems are read.
  const old = snapshotFrom({ pid: 5, pending: { "2103.03206": "arXiv: 503" }, problems: ["a.md:3: bad id", "b.md: unreadable"] });
  assert.deepEqual(old?.pending, [{ id: "2103.03206", reason: "arXiv: 503" }]);
  assert.deepEqual(old?.problems.map((p) => [p.file, p.line]), [["a.md", 3], ["b.md", null]]);
  const now = snapshotFrom({ pid: 5, state: "offline", pending: [{ id: "2103.03206", reason: "x" }], problems: [{ file: "a.md", line: 3, message: "m", code: "invalid-arxiv-id" }] });
  assert.equal(now?.state, "offline");
  assert.equal(now?.problems[0].code, "invalid-arxiv-id");
});

function spawnSyncPid(): number {
  return spawnSync(process.execPath, ["-e", ""], { stdio: "ignore" }).pid; // exited and reaped
}

test("attaches to a watcher started outside the plugin, and starts its own once that one stops", async (t) => {
  const bin = backendOrSkip(t);
  if (!bin) return;
  const server = await startArxivServer();
  const { vault, cleanup } = makeVault({ "Welcome.md": "Nothing cited yet.\n" });
  // The outside watcher, as systemd would run it: no --json, its own process.
  const outside = spawn(bin, ["watch", "--settle", "0.5", vault], { env: backendEnv(server), stdio: "ignore" });
  const model = new StatusModel();
  const controller = new WatchController({ vault, executable: bin, model, env: backendEnv(server), pollMs: 200 });
  t.after(async () => {
    await controller.stop();
    await stopProcess(outside);
    cleanup();
    await server.stop();
  });
  await waitFor("the outside watcher's status file", () => findRunningWatcher(vault));
  controller.start();
  assert.equal(controller.mode, "attached");
  assert.equal(controller.supervisor, null, "no second watcher started");
  assert.equal(controller.attachedPid, outside.pid);
  assert.match(model.view().tooltip, new RegExp(`already running \\(pid ${outside.pid}\\)`));

  // What the outside watcher does shows up through its status file.
  writeNote(vault, "Log.md", "Broken: https://arxiv.org/abs/2006.162360\n");
  await waitFor("the problem through the status file", () => model.problems.find((p) => p.file === "Log.md"));
  assert.equal(model.problems.find((p) => p.file === "Log.md")?.line, 1);

  // It stops: the plugin keeps the vault watched with a watcher of its own.
  await stopProcess(outside);
  await waitFor("our own watcher", () => controller.mode === "own" && controller.supervisor?.pid);
  const own = controller.supervisor!.pid!;
  await waitFor("our watcher to be watching", () => model.view().state === "idle" && findRunningWatcher(vault)?.pid === own);
  assert.ok(systemProcesses.alive(own));
});

test("a second watcher refused by the backend makes the plugin attach instead", async (t) => {
  const bin = backendOrSkip(t);
  if (!bin) return;
  const server = await startArxivServer();
  const { vault, cleanup } = makeVault({ "Welcome.md": "hello\n" });
  const outside = spawn(bin, ["watch", vault], { env: backendEnv(server), stdio: "ignore" });
  const model = new StatusModel();
  // A probe that cannot see the other process (another user's, a container): only the backend's
  // refusal tells the plugin a watcher runs.
  let blind = true;
  const probe = { alive: (pid: number) => !blind && systemProcesses.alive(pid), commandLine: systemProcesses.commandLine };
  const controller = new WatchController({ vault, executable: bin, model, env: backendEnv(server), probe, pollMs: 200 });
  t.after(async () => {
    await controller.stop();
    await stopProcess(outside);
    cleanup();
    await server.stop();
  });
  await waitFor("the outside watcher", () => findRunningWatcher(vault));
  controller.start();
  assert.equal(controller.mode, "own");
  blind = false;
  await waitFor("the plugin to attach after the refusal", () => controller.mode === "attached", 30_000);
  assert.equal(controller.attachedPid, outside.pid);
  assert.notEqual(model.view().state, "error");
});
