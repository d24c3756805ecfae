"""Files other Obsidian plugins keep for their own use (drawings) are not the user's prose:
vaultpapers reads no reference or tag in them, writes nothing into them, lists them nowhere.

The shapes are those the plugins write, as seen in public vaults: Excalidraw's front matter
(`excalidraw-plugin: parsed`, `tags: [excalidraw]`, then `# Text Elements` and the drawing's
JSON inside `%%`; e.g. ballombert/notebook, excalibrain.md) and tldraw-in-obsidian's
(`tldraw-file: true`, its JSON between `!!!_START_OF_TLDRAW_DATA__…` markers). Kanban boards
(`kanban-plugin: basic`, lanes as headings, cards as list items the user writes, with their own
links and #tags; e.g. Tymotex/wiki, content/Tasks/archive.md) are the user's text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vaultpapers.model import FileState, Note
from vaultpapers.scan.note import PLUGIN_KIND, USER_KIND, scan_note
from vaultpapers.testing.arxiv_server import FakeArxiv
from vaults import MIXER, PERCEIVER, build_vault, link_cli, snapshot

EXCALIDRAW = """\
---

excalidraw-plugin: parsed
tags: [excalidraw]

---
==⚠  Switch to EXCALIDRAW VIEW in the MORE OPTIONS menu of this document. ⚠==


# Text Elements
Perceiver https://arxiv.org/abs/2103.03206 ^43O43kUi

#review ^Kx2bH1ae

%%
# Drawing
```json
{"type": "excalidraw", "version": 2, "elements": [{"type": "text", "text": "#f8f9fa"}]}
```
%%"""
EXCALIDRAW_RAW = "---\nexcalidraw-plugin: raw\n---\nSee arXiv:2103.03206 #review\n"
TLDRAW = """\
---
tldraw-file: true
tags:
  - tldraw
---

```json !!!_START_OF_TLDRAW_DATA__DO_NOT_CHANGE_THIS_PHRASE_!!!
{"meta": {"plugin-version": "1.26.2"}, "raw": {"note": "https://arxiv.org/abs/2103.03206"}}
!!!_END_OF_TLDRAW_DATA__DO_NOT_CHANGE_THIS_PHRASE_!!!
```
"""
KANBAN = """\
---

kanban-plugin: basic

---

## To read

- [ ] Mixer https://arxiv.org/abs/2105.01601 #review


%% kanban:settings
```
{"kanban-plugin":"basic"}
```
%%"""
DRAWINGS = {
    "Excalidraw/Drawing 2024-05-01.excalidraw.md": EXCALIDRAW,
    "Excalidraw/Sketch.md": EXCALIDRAW_RAW,  # marked by its front matter alone
    "Boards/Whiteboard.md": TLDRAW,
    # Excalidraw's own name, with front matter YAML cannot read: still a drawing
    "Excalidraw/Broken.excalidraw.md": "---\nexcalidraw-plugin: parsed\ntags: [oops\n---\n",
}


@pytest.fixture
def api(fake_arxiv: FakeArxiv) -> FakeArxiv:
    for paper in (PERCEIVER, MIXER):
        fake_arxiv.add(paper)
    return fake_arxiv


def scanned(path: str, text: str) -> str:
    return scan_note(Note(path, text, False, FileState(0, len(text), ""))).kind


@pytest.mark.parametrize(("path", "text"), sorted(DRAWINGS.items()))
def test_drawings_are_files_other_plugins_keep(path: str, text: str) -> None:
    assert scanned(path, text) == PLUGIN_KIND


def test_kanban_boards_and_notes_merely_named_after_drawings_are_yours() -> None:
    assert scanned("Boards/Reading.md", KANBAN) == USER_KIND
    assert scanned("How I use Excalidraw.md", "excalidraw-plugin: parsed is its key\n") == USER_KIND
    assert scanned("a.md", "---\nexcalidraw-plugin: false\n---\nMine.\n") == USER_KIND


def test_drawings_are_never_read_written_or_listed(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(
        tmp_path / "v", {**DRAWINGS, "Reading.md": "# Reading\nMixer arXiv:2105.01601 #review\n"}
    )
    before = snapshot(vault)
    result = link_cli(vault, api)
    after = snapshot(vault)
    assert {path: after[path] for path in DRAWINGS} == {path: before[path] for path in DRAWINGS}
    made = sorted(path for path in after if path.startswith("Papers/"))
    # Only the paper the user's note cites; the drawings' tags have no index.
    assert made == [
        "Papers/MLP-Mixer - An all-MLP Architecture for Vision (2105.01601).md",
        "Papers/Tags/Tag arxiv › cs-AI.md",
        "Papers/Tags/Tag arxiv › cs-CV.md",
        "Papers/Tags/Tag arxiv › cs-LG.md",
        "Papers/Tags/Tag arxiv.md",
        "Papers/Tags/Tag review.md",
    ]
    review = after["Papers/Tags/Tag review.md"].decode()
    assert "[[Reading]]" in review and "Drawing" not in review and "Sketch" not in review
    mixer = after[made[0]].decode()
    assert "- [[Reading]]" in mixer and "Sketch" not in mixer
    assert "5 notes scanned (1 yours; 4 kept by other plugins, such as drawings, left alone)" in (
        result.output
    )
    assert "problem" not in result.output  # the broken front matter is the plugin's business
    link_cli(vault, api)
    again = link_cli(vault, api)  # nothing changed since: the count comes from the last run
    assert "; 4 kept by other plugins, such as drawings, left alone)" in again.output
    assert snapshot(vault) == after


def test_a_kanban_board_is_linked_and_its_tags_are_indexed(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(tmp_path / "v", {"Boards/Reading.md": KANBAN})
    link_cli(vault, api)
    board = (vault / "Boards/Reading.md").read_text(encoding="utf-8")
    assert board == KANBAN.replace(
        "2105.01601 #review",
        "2105.01601 [[MLP-Mixer - An all-MLP Architecture for Vision (2105.01601)|MLP-Mixer]]"
        " #review",
    )
    assert "[[Reading]]" in (vault / "Papers/Tags/Tag review.md").read_text(encoding="utf-8")
