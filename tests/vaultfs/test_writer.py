"""The one writer: atomic, never over a file that changed, never outside the vault."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paths import REPO
from vaultpapers.model import FileState, Note, Outcome, Write
from vaultpapers.vaultfs import writer as writer_module
from vaultpapers.vaultfs.files import read_note
from vaultpapers.vaultfs.writer import VaultWriter


def read(vault: Path, path: str) -> Note:
    note = read_note(vault, path, max_bytes=10_000_000)
    assert isinstance(note, Note)
    return note


def test_replaces_a_file_that_is_as_it_was_read(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("old\n", encoding="utf-8")
    note = read(tmp_path, "a.md")
    result = VaultWriter(tmp_path).apply(Write("a.md", "new\n", note.state))
    assert result.outcome is Outcome.WRITTEN
    assert (tmp_path / "a.md").read_text(encoding="utf-8") == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"], "no temp file left behind"


def test_never_overwrites_a_file_edited_since_it_was_read(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("old\n", encoding="utf-8")
    note = read(tmp_path, "a.md")
    (tmp_path / "a.md").write_text("the user typed this\n", encoding="utf-8")
    result = VaultWriter(tmp_path).apply(Write("a.md", "new\n", note.state))
    assert result.outcome is Outcome.CONFLICT
    assert (tmp_path / "a.md").read_text(encoding="utf-8") == "the user typed this\n"


def test_same_size_edit_within_the_same_mtime_tick_is_still_detected(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("abc\n", encoding="utf-8")
    note = read(tmp_path, "a.md")
    stat = path.stat()
    path.write_text("xyz\n", encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    result = VaultWriter(tmp_path).apply(Write("a.md", "new\n", note.state))
    assert result.outcome is Outcome.CONFLICT
    assert path.read_text(encoding="utf-8") == "xyz\n"


def test_does_not_write_when_nothing_changed(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("same\n", encoding="utf-8")
    note = read(tmp_path, "a.md")
    before = path.stat().st_mtime_ns
    result = VaultWriter(tmp_path).apply(Write("a.md", "same\n", note.state))
    assert result.outcome is Outcome.UNCHANGED
    assert path.stat().st_mtime_ns == before


def test_creates_a_new_file_but_never_over_one_that_appeared(tmp_path: Path) -> None:
    writer = VaultWriter(tmp_path)
    created = writer.apply(Write("Papers/x.md", "generated\n", None))
    assert created.outcome is Outcome.WRITTEN
    assert (tmp_path / "Papers/x.md").read_text(encoding="utf-8") == "generated\n"
    again = writer.apply(Write("Papers/x.md", "other\n", None))
    assert again.outcome is Outcome.CONFLICT
    assert (tmp_path / "Papers/x.md").read_text(encoding="utf-8") == "generated\n"


def test_keeps_bom_and_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes("\ufeffold\r\n".encode())
    path.chmod(0o600)
    note = read(tmp_path, "a.md")
    assert note.bom and note.text == "old\r\n"
    VaultWriter(tmp_path).apply(Write("a.md", note.text + "more\r\n", note.state, bom=True))
    assert path.read_bytes() == "\ufeffold\r\nmore\r\n".encode()
    assert path.stat().st_mode & 0o777 == 0o600


def test_links_go_into_the_note_as_it_was_read_line_endings_and_bom_kept(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes("\ufeffSee arXiv:1706.03762\r\nand arXiv:2103.03206.\r\n".encode())
    note = read(tmp_path, "a.md")
    ends = (len("See arXiv:1706.03762"), len("See arXiv:1706.03762\r\nand arXiv:2103.03206"))
    links = ((ends[1], " [[Perceiver]]"), (ends[0], " [[Attention]]"))  # any order
    write = Write("a.md", "", note.state, note.bom, insertions=links)
    assert VaultWriter(tmp_path).apply(write).outcome is Outcome.WRITTEN
    expected = "\ufeffSee arXiv:1706.03762 [[Attention]]\r\nand arXiv:2103.03206 [[Perceiver]].\r\n"
    assert path.read_bytes() == expected.encode()
    assert write.new_text(note.text or "") == expected.removeprefix("\ufeff")


def test_links_never_go_into_a_note_edited_since_it_was_read(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("See arXiv:1706.03762\n", encoding="utf-8")
    note = read(tmp_path, "a.md")
    path.write_text("Rewritten: arXiv:1706.03762 is gone\n", encoding="utf-8")
    write = Write("a.md", "", note.state, insertions=((20, " [[Attention]]"),))
    assert VaultWriter(tmp_path).apply(write).outcome is Outcome.CONFLICT
    assert path.read_text(encoding="utf-8") == "Rewritten: arXiv:1706.03762 is gone\n"


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(st.sampled_from("ab \r\n\ufeff한é$[]()"), min_size=1, max_size=40),
    bom=st.booleans(),
    data=st.data(),
)
def test_links_written_into_a_note_only_add_to_its_text(
    tmp_path: Path, text: str, bom: bool, data: st.DataObject
) -> None:
    """Whatever the note holds (line endings, a BOM, other scripts) and wherever the links go,
    the file written is the note's text with the links in, and nothing of the text is lost."""
    path = tmp_path / "a.md"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    note = read(tmp_path, "a.md")
    assert note.text is not None
    offsets = st.integers(0, len(note.text))
    links = st.sampled_from([" [[P]]", " [[Q|Q]]"])
    insertions = tuple(data.draw(st.lists(st.tuples(offsets, links), min_size=1, max_size=4)))
    result = VaultWriter(tmp_path).apply(
        Write("a.md", "", note.state, note.bom, insertions=insertions)
    )
    assert result.outcome is Outcome.WRITTEN
    written = path.read_bytes().decode("utf-8")
    assert written.startswith("\ufeff") == note.bom
    after = written.removeprefix("\ufeff") if note.bom else written
    # Taking the inserted links out again, in order (each then sits at its own offset),
    # gives back the text as it was.
    for at, link in sorted(insertions):
        assert after[at : at + len(link)] == link
        after = after[:at] + after[at + len(link) :]
    assert after == note.text


