"""The disk refusing: permission denied and a full disk, for real, in a child process. Each
failed write leaves its file as it was, says so, and the next run completes the work."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from reliability.harness import (
    TEMP_SUFFIX,
    WITHOUT_ROOTS_FILE_ACCESS,
    cached_vault,
    file_size_limit,
    lines_naming,
    link,
    link_in_child,
    notes_on_disk,
    paper_notes,
    temp_files,
)
from vaults import MIXER, PERCEIVER, notes_only, snapshot

PAPERS = (PERCEIVER, MIXER)
FILES = {
    "Reading.md": "Perceiver https://arxiv.org/abs/2103.03206\n",
    "Locked/Mixer.md": "Mixer https://arxiv.org/abs/2105.01601\n",
    "Big.md": "# Export\n" + "lorem ipsum " * 20_000 + "\nMixer https://arxiv.org/abs/2105.01601\n",
}


@pytest.fixture
def fault_free(tmp_path: Path) -> dict[str, bytes]:
    vault = cached_vault(tmp_path / "reference", FILES, PAPERS)
    assert link(vault, None, "--offline").exit_code == 0
    return notes_only(snapshot(vault))


@contextmanager
def mode(path: Path, bits: int) -> Iterator[None]:
    old = path.stat().st_mode & 0o7777
    path.chmod(bits)
    try:
        yield
    finally:
        path.chmod(old)


def dangling_links(vault: Path) -> list[str]:
    names = {p.stem.casefold() for p in notes_on_disk(vault)}
    names |= {
        p.relative_to(vault).with_suffix("").as_posix().casefold() for p in notes_on_disk(vault)
    }
    return [
        f"{note.relative_to(vault)} -> {target}"
        for note in notes_on_disk(vault)
        for target in re.findall(r"\[\[([^\[\]|\\#^]+)", note.read_text(encoding="utf-8"))
        if target.strip().casefold() not in names
    ]


def test_a_folder_it_may_not_write_in_is_reported_left_as_it_was_and_done_next_time(
    tmp_path: Path, fault_free: dict[str, bytes]
) -> None:
    vault = cached_vault(tmp_path / "v", FILES, PAPERS)
    with mode(vault / "Locked", 0o555):
        denied = link_in_child(vault, None, "--offline", preamble=WITHOUT_ROOTS_FILE_ACCESS)
    assert denied.returncode == 1, denied.stderr
    assert lines_naming(denied.stderr, "Locked/Mixer.md", "permission denied"), denied.stderr
    assert (vault / "Locked/Mixer.md").read_text(encoding="utf-8") == FILES["Locked/Mixer.md"]
    assert "[[Perceiver" in (vault / "Reading.md").read_text(encoding="utf-8")
    assert temp_files(vault) == []

    assert link(vault, None, "--offline").exit_code == 0
    assert notes_only(snapshot(vault)) == fault_free


def test_a_note_it_may_not_read_is_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    vault = cached_vault(tmp_path / "v", FILES, PAPERS)
    with mode(vault / "Locked/Mixer.md", 0o000):
        denied = link_in_child(vault, None, "--offline", preamble=WITHOUT_ROOTS_FILE_ACCESS)
    assert lines_naming(denied.stderr, "Locked/Mixer.md", "Permission denied"), denied.stderr
    assert (vault / "Locked/Mixer.md").read_text(encoding="utf-8") == FILES["Locked/Mixer.md"]
    assert "[[Perceiver" in (vault / "Reading.md").read_text(encoding="utf-8")


def test_a_cache_it_may_not_write_stops_the_run_with_a_message_and_changes_nothing(
    tmp_path: Path,
) -> None:
    vault = cached_vault(tmp_path / "v", FILES, PAPERS)
    before = snapshot(vault)
    with mode(vault / ".vaultpapers", 0o555):
        denied = link_in_child(vault, None, "--offline", preamble=WITHOUT_ROOTS_FILE_ACCESS)
    assert denied.returncode == 1, denied.stderr
    assert lines_naming(denied.stderr, ".vaultpapers/cache.sqlite"), denied.stderr
    assert snapshot(vault) == before


def test_a_full_disk_fails_one_write_cleanly_and_the_next_run_completes(
    tmp_path: Path, fault_free: dict[str, bytes]
) -> None:
    vault = cached_vault(tmp_path / "v", FILES, PAPERS)
    big = (vault / "Big.md").read_bytes()
    assert len(big) > 200_000
    # Every small file fits; rewriting Big.md needs more room than is left.
    full = link_in_child(vault, None, "--offline", preamble=file_size_limit(150_000))
    assert full.returncode == 1, full.stderr
    assert lines_naming(full.stderr, "Big.md", "nothing was changed"), full.stderr
    assert (vault / "Big.md").read_bytes() == big
    assert temp_files(vault) == []
    assert "[[Perceiver" in (vault / "Reading.md").read_text(encoding="utf-8")

    assert link(vault, None, "--offline").exit_code == 0
    assert notes_only(snapshot(vault)) == fault_free


LONG_ABSTRACT = replace(PERCEIVER, summary="A very long abstract. " * 2_000)


@pytest.mark.parametrize("fault", ["read-only Papers folder", "full disk"])
def test_no_note_gains_a_link_to_a_paper_note_that_could_not_be_written(
    tmp_path: Path, fault: str
) -> None:
    vault = cached_vault(tmp_path / "v", FILES, (LONG_ABSTRACT, MIXER))
    (vault / "Papers").mkdir()
    if fault == "full disk":
        # The Perceiver note, with its 44 kB abstract, is the one file that does not fit.
        failed = link_in_child(vault, None, "--offline", preamble=file_size_limit(40_000))
    else:
        with mode(vault / "Papers", 0o555):
            failed = link_in_child(vault, None, "--offline", preamble=WITHOUT_ROOTS_FILE_ACCESS)
    assert failed.returncode == 1, failed.stderr
    assert "2103.03206" not in paper_notes(vault)
    dangling = dangling_links(vault)
    assert not dangling, "links to notes that do not exist:\n" + "\n".join(dangling)
    assert link(vault, None, "--offline").exit_code == 0
    assert dangling_links(vault) == []


def test_temp_files_left_by_a_killed_run_are_removed_by_the_next_run(tmp_path: Path) -> None:
    vault = cached_vault(tmp_path / "v", FILES, PAPERS)
    # What SIGKILL between writing a temp file and renaming it over the note leaves behind.
    stale = [
        vault / f".Reading.md.0badf00d{TEMP_SUFFIX}",
        vault / "Papers" / f".MLP-Mixer (2105.01601).md.deadbeef{TEMP_SUFFIX}",
    ]
    stale[1].parent.mkdir()
    an_hour_ago = time.time() - 3600
    for path in stale:
        path.write_text("half a note", encoding="utf-8")
        os.utime(path, (an_hour_ago, an_hour_ago))
    assert link(vault, None, "--offline").exit_code == 0
    assert temp_files(vault) == []
