// The Obsidian side of the plugin: settings, status bar, commands, the problems view. All the
// work is done by the vaultpapers program in child processes (src/); nothing here blocks the UI
// or writes a note.

import {
  App,
  FileSystemAdapter,
  ItemView,
  MarkdownView,
  Modal,
  Notice,
  Plugin,
  PluginSettingTab,
  Setting,
  TFile,
  type WorkspaceLeaf,
} from "obsidian";
import { homedir } from "node:os";
import { resolveBackend, DEFAULT_SETTINGS, type Backend, type PluginSettings } from "./src/backend";
import { WatchController } from "./src/controller";
import { StatusModel } from "./src/status";
import { detectExecutable, type DetectContext } from "./src/detect";
import {
  arxivIdFromFrontmatter,
  explainRelated,
  explanationFrom,
  linkVault,
  refreshPaper,
  summarizeRun,
} from "./src/commands";
import { describeProblem, problemFromEvent, type Problem } from "./src/problems";
import type { JsonRunResult } from "./src/run";

export const PROBLEMS_VIEW = "vaultpapers-problems";

export default class VaultpapersPlugin extends Plugin {
  settings: PluginSettings = { ...DEFAULT_SETTINGS };
  model = new StatusModel();
  backend: Backend | null = null;
  controller: WatchController | null = null;
  vaultPath: string | null = null;
  private statusBar: HTMLElement | null = null;
  private oneShotProblems: Problem[] | null = null;
  /** Settles once the backend is started (or found missing): onunload waits for it. */
  starting: Promise<void> = Promise.resolve();
  private unloaded = false;

  async onload(): Promise<void> {
    this.settings = { ...DEFAULT_SETTINGS, ...((await this.loadData()) as Partial<PluginSettings> | null) };
    this.model.hideWhenIdle = this.settings.hideWhenIdle;
    const adapter = this.app.vault.adapter;
    this.vaultPath = adapter instanceof FileSystemAdapter ? adapter.getBasePath() : null;

    this.statusBar = this.addStatusBarItem();
    this.statusBar.addClass("mod-clickable");
    this.registerDomEvent(this.statusBar, "click", () => new Notice(this.statusMessage(), 10_000));
    this.model.onChange(() => this.renderStatus());
    this.renderStatus();

    this.registerView(PROBLEMS_VIEW, (leaf) => new ProblemsView(leaf, this));
    this.addSettingTab(new VaultpapersSettingTab(this.app, this));
    this.addCommand({ id: "link-vault", name: "Link vault now", callback: () => void this.linkNow() });
    this.addCommand({
      id: "why-related",
      name: "Why is this paper related?",
      checkCallback: (checking) => this.onPaperNote(checking, (id) => void this.whyRelated(id)),
    });
    this.addCommand({ id: "show-problems", name: "Show problems", callback: () => void this.showProblems() });
    this.addCommand({
      id: "refresh-paper",
      name: "Refresh this paper",
      checkCallback: (checking) => this.onPaperNote(checking, (id) => void this.refresh(id)),
    });

    // Starting the backend waits for nothing Obsidian needs: the layout comes first.
    // Obsidian quitting may not unload plugins first: the watcher must not outlive the window.
    this.registerDomEvent(window, "beforeunload", () => this.controller?.supervisor?.signal("SIGTERM"));
    this.app.workspace.onLayoutReady(() => {
      this.starting = this.startBackend();
    });
  }

  /** Obsidian does not wait for onunload: the watcher gets its SIGTERM at once (the backend
   * stops cleanly on it); the promise is for tests and for a reload that waits. */
  onunload(): Promise<void> {
    this.unloaded = true;
    const controller = this.controller;
    this.controller = null;
    return (controller?.stop() ?? Promise.resolve()).then(() => this.starting);
  }

  async saveSettings(): Promise<void> {
    await this.saveData(this.settings);
  }

  detectContext(): DetectContext {
    return { platform: process.platform, home: homedir(), vault: this.vaultPath ?? "", env: process.env };
  }