@pytest.mark.parametrize(
    "fields",
    [{"expected": None}, {"text": "whole text"}, {"delete": True}],
    ids=["new file", "with a text", "a removal"],
)
def test_links_are_planned_only_into_a_note_as_read_and_alone(fields: dict) -> None:
    state = FileState(1, 2, "digest")
    with pytest.raises(ValueError):
        Write(
            **{"path": "a.md", "text": "", "expected": state, "insertions": ((0, "x"),), **fields}
        )


@pytest.mark.parametrize(
    "fields",
    [{"expected": FileState(1, 2, "digest")}, {"text": "whole text"}],
    ids=["existing file", "with a text"],
)
def test_only_a_new_note_is_rendered_when_written(fields: dict) -> None:
    def render() -> tuple[str, dict]:
        return "text", {}

    with pytest.raises(ValueError):
        Write(**{"path": "a.md", "text": "", "expected": None, "render": render, **fields})


@pytest.mark.parametrize("escape", ["../outside.md", "/tmp/outside.md", "a/../../outside.md"])
def test_refuses_paths_outside_the_vault(tmp_path: Path, escape: str) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    result = VaultWriter(vault).apply(Write(escape, "x", None))
    assert result.outcome is Outcome.FAILED
    assert "outside the vault" in result.message
    assert not (tmp_path / "outside.md").exists()


def test_refuses_to_write_through_a_symlink_out_of_the_vault(tmp_path: Path) -> None:
    vault, outside = tmp_path / "vault", tmp_path / "outside"
    vault.mkdir()
    outside.mkdir()
    (vault / "link").symlink_to(outside, target_is_directory=True)
    result = VaultWriter(vault).apply(Write("link/x.md", "x", None))
    assert result.outcome is Outcome.FAILED
    assert list(outside.iterdir()) == []


