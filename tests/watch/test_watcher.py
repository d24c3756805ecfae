"""`vaultpapers watch`: real watchdog observers on real vaults, a loopback arXiv API.

Every test waits on a condition with a timeout; none relies on a fixed sleep to pass.
"""

from __future__ import annotations

import contextlib
import errno
import os
import plistlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from factories import make_paper
from paths import REPO
from vaultpapers.arxiv.papers import Paper
from vaultpapers.cli import main
from vaultpapers.config import ArxivSettings, Settings, WatchSettings
from vaultpapers.model import Outcome
from vaultpapers.run.sources import open_cache
from vaultpapers.testing import FakeArxiv
from vaultpapers.watch import VaultWatcher, WatcherAlreadyRunning, read_status, running_watcher_pid
from vaults import MIXER, PERCEIVER, build_vault, is_only_insertions, snapshot

PERCEIVER_URL = "https://arxiv.org/abs/2103.03206"
MIXER_URL = "https://arxiv.org/abs/2105.01601"
WIKILINK = re.compile(r"\[\[([^\[\]|\\#^]+)")


# -- helpers --------------------------------------------------------------------------------


def watch_settings(api: FakeArxiv | None = None, **watch: float) -> Settings:
    # Nothing listens on port 9: a watcher without an API that tries the network fails fast.
    url = api.url if api is not None else "http://127.0.0.1:9/api/query"
    arxiv = replace(ArxivSettings(), api_url=url, delay=0, timeout=5, max_retries=1)
    timing = {"settle": 0.5, "quiet": 0.1, **watch}
    return replace(Settings(), arxiv=arxiv, watch=replace(WatchSettings(), **timing))


# An edit's follow-up run (relations, index notes) comes 0.1 s after it here instead of 1 s:
# the same run, only sooner; when it is due is specified in test_watch_scheduler.py.
FOLLOW_UP = 0.1


def watching(vault: Path, settings: Settings, **options: Any) -> VaultWatcher:
    return VaultWatcher(vault, settings, follow_up_delay=FOLLOW_UP, **options)


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.02)


