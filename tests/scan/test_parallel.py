"""Scanning on several cores gives exactly what scanning here gives: the same notes written,
the same problems, the same state for the next run."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.config import Settings
from vaultpapers.model import Note, Outcome, Write, content_digest
from vaultpapers.run.incremental import open_state
from vaultpapers.run.options import RunOptions
from vaultpapers.run.pipeline import run_link
from vaultpapers.run.sources import cache_path
from vaultpapers.scan import parallel
from vaultpapers.scan.note import SCAN_COLUMNS
from vaultpapers.vaultfs.files import read_note
from vaultpapers.vaultfs.writer import VaultWriter
from vaults import MIXER, PERCEIVER, build_vault, notes_only, snapshot

NOTES: dict[str, str | bytes] = {
    **{
        f"Log/{n:02d}.md": f"---\ntags: [log, n{n % 3}]\n---\nDay {n}: https://arxiv.org/abs/"
        f"{'2103.03206' if n % 2 else '2105.01601'} #reading\n"
        for n in range(24)
    },
    "Typo.md": "See https://arxiv.org/abs/2006.162360 (six digits).\n",
    "Broken.md": "---\ntags: [unclosed\n---\nhttps://arxiv.org/abs/2103.03206\n",
    "Latin1.md": "caf\xe9 arXiv:2105.01601".encode("latin-1"),
    "Code.md": "```\nhttps://arxiv.org/abs/2103.03206\n```\n",
    "논문 메모.md": "읽을 논문 (https://arxiv.org/abs/2105.01601)가 좋다 #읽기\n",
}


def linked(root: Path) -> tuple[dict[str, bytes], list[str], dict]:
    vault = build_vault(root, dict(NOTES))
    cache_path(vault).parent.mkdir()
    with PaperCache(cache_path(vault)) as cache:
        cache.put_many([PERCEIVER, MIXER])
    report = run_link(vault, Settings(), RunOptions(offline=True))
    with open_state(vault) as state:
        scans = state.scans()
    return notes_only(snapshot(vault)), sorted(map(str, report.problems)), scans


def without_times(scans: dict) -> dict:
    """The kept scans, less the files' modification times (the two vaults were written apart)."""
    mtime = SCAN_COLUMNS.index("mtime_ns")
    return {path: row[:mtime] + row[mtime + 1 :] for path, (_, row) in scans.items()}


def test_workers_scan_exactly_as_this_process_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = linked(tmp_path / "here")
    monkeypatch.setattr(parallel, "PARALLEL_MIN", 2)
    monkeypatch.setattr(parallel, "CHUNK", 5)
    monkeypatch.setattr(parallel, "WAVE", 2)  # what was written goes to them in several waves
    workers = linked(tmp_path / "workers")
    assert workers[0] == here[0]  # the same notes, byte for byte
    assert workers[1] == here[1]  # the same problems, the unreadable notes included
    assert without_times(workers[2]) == without_times(here[2])
    assert any("not UTF-8" in problem for problem in here[1])