def test_rename_moves_content_and_removes_the_old_file(tmp_path: Path) -> None:
    (tmp_path / "old.md").write_text("pending\n", encoding="utf-8")
    note = read(tmp_path, "old.md")
    write = Write("new.md", "complete\n", None, replaces="old.md", replaces_state=note.state)
    assert VaultWriter(tmp_path).apply(write).outcome is Outcome.WRITTEN
    assert not (tmp_path / "old.md").exists()
    assert (tmp_path / "new.md").read_text(encoding="utf-8") == "complete\n"


def test_rename_is_abandoned_when_the_old_file_was_edited(tmp_path: Path) -> None:
    (tmp_path / "old.md").write_text("pending\n", encoding="utf-8")
    note = read(tmp_path, "old.md")
    (tmp_path / "old.md").write_text("pending\nmy thoughts\n", encoding="utf-8")
    write = Write("new.md", "complete\n", None, replaces="old.md", replaces_state=note.state)
    assert VaultWriter(tmp_path).apply(write).outcome is Outcome.CONFLICT
    assert (tmp_path / "old.md").read_text(encoding="utf-8") == "pending\nmy thoughts\n"
    assert not (tmp_path / "new.md").exists()


_WRITE_UNDER_A_FILE_SIZE_LIMIT = """
import resource, signal, sys
from pathlib import Path
from vaultpapers.vaultfs.files import read_note
from vaultpapers.vaultfs.writer import VaultWriter, Write
vault = Path(sys.argv[1])
note = read_note(vault, "a.md", max_bytes=10**7)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
result = VaultWriter(vault).apply(Write("a.md", "x" * 4096, note.state))
print(result.outcome.value, result.message)
"""


def test_a_write_that_fails_midway_leaves_the_file_and_no_temp_behind(tmp_path: Path) -> None:
    """A full disk, simulated for real: the kernel refuses bytes past a file-size limit."""
    import subprocess
    import sys

    (tmp_path / "a.md").write_text("old\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    completed = subprocess.run(
        [sys.executable, "-c", _WRITE_UNDER_A_FILE_SIZE_LIMIT, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert completed.stdout.startswith("failed"), completed.stdout + completed.stderr
    assert "nothing was changed" in completed.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]
    assert (tmp_path / "a.md").read_text(encoding="utf-8") == "old\n"


def _batch(count: int) -> list[Write]:
    return [Write(f"Papers/p{n}.md", f"note {n}\n", None, kind="paper") for n in range(count)]


@pytest.mark.parametrize("syncfs", ["available", "refused"])
def test_a_large_batch_is_made_durable_once_and_written_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, syncfs: str
) -> None:
    """Past SYNCFS_BATCH writes, the temp files are flushed by one syncfs(2) before any is
    moved into place; where the kernel refuses it, each is fsynced instead."""
    if syncfs == "refused":
        monkeypatch.setattr(writer_module, "_load_syncfs", lambda: lambda fd: -1)
    writes = _batch(writer_module.SYNCFS_BATCH + 8)
    results = VaultWriter(tmp_path).apply_many(writes)
    assert [r.outcome for r in results] == [Outcome.WRITTEN] * len(writes)
    for write in writes:
        assert (tmp_path / write.path).read_text(encoding="utf-8") == write.text
    assert sorted(p.name for p in (tmp_path / "Papers").iterdir()) == sorted(
        f"p{n}.md" for n in range(len(writes))
    )  # no temp file left behind


def test_a_batch_stops_between_writes_when_cancelled(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    assert VaultWriter(tmp_path).apply_many(_batch(40), cancel=cancel) == []
    assert not (tmp_path / "Papers").exists() or not any((tmp_path / "Papers").iterdir())
