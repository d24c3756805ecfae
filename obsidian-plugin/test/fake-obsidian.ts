// A small stand-in for the few Obsidian calls the plugin makes, so main.ts runs in node as it
// runs in Obsidian. Tests build main.ts with `obsidian` aliased to this file. It records what the
// plugin shows (status-bar text, notices, modals, notes opened) for the tests to read.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const shown = {
  notices: [] as string[],
  modals: [] as { title: string; lines: string[] }[],
  opened: [] as { path: string; state: unknown }[],
};

export class FakeElement {
  text = "";
  attrs: Record<string, string> = {};
  visible = true;
  children: FakeElement[] = [];
  listeners: Record<string, ((event: { preventDefault(): void }) => void)[]> = {};
  constructor(readonly tag = "div") {}
  setText(text: string): void {
    this.text = text;
  }
  appendText(text: string): void {
    this.text += text;
  }
  setAttr(name: string, value: string): void {
    this.attrs[name] = value;
  }
  addClass(name: string): void {
    this.attrs.class = `${this.attrs.class ?? ""} ${name}`.trim();
  }
  toggle(show: boolean): void {
    this.visible = show;
  }
  empty(): void {
    this.children = [];
    this.text = "";
  }
  createEl(tag: string, options: { text?: string; href?: string } = {}): FakeElement {
    const child = new FakeElement(tag);
    if (options.text) child.text = options.text;
    this.children.push(child);
    return child;
  }
  addEventListener(type: string, listener: (event: { preventDefault(): void }) => void): void {
    (this.listeners[type] ??= []).push(listener);
  }
  click(): void {
    for (const listener of this.listeners.click ?? []) listener({ preventDefault() {} });
  }
  /** Every element below this one, depth first. */
  all(): FakeElement[] {
    return this.children.flatMap((child) => [child, ...child.all()]);
  }
  /** The element's text with its children's, as a reader sees it. */
  allText(): string {
    return this.text + this.children.map((child) => child.allText()).join("");
  }
}

export class TFile {
  constructor(readonly path: string) {}
}

export class FileSystemAdapter {
  constructor(private readonly base: string) {}
  getBasePath(): string {
    return this.base;
  }
}

export class MarkdownView {
  constructor(readonly file: TFile | null) {}
}

export class Notice {
  constructor(message: string, _timeout?: number) {
    shown.notices.push(message);
  }
}

export class Modal {
  titleEl = new FakeElement();
  contentEl = new FakeElement();
  constructor(readonly app: FakeApp) {}
  open(): void {
    this.onOpen();
    shown.modals.push({ title: this.titleEl.text, lines: this.contentEl.all().map((el) => el.text).filter(Boolean) });
  }
  close(): void {
    this.onClose();
  }
  onOpen(): void {}
  onClose(): void {}
}

export class FakeLeaf {
  view: ItemView | null = null;
  constructor(private readonly app: FakeApp) {}
  async setViewState(state: { type: string }): Promise<void> {
    const factory = this.app.viewFactories.get(state.type);
    if (!factory) throw new Error(`no view registered as ${state.type}`);
    this.view = factory(this);
    this.app.leaves.push(this);
    await this.view.onOpen();
  }
  async openFile(file: TFile, state: unknown): Promise<void> {
    shown.opened.push({ path: file.path, state });
  }
}

export class ItemView {
  contentEl = new FakeElement();
  constructor(readonly leaf: FakeLeaf) {}
  getViewType(): string {
    return "";
  }
  async onOpen(): Promise<void> {}
}

export class PluginSettingTab {
  containerEl = new FakeElement();
  constructor(
    readonly app: FakeApp,
    readonly plugin: Plugin,
  ) {}
}

export class Setting {
  constructor(readonly containerEl: FakeElement) {}
  setName(): this {
    return this;
  }
  setDesc(): this {
    return this;
  }
  addText(build: (text: unknown) => void): this {
    const text = { setPlaceholder: () => text, setValue: () => text, onChange: () => text };
    build(text);
    return this;
  }
  addButton(build: (button: unknown) => void): this {
    const button = { setButtonText: () => button, onClick: () => button };
    build(button);
    return this;
  }
  addToggle(build: (toggle: unknown) => void): this {
    const toggle = { setValue: () => toggle, onChange: () => toggle };
    build(toggle);
    return this;
  }
}

/** The app: a vault on disk, the open note (if any), the workspace's leaves. */
export class FakeApp {
  viewFactories = new Map<string, (leaf: FakeLeaf) => ItemView>();
  leaves: FakeLeaf[] = [];
  activePath: string | null = null;
  vault: { adapter: FileSystemAdapter; getAbstractFileByPath(path: string): TFile | null };
  workspace = {
    onLayoutReady: (callback: () => void) => callback(),
    getLeavesOfType: (type: string) => this.leaves.filter((leaf) => leaf.view?.getViewType() === type),
    getActiveViewOfType: () => (this.activePath ? new MarkdownView(new TFile(this.activePath)) : null),
    getLeaf: () => new FakeLeaf(this),
    getRightLeaf: () => new FakeLeaf(this),
    revealLeaf: () => undefined,
  };
  metadataCache = {
    // Front matter as Obsidian parses it, for the simple `key: value` lines the tests write.
    getFileCache: (file: TFile) => {
      const text = readFileSync(join(this.base, file.path), "utf8");
      const block = /^---\n([\s\S]*?)\n---/.exec(text);
      if (!block) return {};
      const frontmatter: Record<string, string> = {};
      for (const line of block[1].split("\n")) {
        const pair = /^([\w-]+):\s*(.*)$/.exec(line);
        if (pair) frontmatter[pair[1]] = pair[2].replace(/^['"]|['"]$/g, "");
      }
      return { frontmatter };
    },
  };
  constructor(readonly base: string) {
    this.vault = {
      adapter: new FileSystemAdapter(base),
      getAbstractFileByPath: (path: string) => (existsSync(join(base, path)) ? new TFile(path) : null),
    };
  }
}

export interface Command {
  id: string;
  name: string;
  callback?: () => void;
  checkCallback?: (checking: boolean) => boolean;
}

export class Plugin {
  statusBarItems: FakeElement[] = [];
  commands = new Map<string, Command>();
  settingTabs: PluginSettingTab[] = [];
  data: unknown = null;
  constructor(
    readonly app: FakeApp,
    readonly manifest: { id: string },
  ) {}
  addStatusBarItem(): FakeElement {
    const item = new FakeElement();
    this.statusBarItems.push(item);
    return item;
  }
  registerDomEvent(element: FakeElement | object, type: string, listener: () => void): void {
    if (element instanceof FakeElement) element.addEventListener(type, listener);
  }
  addCommand(command: Command): void {
    this.commands.set(command.id, command);
  }
  addSettingTab(tab: PluginSettingTab): void {
    this.settingTabs.push(tab);
  }
  registerView(type: string, factory: (leaf: FakeLeaf) => ItemView): void {
    this.app.viewFactories.set(type, factory);
  }
  async loadData(): Promise<unknown> {
    return this.data;
  }
  async saveData(data: unknown): Promise<void> {
    this.data = data;
  }
}

// Obsidian's plugins run in a window; node has none. The plugin only listens on it.
if (!("window" in globalThis)) Object.assign(globalThis, { window: new FakeElement("window") });