def editor_save(path: Path, text: str) -> None:
    """How most editors save: a temp file beside the note, then a rename over it."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8", newline="")
    os.replace(temp, path)


def cache(vault: Path, *papers: Paper) -> None:
    with open_cache(vault) as paper_cache:
        paper_cache.put_many(papers)


def front_matter(text: str) -> dict:
    return yaml.safe_load(text.split("---\n")[1]) if text.startswith("---\n") else {}


def paper_note(vault: Path, key: str) -> Path | None:
    """The note for arXiv `key`, wherever it is, found by its `arxiv_id` like vaultpapers does."""
    for path in (vault / "Papers").glob("*.md") if (vault / "Papers").is_dir() else ():
        if front_matter(read(path)).get("arxiv_id") == key:
            return path
    return None


def complete_paper_note(vault: Path, key: str) -> Path | None:
    path = paper_note(vault, key)
    if path is None or front_matter(read(path)).get("metadata") == "pending":
        return None
    return path


def read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def mentions(vault: Path, key: str) -> list[str]:
    path = paper_note(vault, key)
    if path is None:
        return []
    section = read(path).partition("## Mentioned in")[2].partition("<!--")[0]
    return re.findall(r"\[\[([^\]|]+)", section)


def notes(vault: Path) -> Iterator[Path]:
    for path in vault.rglob("*.md"):
        if not any(part.startswith(".") for part in path.relative_to(vault).parts):
            yield path


def dangling_links(vault: Path) -> list[str]:
    """Wikilinks, in every note, to a note that does not exist (resolved like Obsidian does)."""
    stems = {path.stem.lower() for path in notes(vault)}
    paths = {path.relative_to(vault).with_suffix("").as_posix().lower() for path in notes(vault)}
    dangling = []
    for path in notes(vault):
        for target in WIKILINK.findall(read(path)):
            target = target.strip().removesuffix(".md").lower()
            if target not in stems and target not in paths:
                dangling.append(f"{path.relative_to(vault)} -> {target}")
    return dangling


def has_link(text: str) -> bool:
    return "[[" in text


@contextlib.contextmanager
def notes_created_in_papers(vault: Path) -> Iterator[CreatedFiles]:
    """Every file created in Papers/ meanwhile, as the file system reports it."""
    created = CreatedFiles()
    spy = Observer()
    spy.schedule(created, str(vault / "Papers"))
    spy.start()
    try:
        yield created
    finally:
        spy.stop()
        spy.join()


def assert_only_its_note_made_with_one_request(
    vault: Path, created: CreatedFiles, api: FakeArxiv, key: str
) -> None:
    """The paper got one complete note, made at once under its name: no stub first."""
    note = complete_paper_note(vault, key)
    assert note is not None
    wait_until(lambda: note.name in created.names, 5, "the spy to see the new note")
    assert [name for name in created.names if name.endswith(".md")] == [note.name]
    assert [r.id_list for r in api.requests] == [(key,)]


@pytest.fixture
def api(fake_arxiv: FakeArxiv) -> FakeArxiv:
    fake_arxiv.add(PERCEIVER)
    fake_arxiv.add(MIXER)
    return fake_arxiv


# -- editing ---------------------------------------------------------------------------------


def test_an_editor_style_save_gets_its_paper_note_at_once_and_its_link_once_quiet(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Ideas.md": "Nothing cited yet.\n"})
    cache(vault, PERCEIVER)
    settle = 2.0
    with watching(vault, watch_settings(api, settle=settle)) as watcher:
        assert watcher.wait_idle(10)
        note = vault / "Reading.md"
        text = f"# Reading\n\nPerceiver: {PERCEIVER_URL} is worth a second look.\n"

        saved = time.monotonic()
        editor_save(note, text)
        wait_until(lambda: paper_note(vault, "2103.03206"), 5, "the Perceiver paper note")
        paper_note_latency = time.monotonic() - saved
        # The note is still fresh: the user may be typing in it, so no link yet.
        assert read(note) == text

        wait_until(lambda: has_link(read(note)), 10, "the inserted link")
        assert time.monotonic() - saved >= settle
        assert watcher.wait_idle(10)

    linked = read(note)
    assert is_only_insertions(text, linked)
    assert linked.count("[[") == 1
    assert "|Perceiver]]" in linked
    assert mentions(vault, "2103.03206") == ["Reading"]
    assert paper_note_latency < settle  # the cached paper's note did not wait for the settle
    assert not api.requests  # cached: nothing fetched
    assert dangling_links(vault) == []


def test_a_stopped_watcher_lists_no_note_as_waiting_for_links(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Ideas.md": "Nothing cited yet.\n"})
    cache(vault, PERCEIVER)
    with watching(vault, watch_settings(api, settle=60.0)) as watcher:
        assert watcher.wait_idle(10)
        editor_save(vault / "Reading.md", f"Perceiver: {PERCEIVER_URL}\n")

        def settling() -> list[str]:
            record = read_status(vault).record
            return record.settling if record is not None else []

        wait_until(lambda: settling() == ["Reading.md"], 10, "the note listed as settling")
    record = read_status(vault).record
    assert record is not None and record.stopped
    assert record.settling == []


def test_a_complete_save_does_not_wait_for_quiet(tmp_path: Path, api: FakeArxiv) -> None:
    """A note moved into place, or closed after writing, is whole: its paper note is made at
    once, long before `quiet` seconds without events have passed."""
    vault = build_vault(tmp_path / "v", {"Ideas.md": "Nothing cited yet.\n"})
    cache(vault, PERCEIVER, MIXER)
    quiet = 30.0
    with watching(vault, watch_settings(api, quiet=quiet)) as watcher:
        assert watcher.wait_idle(10)
        editor_save(vault / "Saved.md", f"Perceiver: {PERCEIVER_URL}\n")
        wait_until(lambda: paper_note(vault, "2103.03206"), 10, "the saved note's paper")

        with open(vault / "Typing.md", "w", encoding="utf-8") as still_open:
            still_open.write(f"MLP-Mixer: {MIXER_URL}\n")
            still_open.flush()
        wait_until(lambda: paper_note(vault, "2105.01601"), 10, "the closed note's paper")
    assert not api.requests


class CreatedFiles(FileSystemEventHandler):
    """Every file name that appears below a folder, as a second observer sees it."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def on_created(self, event: FileSystemEvent) -> None:
        self.names.append(Path(os.fsdecode(event.src_path)).name)

    def on_moved(self, event: FileSystemEvent) -> None:
        self.names.append(Path(os.fsdecode(event.dest_path)).name)