class RefusedPool:
    """What a system that cannot start more processes gives (a container's pids limit)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise OSError(11, "Resource temporarily unavailable")


def test_when_no_worker_can_start_the_run_scans_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = linked(tmp_path / "here")
    monkeypatch.setattr(parallel, "PARALLEL_MIN", 2)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", RefusedPool)
    refused = linked(tmp_path / "refused")
    assert refused[0] == here[0]
    assert refused[1] == here[1]
    assert without_times(refused[2]) == without_times(here[2])


def test_a_run_starts_its_workers_once_for_all_its_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pools: list[CountedPool] = []

    class CountedPool(ProcessPoolExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.batches = 0
            pools.append(self)

        def map(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            self.batches += 1
            return super().map(*args, **kwargs)

    here = linked(tmp_path / "here")
    monkeypatch.setattr(parallel, "PARALLEL_MIN", 2)
    monkeypatch.setattr(parallel, "CHUNK", 5)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", CountedPool)
    shared = linked(tmp_path / "shared")
    # The notes read; then, as they are written, the notes planned whole and those rendered.
    assert [pool.batches for pool in pools] == [3]
    assert shared[0] == here[0]
    assert without_times(shared[2]) == without_times(here[2])


def test_what_the_workers_scan_while_the_run_writes_is_kept_only_for_what_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers scan the notes as planned while the run writes them. A run stopped before
    its writes (the watcher's cancel) keeps none of those scans: the next run reads the
    notes as they are, and links them."""
    monkeypatch.setattr(parallel, "PARALLEL_MIN", 2)
    monkeypatch.setattr(parallel, "CHUNK", 5)
    vault = build_vault(tmp_path / "v", dict(NOTES))
    cache_path(vault).parent.mkdir()
    with PaperCache(cache_path(vault)) as cache:
        cache.put_many([PERCEIVER, MIXER])
    cancel = threading.Event()

    def stopped_meanwhile() -> bool:  # asked while the run plans: it stops before writing
        cancel.set()
        return False

    options = RunOptions(offline=True)
    report = run_link(vault, Settings(), options, cancel=cancel, should_yield=stopped_meanwhile)
    assert report.cancelled and not report.results
    planned = {
        write.path: write.new_text((vault / write.path).read_text(encoding="utf-8"))
        for write in report.planned
        if write.kind == "note"
    }
    assert "Log/01.md" in planned
    digest = SCAN_COLUMNS.index("digest")
    with open_state(vault) as state:
        kept = {path: row[digest] for path, (_, row) in state.scans().items()}
    for path, text in planned.items():
        assert kept.get(path) != content_digest(text.encode("utf-8")), path
    run_link(vault, Settings(), options)
    assert "[[" in (vault / "Log/01.md").read_text(encoding="utf-8")
    with open_state(vault) as state:
        kept = {path: row[digest] for path, (_, row) in state.scans().items()}
    assert kept["Log/01.md"] == content_digest((vault / "Log/01.md").read_bytes())


def test_a_note_that_only_gains_links_is_scanned_as_its_write_leaves_it(tmp_path: Path) -> None:
    """The plan holds a note's links, not its text: its scan is made from the file, with the
    links put in before the write, as it is after; one the user changed meanwhile keeps none."""
    vault = build_vault(tmp_path / "v", {"Log.md": "\ufeffSee arXiv:2103.03206 today.\r\n"})
    note = read_note(vault, "Log.md", max_bytes=1_000_000)
    assert isinstance(note, Note) and note.bom
    link = " [[Perceiver (2103.03206)|Perceiver]]"
    write = Write(
        "Log.md", "", note.state, note.bom, insertions=((len("See arXiv:2103.03206"), link),)
    )
    written = parallel.Written("Log.md", None, note.bom, None, None, note.state, write.insertions)

    before = parallel.scan_written(vault, [written])
    result = VaultWriter(vault).apply(write)
    after = parallel.scan_written(vault, [written])

    assert result.outcome is Outcome.WRITTEN and result.state is not None
    on_disk = (vault / "Log.md").read_bytes()
    assert on_disk == f"\ufeffSee arXiv:2103.03206{link} today.\r\n".encode()
    assert before == after
    assert before[0] is not None and before[0][1] == result.state.digest == content_digest(on_disk)
    scans = parallel.WrittenScans(vault, [written], None, None, count=1)
    assert set(scans.rows({"Log.md": result.state})) == {"Log.md"}

    (vault / "Log.md").write_text("The user rewrote it.\n", encoding="utf-8")
    changed = read_note(vault, "Log.md", max_bytes=1_000_000)
    assert isinstance(changed, Note)
    scans = parallel.WrittenScans(vault, [written], None, None, count=1)
    assert scans.rows({"Log.md": changed.state}) == {}  # scanned: not what was written
