"""The write step: paper notes first, new ones rendered a batch at a time (their texts are
not all held at once), a note that fails to render costs that note alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from vaultpapers.model import Outcome, Write
from vaultpapers.run import writing
from vaultpapers.run.writing import apply_writes
from vaultpapers.vaultfs.writer import VaultWriter


def rendered(text: str) -> Any:
    def render() -> tuple[str, Mapping[str, Any]]:
        return text, {"vaultpapers": "paper"}

    return render


def broken() -> tuple[str, Mapping[str, Any]]:
    raise KeyError("a bug")


def paper(name: str, render: Any) -> Write:
    return Write(f"Papers/{name}.md", "", None, kind="paper", render=render)


def test_new_notes_are_rendered_a_batch_at_a_time_and_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writing, "RENDER_BATCH", 2)
    writes = [paper(f"P{n}", rendered(f"Paper {n}\n")) for n in range(5)]
    batches: list[list[str]] = []

    def told(notes: Sequence[tuple[Write, Mapping[str, Any] | None]]) -> None:
        batches.append([write.text for write, _ in notes])
        assert all(properties == {"vaultpapers": "paper"} for _, properties in notes)

    results = apply_writes(VaultWriter(tmp_path), writes, None, told)

    assert batches == [["Paper 0\n", "Paper 1\n"], ["Paper 2\n", "Paper 3\n"], ["Paper 4\n"]]
    assert [r.outcome for r in results] == [Outcome.WRITTEN] * 5
    for n in range(5):
        assert (tmp_path / f"Papers/P{n}.md").read_text(encoding="utf-8") == f"Paper {n}\n"
    # What the run keeps of them afterwards is the write as planned: no text.
    assert [r.write for r in results] == writes and all(not r.write.text for r in results)


def test_a_note_that_fails_to_render_is_not_written_nor_are_links_to_it(tmp_path: Path) -> None:
    (tmp_path / "Log.md").write_text("Read it.\n", encoding="utf-8")
    writes = [
        paper("Good", rendered("Good paper\n")),
        paper("Bad", broken),
        Write("Index.md", "- [[Bad]]\n", None, kind="index"),
        Write("Other.md", "- [[Good]]\n", None, kind="index"),
    ]
    results = {r.write.path: r for r in apply_writes(VaultWriter(tmp_path), writes, None)}

    assert results["Papers/Bad.md"].outcome is Outcome.FAILED
    assert "KeyError" in results["Papers/Bad.md"].message
    assert not (tmp_path / "Papers/Bad.md").exists()
    assert results["Index.md"].outcome is Outcome.CONFLICT  # held back: it links to Bad
    assert not (tmp_path / "Index.md").exists()
    assert results["Papers/Good.md"].outcome is results["Other.md"].outcome is Outcome.WRITTEN


def test_the_writer_renders_a_new_note_it_is_given_unrendered(tmp_path: Path) -> None:
    result = VaultWriter(tmp_path).apply(paper("P", rendered("Rendered here\n")))
    assert result.outcome is Outcome.WRITTEN
    assert (tmp_path / "Papers/P.md").read_text(encoding="utf-8") == "Rendered here\n"
