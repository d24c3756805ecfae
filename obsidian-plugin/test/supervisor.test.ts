// Supervising the real `vaultpapers watch --json`: started, killed and started again after its
// backoff, stopped for good; a program that keeps failing is given up on.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Supervisor, backoffDelay, type ExitInfo } from "../src/supervisor";
import type { Event } from "../src/protocol";
import { systemProcesses } from "../src/attach";
import { backendEnv, backendOrSkip, makeVault, startArxivServer, waitFor } from "./backend";

test("backoff doubles from its first delay up to its longest", () => {
  const backoff = { initialMs: 500, maxMs: 4_000, maxRestarts: 10, stableMs: 60_000 };
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(backoff, n)), [500, 1000, 2000, 4000, 4000, 4000]);
});

test("the watcher is started, restarted after its backoff when killed, and stopped", async (t) => {
  const bin = backendOrSkip(t);
  if (!bin) return;
  const server = await startArxivServer();
  const { vault, cleanup } = makeVault({ "Reading.md": "Perceiver: https://arxiv.org/abs/2103.03206\n" });
  const events: Event[] = [];
  const exits: { exit: ExitInfo; restartInMs: number | null; at: number }[] = [];
  const starts: number[] = [];
  const supervisor = new Supervisor({
    executable: bin,
    args: ["watch", "--json", vault],
    env: backendEnv(server),
    backoff: { initialMs: 300, maxMs: 2_000, maxRestarts: 5, stableMs: 60_000 },
    onEvent: (event) => events.push(event),
    onExit: (exit, restartInMs) => exits.push({ exit, restartInMs, at: Date.now() }),
    onState: (state) => state === "running" && starts.push(Date.now()),
  });
  t.after(async () => {
    await supervisor.stop();
    cleanup();
    await server.stop();
  });
  supervisor.start();
  const watching = () => events.filter((e) => e.event === "watcher_state" && e.state === "watching").length;
  await waitFor("the watcher to be watching", () => watching() >= 1);
  const first = supervisor.pid!;
  assert.ok(systemProcesses.alive(first));

  // Killed outright (the OOM killer, a crash): it comes back after the first delay.
  process.kill(first, "SIGKILL");
  // (A watcher says "watching" after each run, so count from its death on.)
  await waitFor("the death to be seen", () => exits.length === 1);
  let seen = watching();
  await waitFor("a restarted watcher to be watching", () => watching() > seen);
  assert.equal(exits.length, 1);
  assert.equal(exits[0].exit.signal, "SIGKILL");
  assert.equal(exits[0].restartInMs, 300);
  assert.ok(starts[1] - exits[0].at >= 290, `restarted after ${starts[1] - exits[0].at} ms`);
  const second = supervisor.pid!;
  assert.notEqual(second, first);

  // Killed again: the delay doubles.
  process.kill(second, "SIGKILL");
  await waitFor("the second death to be seen", () => exits.length === 2);
  seen = watching();
  await waitFor("the third watcher", () => watching() > seen);
  assert.equal(exits[1].restartInMs, 600);

  // Stopped: SIGTERM, a clean exit (0, its last state "stopped"), no restart.
  const third = supervisor.pid!;
  await supervisor.stop();
  assert.equal(supervisor.state, "stopped");
  assert.equal(exits.length, 3);
  assert.equal(exits[2].exit.code, 0);
  assert.equal(exits[2].restartInMs, null);
  const states = events.filter((e) => e.event === "watcher_state").map((e) => e.state);
  assert.equal(states[states.length - 1], "stopped");
  assert.equal(systemProcesses.alive(third), false);
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(supervisor.pid, null, "nothing started after stop");
  assert.deepEqual(supervisor.pids, [first, second, third]);
});

test("a watcher that keeps failing is restarted with growing delays, then given up on", async (t) => {
  const bin = backendOrSkip(t);
  if (!bin) return;
  const exits: { exit: ExitInfo; restartInMs: number | null }[] = [];
  const errors: Event[] = [];
  // The real program on a vault that does not exist: it exits at once, every time.
  const supervisor = new Supervisor({
    executable: bin,
    args: ["watch", "--json", "/nonexistent/vault"],
    backoff: { initialMs: 50, maxMs: 200, maxRestarts: 3, stableMs: 60_000 },
    onEvent: (event) => event.event === "error" && errors.push(event),
    onExit: (exit, restartInMs) => exits.push({ exit, restartInMs }),
  });
  supervisor.start();
  await waitFor("the supervisor to give up", () => supervisor.state === "gave-up", 60_000);
  assert.deepEqual(exits.map((e) => e.restartInMs), [50, 100, 200, null]);
  assert.ok(exits.every((e) => e.exit.code === 2), JSON.stringify(exits.map((e) => e.exit.code)));
  assert.equal(errors.length, 4, "each run said why, as an error event");
  await supervisor.stop();
});

test("a program that cannot be started is reported once, not retried", async () => {
  const exits: ExitInfo[] = [];
  const supervisor = new Supervisor({
    executable: "/nonexistent/vaultpapers",
    args: ["watch", "--json", "/tmp"],
    backoff: { initialMs: 10, maxMs: 10, maxRestarts: 3, stableMs: 60_000 },
    shouldRestart: (exit) => exit.spawnError === null,
    onExit: (exit) => exits.push(exit),
  });
  supervisor.start();
  await waitFor("the supervisor to give up", () => supervisor.state === "gave-up");
  assert.equal(exits.length, 1);
  assert.equal(exits[0].spawnError?.code, "ENOENT");
});
