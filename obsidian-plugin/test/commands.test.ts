// The one-shot commands against the real backend: "Link vault now", "Why is this paper
// related?", "Refresh this paper"; and finding the open note's paper from its front matter.

import { test } from "node:test";
import assert from "node:assert/strict";
import { arxivIdFromFrontmatter, explainRelated, explanationFrom, linkVault, refreshPaper, summarizeRun } from "../src/commands";
import { backendEnv, backendOrSkip, makeVault, startArxivServer } from "./backend";

test("the paper a note is about: arxiv_id of paper notes, or an arXiv URL in the user's properties", () => {
  assert.equal(arxivIdFromFrontmatter({ vaultpapers: "paper", arxiv_id: "2103.03206" }), "2103.03206");
  assert.equal(arxivIdFromFrontmatter({ Source: "https://arxiv.org/abs/2107.14795v2" }), "2107.14795");
  assert.equal(arxivIdFromFrontmatter({ url: ["https://example.org", "arXiv:1706.03762"] }), "1706.03762");
  assert.equal(arxivIdFromFrontmatter({ arxiv_id: "hep-th/9711200" }), "hep-th/9711200");
  assert.equal(arxivIdFromFrontmatter({ url: "https://example.org/2103.03206" }), null, "not an arXiv link");
  assert.equal(arxivIdFromFrontmatter({ tags: ["2103.03206"] }), null);
  assert.equal(arxivIdFromFrontmatter(null), null);
});

test("link, related and refresh: what the plugin shows of each real run", async (t) => {
  const bin = backendOrSkip(t);
  if (!bin) return;
  const server = await startArxivServer();
  const { vault, cleanup } = makeVault({
    "Perceivers.md": "Perceiver https://arxiv.org/abs/2103.03206 and Perceiver IO https://arxiv.org/abs/2107.14795\n",
    "Typo.md": "x\nhttps://arxiv.org/abs/2006.162360\n",
  });
  t.after(async () => {
    cleanup();
    await server.stop();
  });
  const call = { executable: bin, vault, env: backendEnv(server) };

  const linked = await linkVault(call);
  assert.equal(linked.code, 0, linked.stderr);
  assert.equal(summarizeRun(linked), 'vaultpapers: 2 paper notes created, 0 updated, 2 links inserted, 1 problem(s): see "Show problems".');
  const problem = linked.events.find((e) => e.event === "problem");
  assert.deepEqual([problem?.file, problem?.line, problem?.code], ["Typo.md", 2, "invalid-arxiv-id"]);

  const related = await explainRelated(call, "2107.14795");
  assert.equal(related.code, 0, related.stderr);
  const explanation = explanationFrom(related, "2107.14795");
  assert.match(explanation.heading, /Perceiver IO/);
  assert.ok(explanation.lines.some((line) => line.includes("2103.03206")), explanation.lines.join("\n"));

  const unknown = await explainRelated(call, "1512.03385"); // not cited in this vault: no metadata here
  assert.equal(unknown.code, 1);
  assert.ok(explanationFrom(unknown, "1512.03385").lines[0].length > 0);

  const before = await server.requests();
  const refreshed = await refreshPaper(call, "2103.03206");
  assert.equal(refreshed.code, 0, refreshed.stderr);
  assert.ok((await server.requests()) > before, "refresh asked arXiv again");
  assert.match(summarizeRun(refreshed), /^vaultpapers: 0 paper notes created/);
  assert.ok(refreshed.events.some((e) => e.event === "refreshed"));
});