def test_a_paper_that_must_be_fetched_gets_one_note_in_seconds_and_no_stub_first(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Papers/Earlier.md": "An older note of mine.\n"})
    with notes_created_in_papers(vault) as created:
        with watching(vault, watch_settings(api)) as watcher:
            assert watcher.wait_idle(10)
            saved = time.monotonic()
            editor_save(vault / "Mixer.md", f"MLP-Mixer {MIXER_URL}\n")
            wait_until(lambda: complete_paper_note(vault, "2105.01601"), 5, "the fetched paper")
            latency = time.monotonic() - saved
            wait_until(lambda: has_link(read(vault / "Mixer.md")), 10)
            assert watcher.wait_idle(10)
        assert_only_its_note_made_with_one_request(vault, created, api, "2105.01601")
    assert latency < 5


def test_papers_cited_before_it_started_get_one_note_each_and_no_stub_first(
    tmp_path: Path, api: FakeArxiv
) -> None:
    """The catch-up run defers papers without metadata and asks for them, instead of reading
    every note beforehand to find them."""
    vault = build_vault(tmp_path / "v", {"Mixer.md": f"MLP-Mixer {MIXER_URL}\n"})
    an_hour_ago = time.time() - 3600  # not a note the user may still be typing in
    os.utime(vault / "Mixer.md", (an_hour_ago, an_hour_ago))
    (vault / "Papers").mkdir()
    with notes_created_in_papers(vault) as created:
        with watching(vault, watch_settings(api)) as watcher:
            wait_until(lambda: complete_paper_note(vault, "2105.01601"), 10, "the fetched paper")
            wait_until(lambda: has_link(read(vault / "Mixer.md")), 10)
            assert watcher.wait_idle(10)
        assert_only_its_note_made_with_one_request(vault, created, api, "2105.01601")


def test_links_wait_while_the_user_keeps_saving_and_never_overwrite_a_newer_version(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {})
    cache(vault, PERCEIVER)
    note = vault / "Draft.md"
    with watching(vault, watch_settings(api, settle=0.6)) as watcher:
        assert watcher.wait_idle(10)
        text = f"Perceiver {PERCEIVER_URL}\n"
        # Autosave every 0.2 s, as Obsidian does while typing (every 2 s), for 2 s.
        for word in range(10):
            text += f"word{word} "
            editor_save(note, text)
            time.sleep(0.2)  # the typing rhythm, not a wait for the watcher
            assert read(note) == text, "the watcher wrote into a note being typed in"
        wait_until(lambda: has_link(read(note)), 10, "the link after typing stopped")
        assert watcher.wait_idle(10)
    assert is_only_insertions(text, read(note))
    assert read(note).count("[[") == 1


def test_a_note_written_in_chunks_is_linked_once_after_it_is_complete(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {})
    cache(vault, PERCEIVER)
    note = vault / "Imported.md"
    full = f"# Imported\n\nThe paper {PERCEIVER_URL} introduced latent arrays.\n"
    # Cut inside the arXiv id: the first half alone cites a malformed id.
    cut = full.index("03206") + 2
    with watching(vault, watch_settings(api)) as watcher:
        assert watcher.wait_idle(10)
        seen = watcher.events_seen
        with open(note, "w", encoding="utf-8", newline="") as handle:
            handle.write(full[:cut])
            handle.flush()
            wait_until(lambda: watcher.events_seen > seen, 5, "the watcher to see the half file")
            handle.write(full[cut:])
        wait_until(lambda: has_link(read(note)), 10, "the link in the completed note")
        assert watcher.wait_idle(10)
        problems = [str(p) for p in watcher.last_report.problems] if watcher.last_report else []

    assert [p.name for p in (vault / "Papers").glob("*.md")] == [
        "Perceiver - General Perception with Iterative Attention (2103.03206).md"
    ]
    assert is_only_insertions(full, read(note))
    assert read(note).count("[[") == 1
    assert problems == []  # the half-written id was only ever a passing state


def test_a_burst_of_500_new_notes_is_processed_completely(tmp_path: Path, api: FakeArxiv) -> None:
    fetched = [make_paper(f"2201.{n:05d}", f"Paper number {n}") for n in range(1, 21)]
    for paper in fetched:
        api.add(paper)
    vault = build_vault(tmp_path / "v", {})
    cache(vault, PERCEIVER, MIXER)
    burst = {}
    for i in range(500):
        url = PERCEIVER_URL if i % 2 else MIXER_URL
        burst[f"Synced/note {i:03}.md"] = f"# Note {i}\n\nCites {url} today.\n"
    for i, paper in enumerate(fetched):
        burst[f"Synced/note {i:03}.md"] += f"And arXiv:{paper.arxiv_id}.\n"

    with watching(vault, watch_settings(api)) as watcher:
        assert watcher.wait_idle(10)
        build_vault(vault, burst)  # as fast as a sync client or a git pull
        wait_until(
            lambda: all(has_link(read(vault / path)) for path in burst), 40, "links in all 500"
        )
        assert watcher.wait_idle(20)

    for path, text in burst.items():
        assert is_only_insertions(text, read(vault / path)), path
    assert len(mentions(vault, "2103.03206")) == 250
    assert len(mentions(vault, "2105.01601")) == 250
    for paper in fetched:
        assert complete_paper_note(vault, paper.arxiv_id), paper.arxiv_id
    assert dangling_links(vault) == []


# -- renames and deletes ---------------------------------------------------------------------


def linked_pair(tmp_path: Path) -> Path:
    vault = build_vault(
        tmp_path / "v",
        {
            "Week 1.md": f"Read Perceiver {PERCEIVER_URL}\n",
            "Week 2.md": f"Perceiver again: {PERCEIVER_URL}\n",
        },
    )
    cache(vault, PERCEIVER)
    return vault


def test_mentioned_in_follows_a_renamed_note(tmp_path: Path, api: FakeArxiv) -> None:
    vault = linked_pair(tmp_path)
    with watching(vault, watch_settings(api, settle=0.2)) as watcher:
        wait_until(lambda: mentions(vault, "2103.03206") == ["Week 1", "Week 2"], 10)
        assert watcher.wait_idle(10)
        (vault / "Archive").mkdir()
        os.rename(vault / "Week 1.md", vault / "Archive" / "First week.md")
        wait_until(lambda: mentions(vault, "2103.03206") == ["First week", "Week 2"], 10)
        assert watcher.wait_idle(10)
    assert dangling_links(vault) == []


def test_a_deleted_note_is_dropped_and_the_paper_note_stays(tmp_path: Path, api: FakeArxiv) -> None:
    vault = linked_pair(tmp_path)
    with watching(vault, watch_settings(api, settle=0.2)) as watcher:
        wait_until(lambda: mentions(vault, "2103.03206") == ["Week 1", "Week 2"], 10)
        assert watcher.wait_idle(10)
        (vault / "Week 2.md").unlink()
        wait_until(lambda: mentions(vault, "2103.03206") == ["Week 1"], 10)
        (vault / "Week 1.md").unlink()
        wait_until(lambda: mentions(vault, "2103.03206") == [], 10)
        assert watcher.wait_idle(10)
    assert paper_note(vault, "2103.03206") is not None
    assert dangling_links(vault) == []


# -- faults ----------------------------------------------------------------------------------


def test_a_file_that_is_not_utf8_is_reported_and_the_others_are_handled(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(
        tmp_path / "v",
        {
            "Good.md": f"Perceiver {PERCEIVER_URL}\n",
            "Latin-1.md": f"Caf\xe9 notes, {MIXER_URL}\n".encode("latin-1"),
        },
    )
    cache(vault, PERCEIVER, MIXER)
    with watching(vault, watch_settings(api, settle=0.2)) as watcher:
        wait_until(lambda: has_link(read(vault / "Good.md")), 10)
        assert watcher.wait_idle(10)
        problems = [str(p) for p in watcher.last_report.problems] if watcher.last_report else []
        assert any(p.startswith("Latin-1.md") and "not UTF-8" in p for p in problems)
        # Still alive and working.
        editor_save(vault / "Later.md", f"Mixer {MIXER_URL}\n")
        wait_until(lambda: has_link(read(vault / "Later.md")), 10)
        assert watcher.wait_idle(10)
    assert (vault / "Latin-1.md").read_bytes() == f"Caf\xe9 notes, {MIXER_URL}\n".encode("latin-1")
    assert read_status(vault).record is not None
    assert any(
        p["file"] == "Latin-1.md" and p["code"] == "not-utf8"
        for p in read_status(vault).record.problems
    )


def test_a_paper_note_with_odd_yaml_holds_nothing_up(tmp_path: Path, api: FakeArxiv) -> None:
    # An unquoted wikilink in `aliases` is YAML for a nested list: a mistake users make.
    broken = "---\nvaultpapers: paper\narxiv_id: '2105.01601'\naliases: [[Mixer]]\n---\nMine.\n"
    vault = build_vault(
        tmp_path / "v",
        {"Papers/Mixer.md": broken, "Reading.md": f"Perceiver {PERCEIVER_URL}\n"},
    )
    cache(vault, PERCEIVER, MIXER)
    with watching(vault, watch_settings(api, settle=0.2)) as watcher:
        wait_until(lambda: has_link(read(vault / "Reading.md")), 10)
        assert watcher.wait_idle(10)
        editor_save(vault / "More.md", f"Perceiver again {PERCEIVER_URL}\n")
        wait_until(lambda: has_link(read(vault / "More.md")), 10)
        assert watcher.wait_idle(10)
    mixer = read(vault / "Papers/Mixer.md")
    assert mixer.endswith("Mine.\n")
    assert ["Mixer"] in yaml.safe_load(mixer.split("---\n")[1])["aliases"], "the user's entry kept"


def test_an_api_outage_leaves_a_pending_note_and_never_holds_up_cached_papers(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {})
    cache(vault, MIXER)
    api.fail_next(503, times=4)  # two whole fetches (each tries twice) fail
    with watching(vault, watch_settings(api, settle=0.2), fetch_backoff=(0.3, 1.0)) as w:
        assert w.wait_idle(10)
        editor_save(vault / "New paper.md", f"Perceiver {PERCEIVER_URL}\n")
        api.wait_for_requests(1)

        # arXiv is failing; an edit citing a cached paper goes through regardless.
        editor_save(vault / "Mixer.md", f"Mixer {MIXER_URL}\n")
        wait_until(lambda: has_link(read(vault / "Mixer.md")), 10, "the cached paper's link")
        assert complete_paper_note(vault, "2103.03206") is None
        assert len(api.requests) < 5  # the Perceiver fetch has not succeeded yet

        # Once a fetch has failed the paper gets a pending note; then arXiv recovers.
        wait_until(lambda: "2103.03206" in w.pending, 10)
        wait_until(lambda: complete_paper_note(vault, "2103.03206"), 15, "the completed note")
        wait_until(lambda: has_link(read(vault / "New paper.md")), 10)
        assert w.wait_idle(10)
        assert "2103.03206" not in w.pending

    assert [r.fault for r in api.requests[:4]] == ["fail"] * 4
    assert list((vault / "Papers").glob("arXiv*")) == []  # the pending stub was renamed
    assert dangling_links(vault) == []


def test_a_dead_observer_is_restarted(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(tmp_path / "v", {})
    cache(vault, PERCEIVER)
    with watching(vault, watch_settings(api, settle=0.2)) as watcher:
        assert watcher.wait_idle(10)
        first = watcher.observer
        assert first is not None
        first.stop()  # what an exception in a handler does to watchdog's thread
        wait_until(lambda: watcher.observer is not first and watcher.observer is not None, 5)
        editor_save(vault / "After.md", f"Perceiver {PERCEIVER_URL}\n")
        wait_until(lambda: has_link(read(vault / "After.md")), 10)
        assert any("file watcher stopped" in e for e in watcher.errors)


def test_at_the_inotify_watch_limit_it_falls_back_to_polling(
    tmp_path: Path, api: FakeArxiv
) -> None:
    class LimitReached(BaseObserver):
        """What the kernel does once fs.inotify.max_user_watches is used up."""

        def __init__(self) -> None:
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

    vault = build_vault(tmp_path / "v", {})
    cache(vault, PERCEIVER)
    settings = watch_settings(api, settle=0.2)
    with watching(vault, settings, native_observer=LimitReached, poll_interval=0.1) as w:
        assert w.observer_kind.startswith("polling")
        assert any("max_user_watches" in e for e in w.errors)
        assert w.wait_idle(10)
        editor_save(vault / "Polled.md", f"Perceiver {PERCEIVER_URL}\n")
        wait_until(lambda: has_link(read(vault / "Polled.md")), 10)


# -- no loops --------------------------------------------------------------------------------


def test_the_watchers_own_writes_cause_no_further_run(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(
        tmp_path / "v",
        {"A.md": f"Perceiver {PERCEIVER_URL}\n", "B.md": f"Mixer {MIXER_URL}\n"},
    )
    cache(vault, PERCEIVER, MIXER)
    with watching(vault, watch_settings(api, settle=0)) as watcher:
        wait_until(lambda: watcher.runs >= 1, 10, "the catch-up run")
        assert watcher.last_report is not None
        written = [r for r in watcher.last_report.results if r.outcome is Outcome.WRITTEN]
        assert len(written) >= 4  # two paper notes, two linked notes
        wait_until(lambda: watcher.own_events_ignored >= len(written), 5, "own write events")
        assert watcher.wait_idle(10)
        assert dict(watcher.run_reasons) == {"catch-up": 1}
        assert watcher.events_seen == 0


def test_with_no_edits_nothing_is_written(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(
        tmp_path / "v",
        {"A.md": f"Perceiver {PERCEIVER_URL}\n", "B.md": f"Mixer {MIXER_URL} #ml\n"},
    )
    cache(vault, PERCEIVER, MIXER)
    settings = watch_settings(api, settle=0, rescan_interval=0.2)
    with watching(vault, settings) as watcher:
        wait_until(lambda: has_link(read(vault / "B.md")), 10, "the catch-up run")
        assert watcher.wait_idle(10)
        files = snapshot(vault)
        mtimes = {p: p.stat().st_mtime_ns for p in vault.rglob("*") if p.is_file()}
        wait_until(lambda: watcher.run_reasons["rescan"] >= 5, 10, "five rescans")
        assert snapshot(vault) == files
        assert {p: p.stat().st_mtime_ns for p in mtimes if p.exists()} == mtimes
    assert not api.requests


# -- one watcher per vault, status, running in the background --------------------------------


def test_a_second_watcher_on_the_same_vault_is_refused(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(tmp_path / "v", {})
    with watching(vault, watch_settings(api)):
        with pytest.raises(WatcherAlreadyRunning, match=f"pid {os.getpid()}"):
            VaultWatcher(vault, watch_settings(api)).start()
        cli = subprocess.run(
            [sys.executable, "-m", "vaultpapers", "watch", str(vault)],
            env=subprocess_env(api),
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert cli.returncode == 1
        assert f"already running on {vault.resolve()} (pid {os.getpid()}" in cli.stderr
    assert running_watcher_pid(vault) is None


def test_status_shows_the_running_watcher_what_is_pending_and_the_problems(
    tmp_path: Path,
) -> None:
    vault = build_vault(
        tmp_path / "v",
        {"Log.md": f"Perceiver {PERCEIVER_URL}\n\nA typo: https://arxiv.org/abs/2006.162360\n"},
    )
    runner = CliRunner()
    with watching(vault, watch_settings(), offline=True) as watcher:
        assert watcher.wait_idle(10)
        shown = runner.invoke(main, ["status", str(vault)])
        assert shown.exit_code == 0, shown.output
        assert f"A watcher is running on {vault.resolve()} (pid {os.getpid()}" in shown.output
        assert "2103.03206: offline" in shown.output
        assert "Log.md:3: " in shown.output and "2006.162360" in shown.output

    shown = runner.invoke(main, ["status", str(vault)])
    assert shown.exit_code == 1
    assert f"No watcher is running on {vault.resolve()}." in shown.output
    assert f"The last one was pid {os.getpid()}, stopped" in shown.output


def subprocess_env(api: FakeArxiv) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
        "VAULTPAPERS_ARXIV_API": api.url,
        "VAULTPAPERS_ARXIV_DELAY": "0",
    }


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_watcher_promptly_with_exit_0_and_whole_files(
    tmp_path: Path, api: FakeArxiv, stop_signal: signal.Signals
) -> None:
    files = {f"Log/day {i:03}.md": f"Day {i}: {PERCEIVER_URL}\n" for i in range(300)}
    files[".vaultpapers/config.yaml"] = (
        "watch:\n  settle: 0\n  quiet: 0.05\n  log_file: .vaultpapers/watch.log\n"
    )
    vault = build_vault(tmp_path / "v", files)
    cache(vault, PERCEIVER)
    watch = subprocess.Popen(
        [sys.executable, "-m", "vaultpapers", "watch", str(vault)],
        env=subprocess_env(api),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Signal it in the middle of the catch-up run, while it is writing.
        wait_until(lambda: paper_note(vault, "2103.03206"), 20, "the catch-up to start writing")
        assert running_watcher_pid(vault) == watch.pid
        signalled = time.monotonic()
        watch.send_signal(stop_signal)
        _, stderr = watch.communicate(timeout=10)
        took = time.monotonic() - signalled
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    assert watch.returncode == 0, stderr
    assert took < 5
    assert running_watcher_pid(vault) is None
    assert not [p for p in vault.rglob("*") if p.name.endswith(".tmp")]
    for path, text in files.items():
        if path.endswith(".md"):
            assert is_only_insertions(text, read(vault / path)), path
    log = read(vault / ".vaultpapers" / "watch.log")
    assert f"received {stop_signal.name}" in log
    assert "stopped watching" in log


def test_the_background_service_examples_run_the_watch_command() -> None:
    unit = (REPO / "examples/systemd/vaultpapers-watch.service").read_text(encoding="utf-8")
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert " watch " in f"{exec_start} "
    assert "[Install]" in unit and "WantedBy=default.target" in unit

    with open(REPO / "examples/launchd/org.vaultpapers.watch.plist", "rb") as handle:
        agent = plistlib.load(handle)
    assert agent["Label"] == "org.vaultpapers.watch"
    assert agent["ProgramArguments"][1] == "watch"
    assert agent["RunAtLoad"] is True


def test_a_new_papers_note_comes_first_and_its_related_papers_right_after(
    tmp_path: Path, api: FakeArxiv
) -> None:
    perceiver_io = make_paper(
        "2107.14795",
        "Perceiver IO: A General Architecture for Structured Inputs & Outputs",
        authors=("Andrew Jaegle", "Sebastian Borgeaud"),
        summary="The recently-proposed Perceiver model obtains good results.",
    )
    vault = build_vault(tmp_path / "v", {"Reading.md": f"Perceiver {PERCEIVER_URL}\n"})
    cache(vault, PERCEIVER, perceiver_io)
    with watching(vault, watch_settings(api, settle=0.2)) as watcher:
        assert watcher.wait_idle(10)
        editor_save(vault / "IO.md", "Perceiver IO https://arxiv.org/abs/2107.14795\n")
        wait_until(lambda: complete_paper_note(vault, "2107.14795"), 10, "the new paper's note")
        perceiver = complete_paper_note(vault, "2103.03206")
        assert perceiver is not None
        wait_until(
            lambda: "Perceiver IO" in read(perceiver), 10, "Perceiver's note naming Perceiver IO"
        )
        assert watcher.wait_idle(10)
        assert watcher.run_reasons["relations"] >= 1
        io_note = complete_paper_note(vault, "2107.14795")
        assert io_note is not None and front_matter(read(io_note))["series"] == "Perceiver"
