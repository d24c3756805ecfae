// main.ts as Obsidian runs it, with the Obsidian API stood in for by test/fake-obsidian.ts and
// the real backend behind it: it loads and explains itself without the backend; with it, it
// watches the vault, answers its commands, and stops the watcher when unloaded.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import VaultpapersPlugin from "../main";
import { FakeApp, shown, type Command, type FakeElement, type FakeLeaf } from "./fake-obsidian";
import { INSTALL_COMMAND } from "../src/version";
import { systemProcesses } from "../src/attach";
import { backendEnv, backendOrSkip, makeVault, startArxivServer, waitFor } from "./backend";

interface Loaded {
  plugin: VaultpapersPlugin;
  statusBar: FakeElement;
  command(id: string): Command;
}

async function load(vault: string, data: unknown): Promise<Loaded> {
  const app = new FakeApp(vault);
  const plugin = new VaultpapersPlugin(app as never, { id: "vaultpapers" } as never);
  const fake = plugin as unknown as { data: unknown; statusBarItems: FakeElement[]; commands: Map<string, Command> };
  fake.data = data;
  await plugin.onload();
  await plugin.starting;
  return {
    plugin,
    statusBar: fake.statusBarItems[0],
    command: (id) => {
      const command = fake.commands.get(id);
      assert.ok(command, `command ${id}`);
      return command;
    },
  };
}

test("without the backend the plugin loads, says what is missing and how to install it", async (t) => {
  const { vault, cleanup } = makeVault({ "a.md": "hello\n" });
  t.after(cleanup);
  shown.notices.length = 0;
  const { plugin, statusBar, command } = await load(vault, { executable: "/nonexistent/bin/vaultpapers" });
  assert.equal(statusBar.text, "vaultpapers: error");
  assert.ok(statusBar.visible);
  assert.match(statusBar.attrs["aria-label"], /does not exist/);
  assert.ok(shown.notices.some((n) => n.includes(INSTALL_COMMAND)), shown.notices.join("\n"));
  // Its commands are there and answer with the same explanation instead of failing.
  for (const id of ["link-vault", "why-related", "show-problems", "refresh-paper"]) command(id);
  shown.notices.length = 0;
  command("link-vault").callback!();
  assert.ok(shown.notices.some((n) => n.includes(INSTALL_COMMAND)));
  await plugin.onunload();
});

test("with the backend: watching, the commands, the problems view, and a clean unload", async (t) => {
  const bin = backendOrSkip(t);
  if (!bin) return;
  const server = await startArxivServer();
  const { vault, cleanup } = makeVault({
    "Reading.md": "Perceiver https://arxiv.org/abs/2103.03206, Perceiver IO https://arxiv.org/abs/2107.14795\n",
    "Typo.md": "first line\nsecond https://arxiv.org/abs/2006.162360\n",
  });
  // The plugin's child processes inherit Obsidian's environment: here, the loopback arXiv.
  const saved = { ...process.env };
  Object.assign(process.env, backendEnv(server));
  t.after(async () => {
    process.env = saved;
    cleanup();
    await server.stop();
  });
  const { plugin, statusBar, command } = await load(vault, { executable: bin, hideWhenIdle: true });
  assert.equal(plugin.controller?.mode, "own");
  await waitFor("the status item to go idle (hidden)", () => plugin.model.view().state === "idle" && !statusBar.visible, 30_000);
  assert.equal(statusBar.text, "vaultpapers: idle");
  const papers = readdirSync(join(vault, "Papers")).filter((name) => name.includes("2107.14795"));
  assert.equal(papers.length, 1, "the watcher's catch-up made the paper notes");

  // "Why is this paper related?" only for a paper note, and it shows the backend's answer.
  const app = plugin.app as unknown as FakeApp;
  app.activePath = "Typo.md";
  assert.equal(command("why-related").checkCallback!(true), false);
  app.activePath = `Papers/${papers[0]}`;
  assert.equal(command("why-related").checkCallback!(true), true);
  shown.modals.length = 0;
  command("why-related").checkCallback!(false);
  const modal = await waitFor("the explanation", () => shown.modals[0]);
  assert.match(modal.title, /Perceiver IO/);
  assert.ok(modal.lines.some((line) => line.includes("2103.03206")), modal.lines.join("\n"));

  // "Show problems": the malformed id with its file and line; a click opens the note there.
  await command("show-problems").callback!();
  const leaf = app.leaves[0] as FakeLeaf;
  const view = leaf.view as unknown as { contentEl: FakeElement };
  const link = view.contentEl.all().find((el) => el.tag === "a");
  assert.equal(link?.text, "Typo.md:2");
  shown.opened.length = 0;
  link!.click();
  await waitFor("the note opened", () => shown.opened[0]);
  assert.deepEqual(shown.opened[0], { path: "Typo.md", state: { eState: { line: 1 } } });

  // "Link vault now": a one-shot run beside the watcher; nothing left to do.
  shown.notices.length = 0;
  command("link-vault").callback!();
  await waitFor("the run's summary", () => shown.notices.find((n) => /paper notes created/.test(n)));
  assert.ok(shown.notices.some((n) => n.startsWith("vaultpapers: 0 paper notes created")), shown.notices.join("\n"));

  const pid = plugin.controller!.supervisor!.pid!;
  await plugin.onunload();
  assert.equal(systemProcesses.alive(pid), false, "unloading stops the watcher");
});
