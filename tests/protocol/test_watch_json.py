"""`watch --json`: the watcher's states and the events of each run it makes, through a real
`vaultpapers watch --json` process (and, where a test needs a short backoff, a real watcher in
this process with the same listener). Every wait is on a condition with a timeout."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from json_events import Event, assert_adds_up, named, parse, runs, valid
from paths import REPO
from vaultpapers.cli import main
from vaultpapers.config import ArxivSettings, Settings, WatchSettings
from vaultpapers.protocol import Emitter, WatchEvents
from vaultpapers.testing import FakeArxiv
from vaultpapers.watch import VaultWatcher
from vaults import MIXER, PERCEIVER, build_vault

PERCEIVER_NOTE = "Papers/Perceiver - General Perception with Iterative Attention (2103.03206).md"
MIXER_NOTE = "Papers/MLP-Mixer - An all-MLP Architecture for Vision (2105.01601).md"


class Events:
    """Events as they arrive (from a process's stdout, or an in-process listener), each
    validated against the schema; waited on with a timeout."""

    def __init__(self) -> None:
        self.items: list[Event] = []
        self._arrived = threading.Condition()

    def add_line(self, line: str) -> None:
        [item] = parse(line if line.endswith("\n") else line + "\n")
        with self._arrived:
            self.items.append(item)
            self._arrived.notify_all()

    def wait_for(self, found: Callable[[list[Event]], object], timeout: float, what: str) -> None:
        with self._arrived:
            if not self._arrived.wait_for(lambda: found(self.items), timeout):
                shown = "\n".join(str(e)[:160] for e in self.items[-15:])
                raise AssertionError(f"timed out after {timeout} s waiting for {what}:\n{shown}")

    def since(self, start: int) -> list[Event]:
        with self._arrived:
            return self.items[start:]

    def __len__(self) -> int:
        with self._arrived:
            return len(self.items)


class _Lines(io.TextIOBase):
    """A text stream handing each line written to `Events`."""

    def __init__(self, events: Events) -> None:
        self.events = events

    def write(self, text: str) -> int:
        for line in text.splitlines():
            self.events.add_line(line)
        return len(text)


def state_is(state: str, **where: object) -> Callable[[list[Event]], bool]:
    def found(items: list[Event]) -> bool:
        last = [e for e in items if e["event"] == "watcher_state"]
        return (
            bool(last)
            and last[-1]["state"] == state
            and all(last[-1][k] == v for k, v in where.items())
        )

    return found


def written(path: str, kind: str, action: str) -> Callable[[list[Event]], bool]:
    return lambda items: any(
        e["event"] == "note_written"
        and e["path"] == path
        and e["kind"] == kind
        and e["action"] == action
        for e in items
    )


def editor_save(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8", newline="")
    os.replace(temp, path)


@pytest.fixture
def api(fake_arxiv: FakeArxiv) -> FakeArxiv:
    fake_arxiv.add(PERCEIVER)
    fake_arxiv.add(MIXER)
    return fake_arxiv


def watch_env(api: FakeArxiv) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
        "VAULTPAPERS_ARXIV_API": api.url,
        "VAULTPAPERS_ARXIV_DELAY": "0",
    }


Started = Callable[[Path], tuple[Events, "subprocess.Popen[str]"]]


@pytest.fixture
def process(api: FakeArxiv) -> Iterator[Started]:
    started: list[subprocess.Popen[str]] = []

    def start(vault: Path) -> tuple[Events, subprocess.Popen[str]]:
        env = watch_env(api)
        watch = subprocess.Popen(
            [sys.executable, "-m", "vaultpapers", "watch", "--json", "--settle", "0.3", str(vault)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        started.append(watch)
        events = Events()

        def read() -> None:
            assert watch.stdout is not None
            for line in watch.stdout:
                events.add_line(line)

        threading.Thread(target=read, daemon=True).start()
        return events, watch

    yield start
    for watch in started:
        if watch.poll() is None:
            watch.kill()
            watch.wait()


def test_a_save_a_rename_and_a_stop_as_events(tmp_path: Path, process: Started) -> None:
    vault = build_vault(tmp_path / "v", {"Old.md": "nothing cited yet\n"})
    events, watch = process(vault)
    events.wait_for(state_is("watching"), 20, "the watcher to be watching")
    states = [e["state"] for e in named(events.items, "watcher_state")]
    assert states[:3] == ["starting", "catching_up", "watching"]

    # A save: the paper's note (its metadata fetched beside the runs), then the link once the
    # note has been quiet for --settle seconds.
    editor_save(vault / "Log.md", "Perceiver https://arxiv.org/abs/2103.03206\n")
    events.wait_for(written(PERCEIVER_NOTE, "paper", "created"), 20, "the paper note")
    events.wait_for(
        lambda items: any(
            e["event"] == "link_inserted"
            and e["path"] == "Log.md"
            and e["papers"] == ["2103.03206"]
            for e in items
        ),
        20,
        "the link in Log.md",
    )
    events.wait_for(state_is("watching", settling=0, pending=0), 20, "the watcher idle again")
    assert "[[Perceiver" in (vault / "Log.md").read_text(encoding="utf-8")

    # A rename: the paper note's "Mentioned in" follows.
    mark = len(events)
    os.rename(vault / "Log.md", vault / "Reading log.md")
    events.wait_for(
        lambda items: written(PERCEIVER_NOTE, "paper", "updated")(items[mark:]),
        20,
        "the paper note naming the renamed note",
    )
    assert "[[Reading log]]" in (vault / PERCEIVER_NOTE).read_text(encoding="utf-8")

    watch.send_signal(signal.SIGTERM)
    assert watch.wait(10) == 0
    events.wait_for(state_is("stopped"), 5, "the state stopped")
    assert events.items[-1]["event"] == "watcher_state"
    assert watch.stderr is not None and "Traceback" not in watch.stderr.read()

    every_state = [e["state"] for e in named(events.items, "watcher_state")]
    assert "linking" in every_state
    made = runs(events.items)
    assert made and all(run[0]["command"] == "watch" for run in made)
    assert made[0][0]["reason"] == "catch-up"
    for run in made:
        assert_adds_up(run)
    # Each run is announced by the state linking (the catch-up by catching_up), and no
    # state change comes in the middle of a run's events.
    for index, item in enumerate(events.items):
        if item["event"] == "run_started" and item["reason"] != "catch-up":
            previous = events.items[index - 1]
            assert previous["event"] == "watcher_state" and previous["state"] == "linking"


def test_a_second_watcher_is_an_error_event_and_exit_1(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "x\n"})
    settings = replace(Settings(), arxiv=replace(ArxivSettings(), api_url=api.url, delay=0))
    with VaultWatcher(vault, settings, offline=True):
        result = CliRunner().invoke(main, ["watch", "--json", "--offline", str(vault)])
    assert result.exit_code == 1, result.output
    events = parse(result.stdout)
    assert [e["event"] for e in events] == ["watcher_state", "error"]
    assert events[0]["state"] == "starting"
    assert events[-1]["exit_code"] == 1 and str(os.getpid()) in events[-1]["message"]


def test_an_arxiv_outage_is_the_state_offline_until_arxiv_answers(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Old.md": "nothing cited yet\n"})
    arxiv = replace(ArxivSettings(), api_url=api.url, delay=0, timeout=5, max_retries=0)
    watch = replace(WatchSettings(), settle=0.2, quiet=0.1)
    settings = replace(Settings(), arxiv=arxiv, watch=watch)
    events = Events()
    listener = WatchEvents(Emitter(_Lines(events)), vault)
    api.outage(503)
    with VaultWatcher(
        vault, settings, listener=listener, fetch_backoff=(0.3, 0.6), follow_up_delay=0.1
    ):
        events.wait_for(state_is("watching"), 10, "watching")
        editor_save(vault / "Mixer.md", "Mixer https://arxiv.org/abs/2105.01601\n")
        events.wait_for(state_is("offline", pending=1), 10, "the outage told")
        offline = named(events.items, "watcher_state")[-1]
        assert "503" in offline["message"]
        # Meanwhile the paper is pending in the runs, with its stub note.
        events.wait_for(
            lambda items: any(
                e["event"] == "pending" and [p["id"] for p in e["papers"]] == ["2105.01601"]
                for e in items
            ),
            10,
            "a run telling the paper pending",
        )
        api.outage(None)
        events.wait_for(state_is("watching", pending=0), 10, "arXiv answering again")
        events.wait_for(
            lambda items: any(
                e["event"] == "note_written" and e["path"] == MIXER_NOTE for e in items
            ),
            10,
            "the paper's note completed",
        )
    events.wait_for(state_is("stopped"), 5, "stopped")
    for item in events.items:
        valid(item)
    for run in runs(events.items):
        assert_adds_up(run)


def test_a_run_that_fails_is_the_state_failed_until_one_succeeds(tmp_path: Path) -> None:
    """A cache the watcher cannot use after it started: each run fails, and says so."""
    vault = build_vault(tmp_path / "v", {"a.md": "x\n"})
    settings = replace(Settings(), watch=replace(WatchSettings(), settle=0.1, quiet=0.05))
    events = Events()
    listener = WatchEvents(Emitter(_Lines(events)), vault)
    with VaultWatcher(vault, settings, offline=True, listener=listener, follow_up_delay=0.1):
        events.wait_for(state_is("watching"), 10, "watching")
        state = vault / ".vaultpapers" / "state.sqlite"
        for leftover in state.parent.glob("state.sqlite*"):
            leftover.unlink()
        state.mkdir()  # no database can be opened at that path now
        editor_save(vault / "b.md", "y\n")
        events.wait_for(state_is("failed"), 10, "the state failed")
        assert "a run failed" in named(events.items, "watcher_state")[-1]["message"]
        state.rmdir()
        events.wait_for(state_is("watching"), 20, "a run succeeding again")


def test_a_watcher_whose_reader_went_away_stops_as_on_sigterm(
    tmp_path: Path, api: FakeArxiv
) -> None:
    """The plugin crashed and nobody reads the events: the watcher stops at its next event
    instead of running on unseen (and exits 0, its files whole)."""
    vault = build_vault(tmp_path / "v", {"Old.md": "nothing cited yet\n"})
    watch = subprocess.Popen(
        [sys.executable, "-m", "vaultpapers", "watch", "--json", str(vault)],
        env=watch_env(api),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        assert watch.stdout is not None
        # Read here, not on a thread: closing a pipe another thread reads from would block.
        seen = Events()
        while not state_is("watching")(seen.items):
            line = watch.stdout.readline()
            assert line, "the watcher ended before watching"
            seen.add_line(line)
        watch.stdout.close()
        editor_save(vault / "Log.md", "Perceiver https://arxiv.org/abs/2103.03206\n")
        _, stderr = watch.communicate(timeout=20)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    assert watch.returncode == 0, stderr
    assert "received SIGTERM; stopping" in stderr and "Traceback" not in stderr
