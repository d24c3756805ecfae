"""The state in .vaultpapers/state.sqlite only ever saves work: stale or broken, it is rebuilt."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.config import Settings
from vaultpapers.run.incremental import open_state
from vaultpapers.run.options import RunOptions
from vaultpapers.run.pipeline import run_link
from vaultpapers.run.sources import cache_path
from vaultpapers.scan.note import SCAN_COLUMNS
from vaultpapers.vaultfs.state import StateStore
from vaults import PERCEIVER, build_vault, snapshot

NOTE = "Read https://arxiv.org/abs/2103.03206 #review\n"


def linked_vault(tmp_path: Path) -> Path:
    vault = build_vault(tmp_path / "v", {"a.md": NOTE})
    cache_path(vault).parent.mkdir()
    with PaperCache(cache_path(vault)) as cache:
        cache.put_many([PERCEIVER])
    assert run_link(vault, Settings(), RunOptions(offline=True)).complete
    return vault


def notes(vault: Path) -> dict[str, bytes]:
    return {k: v for k, v in snapshot(vault).items() if not k.startswith(".vaultpapers/")}


def test_a_state_file_that_is_not_a_database_is_replaced(tmp_path: Path) -> None:
    vault = linked_vault(tmp_path)
    before = notes(vault)
    state = vault / ".vaultpapers" / "state.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    state.write_bytes(b"this is not sqlite" * 100)
    (vault / "b.md").write_text("Also arXiv:2103.03206\n", encoding="utf-8")
    report = run_link(vault, Settings(), RunOptions(offline=True))
    assert report.complete
    assert "[[Perceiver" in (vault / "b.md").read_text(encoding="utf-8")
    assert notes(vault)["a.md"] == before["a.md"]
    assert "- [[a]]\n- [[b]]\n" in next((vault / "Papers").glob("Perceiver*")).read_text("utf-8")


@pytest.mark.parametrize(
    "garbage",
    [
        "kind = 3",  # what every run reads of a note
        "cited = NULL",
        "problems = '[1, 2'",
        "body = '[1, 2, \"garbage\"'",  # what a run reads only when it needs it
        "body = '[[], \"a\", null]'",
    ],
)
def test_unreadable_kept_scans_are_read_again_not_trusted(tmp_path: Path, garbage: str) -> None:
    vault = linked_vault(tmp_path)
    (vault / "a.md").write_text(NOTE + "Later: arXiv:2103.03206v2\n", encoding="utf-8")
    run_link(vault, Settings(), RunOptions(offline=True))
    with sqlite3.connect(vault / ".vaultpapers" / "state.sqlite") as db:
        db.execute(f"UPDATE scans SET {garbage}")
        db.execute("DELETE FROM meta WHERE key = 'complete_run'")
    (vault / "c.md").write_text("#review too, see arXiv:2103.03206\n", encoding="utf-8")
    before = (vault / "a.md").read_text(encoding="utf-8")
    report = run_link(vault, Settings(), RunOptions(offline=True))
    assert report.complete and not report.problems
    tag_index = (vault / "Papers/Tags/Tag review.md").read_text(encoding="utf-8")
    assert "- [[a]] · Read https://arxiv.org/abs/2103.03206 Perceiver #review\n" in tag_index
    assert "- [[c]] · review too, see arXiv:2103.03206 Perceiver\n" in tag_index
    assert (vault / "a.md").read_text(encoding="utf-8") == before, "nothing to insert twice"
    paper = next((vault / "Papers").glob("Perceiver*")).read_text(encoding="utf-8")
    assert "- [[a]]\n- [[c]]\n" in paper


def test_state_written_by_other_code_is_dropped(tmp_path: Path) -> None:
    vault = linked_vault(tmp_path)
    path = vault / ".vaultpapers" / "state.sqlite"
    with StateStore(path, "some other version", SCAN_COLUMNS) as state:
        assert state.scans() == {} and state.get("complete_run") is None
    report = run_link(vault, Settings(), RunOptions(offline=True))
    assert report.complete and report.written("paper") == 0, "nothing to redo on disk"


def test_a_note_has_one_kept_scan_the_last_saved(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state.sqlite", "v", ("kind",)) as state:
        state.save_scans({"a.md": ("0:0:0:0", ("user",))}, [])
        state.save_scans({"a.md": ("1:1:1:1", ("opaque",))}, [])
        assert state.scans() == {"a.md": ("1:1:1:1", ("opaque",))}
    with sqlite3.connect(tmp_path / "state.sqlite") as db:
        assert db.execute("SELECT count(*) FROM scans").fetchone() == (1,)


def test_scans_kept_in_another_layout_are_dropped_with_what_was_remembered_of_them(
    tmp_path: Path,
) -> None:
    vault = linked_vault(tmp_path)
    with sqlite3.connect(vault / ".vaultpapers" / "state.sqlite") as db:
        db.execute("DROP TABLE scans")  # as an earlier version kept them: one JSON text each
        db.execute("CREATE TABLE scans (path TEXT PRIMARY KEY, stat TEXT, scan TEXT)")
        db.execute("INSERT INTO scans VALUES ('a.md', '1:1:1:1', '[]')")
    report = run_link(vault, Settings(), RunOptions(offline=True))
    assert report.complete and report.written("paper") == 0
    with open_state(vault) as state:
        kept = state.scans()
    assert set(kept) == set(notes(vault)), "every note was read and kept again"
    assert kept["a.md"][0] != "1:1:1:1"
