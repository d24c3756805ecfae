// Reading the backend's NDJSON stream: lines split anywhere, garbage, unknown events and fields.

import { test } from "node:test";
import assert from "node:assert/strict";
import { NdjsonReader, parseEventLine, type Event } from "../src/protocol";
import { runJson } from "../src/run";
import { backendOrSkip, makeVault, startArxivServer, backendEnv } from "./backend";

function read(chunks: (string | Uint8Array)[]): { events: Event[]; ignored: string[] } {
  const events: Event[] = [];
  const reader = new NdjsonReader((event) => events.push(event));
  for (const chunk of chunks) reader.push(chunk);
  reader.end();
  return { events, ignored: reader.ignored };
}

test("an event split over chunks, even inside a UTF-8 character, is read once, whole", () => {
  const line = JSON.stringify({ v: 1, event: "problem", file: "노트/한국어.md", line: 3, message: "bad id", code: "invalid-arxiv-id" }) + "\n";
  const bytes = new TextEncoder().encode(line + line);
  for (let cut = 1; cut < bytes.length; cut += 3) {
    const { events } = read([bytes.slice(0, cut), bytes.slice(cut)]);
    assert.equal(events.length, 2, `cut at ${cut}`);
    assert.equal(events[0].file, "노트/한국어.md");
  }
});

test("garbage, log lines, other protocol versions and blank lines are ignored, not fatal", () => {
  const { events, ignored } = read([
    "WARNING vaultpapers: something\n",
    '{"v": 1, "event": "run_started", "command": "link"}\n',
    "{not json\n",
    "\n",
    '{"v": 2, "event": "run_started"}\n',
    "[1, 2]\n",
    '{"v": 1, "no_event": true}\n',
    '{"v": 1, "event": "run_finished", "exit_code": 0}',
  ]);
  assert.deepEqual(events.map((e) => e.event), ["run_started", "run_finished"]);
  assert.equal(ignored.length, 5);
});

test("unknown events and unknown fields pass through untouched, for readers to ignore", () => {
  const event = parseEventLine('{"v":1,"event":"from_the_future","novel":{"a":1},"time":"2026-12-05T21:00:00.123Z"}');
  assert.ok(event);
  assert.equal(event.event, "from_the_future");
  assert.deepEqual(event.novel, { a: 1 });
});

test("a real `link --json` run read in random chunks gives the events its lines hold", async (t) => {
  const bin = backendOrSkip(t);
  if (!bin) return;
  const server = await startArxivServer();
  const { vault, cleanup } = makeVault({
    "Reading.md": "Perceiver: https://arxiv.org/abs/2103.03206\nBroken: https://arxiv.org/abs/2006.162360\n",
  });
  t.after(async () => {
    cleanup();
    await server.stop();
  });
  const chunks: Buffer[] = [];
  const result = await runJson(bin, ["link", "--json", vault], {
    env: backendEnv(server),
    onStdout: (chunk) => chunks.push(chunk),
  });
  assert.equal(result.ignored.length, 0, `stdout held non-events: ${result.ignored.join(" | ")}`);
  const names = result.events.map((e) => e.event);
  assert.equal(names[0], "run_started");
  assert.equal(names[names.length - 1], "run_finished");
  assert.ok(result.events.some((e) => e.event === "note_written" && e.kind === "paper"), names.join(","));
  const problem = result.events.find((e) => e.event === "problem");
  assert.equal(problem?.file, "Reading.md");
  assert.equal(problem?.line, 2);
  // The same bytes cut at random places read the same.
  const whole = Buffer.concat(chunks);
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let round = 0; round < 20; round++) {
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < whole.length; ) {
      const size = 1 + Math.floor(random() * 40);
      pieces.push(whole.subarray(at, at + size));
      at += size;
    }
    assert.deepEqual(read(pieces).events, result.events);
  }
});