  /** (Re)starts everything: resolve the program, handshake, then watch or attach. */
  async startBackend(): Promise<void> {
    await this.controller?.stop();
    this.controller = null;
    if (!this.vaultPath) {
      this.model.fail("This vault is not a folder on disk; vaultpapers works on folders only.");
      return;
    }
    this.backend = await resolveBackend(this.settings, this.detectContext());
    if (this.unloaded) return; // unloaded while the handshake ran: start nothing
    const hs = this.backend.handshake;
    if (!hs.ok) {
      this.model.fail(hs.message);
      new Notice(`vaultpapers: ${hs.message}`, 15_000);
      return;
    }
    if (!this.settings.watch) {
      this.model.off("watching is turned off in the settings");
      return;
    }
    this.controller = new WatchController({
      vault: this.vaultPath,
      executable: hs.executable,
      model: this.model,
      extraArgs: this.settings.offline ? ["--offline"] : [],
      log: (message) => console.log(`vaultpapers: ${message}`),
    });
    this.controller.start();
  }

  private executable(): string | null {
    const hs = this.backend?.handshake;
    if (hs?.ok) return hs.executable;
    new Notice(`vaultpapers: ${hs ? hs.message : "still starting; try again in a moment."}`, 10_000);
    return null;
  }

  renderStatus(): void {
    if (!this.statusBar) return;
    const view = this.model.view();
    this.statusBar.setText(view.text);
    this.statusBar.setAttr("aria-label", view.tooltip);
    this.statusBar.toggle(!view.hidden);
    this.app.workspace.getLeavesOfType(PROBLEMS_VIEW).forEach((leaf) => {
      if (leaf.view instanceof ProblemsView) leaf.view.render();
    });
  }

  statusMessage(): string {
    const view = this.model.view();
    return `${view.text}\n${view.tooltip}`;
  }

  /** Problems of the watcher's last run, or of the last one-shot run when no watcher runs. */
  problems(): Problem[] {
    return this.controller && this.controller.mode !== "failed" ? this.model.problems : (this.oneShotProblems ?? this.model.problems);
  }

  private onPaperNote(checking: boolean, act: (id: string) => void): boolean {
    const file = this.app.workspace.getActiveViewOfType(MarkdownView)?.file;
    const frontmatter = file ? this.app.metadataCache.getFileCache(file)?.frontmatter : null;
    const id = arxivIdFromFrontmatter(frontmatter);
    if (!id) return false;
    if (!checking) act(id);
    return true;
  }

  private collectProblems(result: JsonRunResult): void {
    this.oneShotProblems = result.events.map(problemFromEvent).filter((p): p is Problem => p !== null);
  }

  async linkNow(): Promise<void> {
    const executable = this.executable();
    if (!executable || !this.vaultPath) return;
    new Notice("vaultpapers: linking the vault…");
    const result = await linkVault({ executable, vault: this.vaultPath });
    this.collectProblems(result);
    new Notice(summarizeRun(result), 8_000);
    this.renderStatus();
  }

  async refresh(id: string): Promise<void> {
    const executable = this.executable();
    if (!executable || !this.vaultPath) return;
    new Notice(`vaultpapers: asking arXiv about ${id} again…`);
    const result = await refreshPaper({ executable, vault: this.vaultPath }, id);
    this.collectProblems(result);
    new Notice(summarizeRun(result), 8_000);
  }

  async whyRelated(id: string): Promise<void> {
    const executable = this.executable();
    if (!executable || !this.vaultPath) return;
    const result = await explainRelated({ executable, vault: this.vaultPath }, id);
    const explanation = explanationFrom(result, id);
    new TextModal(this.app, explanation.heading, explanation.lines).open();
  }

  async showProblems(): Promise<void> {
    const existing = this.app.workspace.getLeavesOfType(PROBLEMS_VIEW)[0];
    const leaf = existing ?? this.app.workspace.getRightLeaf(false);
    if (!leaf) return;
    if (!existing) await leaf.setViewState({ type: PROBLEMS_VIEW, active: true });
    this.app.workspace.revealLeaf(leaf);
  }

  /** Opens a note at a line (1-based), as the problems view does on a click. */
  async openAt(path: string, line: number | null): Promise<void> {
    const file = this.app.vault.getAbstractFileByPath(path);
    if (!(file instanceof TFile)) {
      new Notice(`vaultpapers: ${path} is no longer in the vault.`);
      return;
    }
    const leaf = this.app.workspace.getLeaf(false);
    await leaf.openFile(file, line ? { eState: { line: line - 1 } } : {});
  }
}

class ProblemsView extends ItemView {
  constructor(
    leaf: WorkspaceLeaf,
    private readonly plugin: VaultpapersPlugin,
  ) {
    super(leaf);
  }

