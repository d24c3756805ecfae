"""What the file system tells the watcher: watchdog's events, recorded and sorted out.

The observer's thread only appends to a list (`EventInbox`); the worker later turns each event
into a note path and drops the events of the watcher's own writes (`OwnWrites`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

from vaultpapers.config import STATE_DIR, Settings
from vaultpapers.model import FileState, Outcome, content_digest
from vaultpapers.run.report import RunReport
from vaultpapers.vaultfs.files import is_excluded
from vaultpapers.watch.scheduler import Scheduler, Stat

log = logging.getLogger("vaultpapers.watch")

NOTE_SUFFIX = ".md"
# Only what can change a note; no Opened or closed-without-writing events, which every run's
# own reads would cause. Closed-after-writing says a note is complete (no need to wait `quiet`).
WATCHED_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    DirMovedEvent,
    DirDeletedEvent,
]
_STATE_PART = os.sep + STATE_DIR + os.sep  # events in our own folder are not the user's
# The last event of a save: nothing more of the same save is on its way.
_COMPLETING = ("closed", "deleted", "moved")


@dataclass(frozen=True)
class RawEvent:
    kind: str
    src: str
    dest: str
    is_directory: bool
    at: float


def stat_of(path: Path) -> Stat | None:
    try:
        result = os.stat(path)
    except OSError:
        return None
    return result.st_mtime_ns, result.st_size


def recently_saved(
    vault: Path, paths: Iterable[str], within: float
) -> dict[str, tuple[float, Stat]]:
    """The notes modified less than `within` seconds ago (by their mtime), with when that was
    on the monotonic clock and how they look: what changed just before the watcher started."""
    now, wall = time.monotonic(), time.time()
    recent: dict[str, tuple[float, Stat]] = {}
    for relative in paths:
        stat = stat_of(vault / relative)
        if stat is not None and wall - stat[0] / 1e9 < within:
            recent[relative] = (now - max(0.0, wall - stat[0] / 1e9), stat)
    return recent


class EventRecorder(FileSystemEventHandler):
    """watchdog's handler: hands each event on as a `RawEvent`, stamped with when it came."""

    def __init__(self, sink: Callable[[RawEvent], None]) -> None:
        self._sink = sink

    def dispatch(self, event: FileSystemEvent) -> None:
        # Never raise: watchdog's observer thread dies silently on a handler's exception.
        try:
            dest = getattr(event, "dest_path", "") or ""
            self._sink(
                RawEvent(
                    event.event_type,
                    os.fsdecode(event.src_path),
                    os.fsdecode(dest),
                    event.is_directory,
                    time.monotonic(),
                )
            )
        except Exception:
            with contextlib.suppress(Exception):
                log.exception("could not record a file event")


class EventInbox:
    """Events not yet looked at, shared between the observer's thread and the worker.

    `noted_edit` is set by any event on a note: a follow-up run then leaves the rest for later
    (it is handed to the pipeline as the event to yield to)."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        self._lock = threading.Lock()
        self._events: list[RawEvent] = []
        self.noted_edit = threading.Event()

    def put(self, event: RawEvent) -> None:
        with self._lock:
            self._events.append(event)
        if any(
            path.endswith(NOTE_SUFFIX) and _STATE_PART not in path
            for path in (event.src, event.dest)
        ):
            self.noted_edit.set()
        self._wake()

    def take(self) -> list[RawEvent]:
        with self._lock:
            events, self._events = self._events, []
        return events

    def empty(self) -> bool:
        with self._lock:
            return not self._events


class OwnWrites:
    """Files as our writer left them, and paths it removed, with when that run started: an
    event from before then is the user's, even if the file now looks as we left it."""

    def __init__(self, vault: Path) -> None:
        self._vault = vault
        self._written: dict[str, tuple[FileState, float]] = {}
        self._removed: dict[str, float] = {}

    def remember(self, report: RunReport, started: float) -> None:
        """So that the events of these writes, when they come back, cause no run."""
        for result in report.results:
            if result.outcome is not Outcome.WRITTEN:
                continue
            write = result.write
            if write.delete or result.state is None:
                self._written.pop(write.path, None)
                self._removed[write.path] = started
                continue
            self._written[write.path] = (result.state, started)
            self._removed.pop(write.path, None)
            if write.replaces is not None:
                self._written.pop(write.replaces, None)
                self._removed[write.replaces] = started

    def caused(self, relative: str, stat: Stat | None, event_at: float) -> bool:
        """Whether an event at `event_at` on `relative` (which looks like `stat` now) is one
        of our own writes coming back."""
        if stat is None:
            return self._removed.get(relative, float("inf")) <= event_at
        self._removed.pop(relative, None)
        state, since = self._written.get(relative, (None, float("inf")))
        if state is None or event_at < since or (state.mtime_ns, state.size) != stat:
            return False
        # Same mtime and size: compare the bytes too (coarse clocks, same-length edits).
        try:
            return content_digest((self._vault / relative).read_bytes()) == state.digest
        except OSError:
            return False


class EventSorter:
    """Turns recorded events into changes of the scheduler: which paths are notes of the vault
    (not hidden, not excluded, not our log), and which events are not our own writes."""

    def __init__(self, vault: Path, settings: Settings, log_file: Path | None) -> None:
        self._vault = vault
        self._root = str(vault)
        self._exclude = settings.exclude
        self._log_file = log_file
        self.own = OwnWrites(vault)
        self.events_seen = 0  # note events that were not the watcher's own writes
        self.own_events_ignored = 0

    def relative(self, path: str) -> str | None:
        if not path or not path.startswith(self._root + os.sep):
            return None
        return path[len(self._root) + 1 :].replace(os.sep, "/")

    def is_watched(self, relative: str, *, directory: bool) -> bool:
        if any(part.startswith(".") for part in relative.split("/")):
            return False
        if not directory and not relative.endswith(NOTE_SUFFIX):
            return False
        if self._log_file is not None and self._vault / relative == self._log_file:
            return False
        return not is_excluded(relative, self._exclude)

    def absorb(self, events: Sequence[RawEvent], scheduler: Scheduler) -> None:
        for event in events:
            paths = [event.src, event.dest] if event.kind == "moved" else [event.src]
            for path in paths:
                relative = self.relative(path)
                if relative is None or not self.is_watched(relative, directory=event.is_directory):
                    continue
                if event.is_directory:
                    scheduler.folder_changed(relative, event.at)
                    continue
                stat = stat_of(self._vault / relative)
                if self.own.caused(relative, stat, event.at):
                    self.own_events_ignored += 1
                    continue
                self.events_seen += 1
                scheduler.note_changed(relative, event.at, stat, complete=event.kind in _COMPLETING)