  getViewType(): string {
    return PROBLEMS_VIEW;
  }

  getDisplayText(): string {
    return "vaultpapers problems";
  }

  getIcon(): string {
    return "alert-triangle";
  }

  async onOpen(): Promise<void> {
    this.render();
  }

  render(): void {
    const root = this.contentEl;
    root.empty();
    const problems = this.plugin.problems();
    root.createEl("h4", { text: problems.length ? `${problems.length} problem(s)` : "No problems" });
    const list = root.createEl("ul");
    for (const problem of problems) {
      const item = list.createEl("li");
      if (problem.file) {
        const where = problem.line ? `${problem.file}:${problem.line}` : problem.file;
        const link = item.createEl("a", { text: where, href: "#" });
        link.addEventListener("click", (event) => {
          event.preventDefault();
          void this.plugin.openAt(problem.file as string, problem.line);
        });
        item.appendText(`: ${problem.message}`);
      } else {
        item.setText(describeProblem(problem));
      }
    }
  }
}

class TextModal extends Modal {
  constructor(
    app: App,
    private readonly heading: string,
    private readonly lines: string[],
  ) {
    super(app);
  }

  onOpen(): void {
    this.titleEl.setText(this.heading);
    const list = this.contentEl.createEl("ul");
    for (const line of this.lines) list.createEl("li", { text: line });
  }

  onClose(): void {
    this.contentEl.empty();
  }
}

class VaultpapersSettingTab extends PluginSettingTab {
  constructor(
    app: App,
    private readonly plugin: VaultpapersPlugin,
  ) {
    super(app, plugin);
  }

  display(): void {
    const { containerEl } = this;
    const plugin = this.plugin;
    containerEl.empty();
    const hs = plugin.backend?.handshake;
    containerEl.createEl("p", {
      text: hs ? (hs.ok ? `Using vaultpapers ${hs.version} at ${hs.executable}.` : hs.message) : "Looking for vaultpapers…",
    });

    let pathInput: { setValue(value: string): unknown } | null = null;
    new Setting(containerEl)
      .setName("vaultpapers program")
      .setDesc("Absolute path of the vaultpapers program. Empty: look in the usual places (pipx, ~/.local/bin, Homebrew, a .venv next to the vault).")
      .addText((text) => {
        pathInput = text;
        text
          .setPlaceholder("/home/you/.local/bin/vaultpapers")
          .setValue(plugin.settings.executable)
          .onChange(async (value) => {
            plugin.settings.executable = value.trim();
            await plugin.saveSettings();
          });
      })
      .addButton((button) =>
        button.setButtonText("Detect").onClick(async () => {
          const found = detectExecutable(plugin.detectContext());
          if (!found) {
            new Notice("vaultpapers: not found in the usual places.");
            return;
          }
          plugin.settings.executable = found;
          pathInput?.setValue(found);
          await plugin.saveSettings();
          await plugin.startBackend();
          this.display();
        }),
      )
      .addButton((button) =>
        button.setButtonText("Check").onClick(async () => {
          await plugin.startBackend();
          this.display();
        }),
      );

    new Setting(containerEl)
      .setName("Watch the vault")
      .setDesc("Run `vaultpapers watch` while this vault is open (or show the watcher already running on it).")
      .addToggle((toggle) =>
        toggle.setValue(plugin.settings.watch).onChange(async (value) => {
          plugin.settings.watch = value;
          await plugin.saveSettings();
          await plugin.startBackend();
        }),
      );

    new Setting(containerEl)
      .setName("Offline")
      .setDesc("Start the watcher with --offline: cached metadata only, never the network.")
      .addToggle((toggle) =>
        toggle.setValue(plugin.settings.offline).onChange(async (value) => {
          plugin.settings.offline = value;
          await plugin.saveSettings();
          await plugin.startBackend();
        }),
      );

    new Setting(containerEl)
      .setName("Hide the status-bar item when idle")
      .setDesc("Show it only while linking, with papers pending, or on an error.")
      .addToggle((toggle) =>
        toggle.setValue(plugin.settings.hideWhenIdle).onChange(async (value) => {
          plugin.settings.hideWhenIdle = value;
          plugin.model.hideWhenIdle = value;
          await plugin.saveSettings();
          plugin.renderStatus();
        }),
      );
  }
}
