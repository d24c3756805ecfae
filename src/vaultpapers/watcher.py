"""`vaultpapers watch`: keep a vault linked while its owner writes in it.

The watcher only decides *when* to run the one pipeline (`pipeline.run_link`) and *which* notes
and papers to hold back; every write goes through that pipeline's writer. Three threads:

- watchdog's observer calls `_EventRecorder`, which only appends the event to a list and wakes
  the worker. It cannot raise: an exception in a handler silently kills watchdog's thread.
- the worker coalesces events per path, waits until the vault has been quiet for
  `watch.quiet` seconds, drops the events of its own writes (the file is exactly as the writer
  left it), and runs the pipeline offline. A note changed less than `watch.settle` seconds ago
  gets no links yet (`defer_links_in`); a follow-up run inserts them once it has been quiet.
- the fetcher asks arXiv for papers cited but not cached, so the network never holds up local
  work; while a paper is on its way no stub note is made for it (`defer_papers`). A failed fetch
  lets the stub appear and is retried with backoff.

The worker also supervises the observer (restarting it, or falling back to polling when the
kernel's inotify limits are reached) and runs a full pass every `watch.rescan_interval` seconds
for events the kernel dropped.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

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
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserverVFS

from .cache import PaperCache
from .config import STATE_DIR, Settings
from .fetcher import MetadataFetcher
from .metadata import NOT_FOUND_MAX_AGE
from .pipeline import RunReport, WarmVault, open_cache, run_link
from .scan import scan_or_report
from .vault import Note, is_excluded, markdown_paths, read_note
from .watchstate import StatusRecord, WatchLock, now_iso, write_status
from .writer import FileState, Outcome, content_digest

__all__ = ["VaultWatcher", "log_file_path", "watch_logging"]

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
# Runs that look at the whole vault and do all there is to do.
FULL_RUNS = ("catch-up", "rescan", "watcher restarted")
# Seconds without a run for an edit before the follow-up run (relations, index notes).
FOLLOW_UP_DELAY = 1.0
_STATE_PART = os.sep + STATE_DIR + os.sep  # events in our own folder are not the user's
# After a complete save, only long enough for the events of the same operation to arrive.
COMPLETE_QUIET = 0.02
SUPERVISE_EVERY = 1.0  # seconds between checks that the observer is still alive
DEFAULT_POLL_INTERVAL = 1.0
DEFAULT_STOP_GRACE = 3.0  # seconds stop() lets the current run finish before abandoning it
DEFAULT_FETCH_BACKOFF = (5.0, 600.0)  # first and longest wait before re-asking arXiv
RUN_RETRY_BACKOFF = (2.0, 300.0)  # after a run failed for a reason no single note explains
_WATCH_LIMITS = {
    errno.ENOSPC: "fs.inotify.max_user_watches=524288",
    errno.EMFILE: "fs.inotify.max_user_instances=512",
}

Stat = tuple[int, int]  # (mtime_ns, size): cheap to compare on every event
ObserverFactory = Callable[[], BaseObserver]


@dataclass(frozen=True)
class _RawEvent:
    kind: str
    src: str
    dest: str
    is_directory: bool
    at: float


@dataclass
class _Seen:
    """A path with unprocessed changes: when it last changed, and how it looked then.
    `complete`: its last event ended a save (moved into place, or closed after writing), so
    no more of that save is on its way."""

    at: float
    stat: Stat | None
    complete: bool = False


class _EventRecorder(FileSystemEventHandler):
    def __init__(self, sink: Callable[[_RawEvent], None]) -> None:
        self._sink = sink

    def dispatch(self, event: FileSystemEvent) -> None:
        # Never raise: watchdog's observer thread dies silently on a handler's exception.
        try:
            dest = getattr(event, "dest_path", "") or ""
            self._sink(
                _RawEvent(
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


def _visible_entries(path: str | None) -> Iterator[os.DirEntry[str]]:
    """`os.scandir` without dot-entries, so polling never walks `.git` or `.trash`."""
    with os.scandir(path) as entries:
        visible = [entry for entry in entries if not entry.name.startswith(".")]
    return iter(visible)


def _stat(path: Path) -> Stat | None:
    try:
        result = os.stat(path)
    except OSError:
        return None
    return result.st_mtime_ns, result.st_size


def log_file_path(vault: Path, settings: Settings) -> Path | None:
    """`watch.log_file`, relative to the vault unless absolute."""
    if not settings.watch.log_file:
        return None
    return (vault / Path(settings.watch.log_file).expanduser()).resolve()


@contextlib.contextmanager
def watch_logging(vault: Path, settings: Settings) -> Iterator[Path | None]:
    """Show the watcher's INFO lines (what it did) and copy the log to `watch.log_file`."""
    watch_logger = logging.getLogger("vaultpapers.watch")
    previous_level = watch_logger.level
    if watch_logger.getEffectiveLevel() > logging.INFO:
        watch_logger.setLevel(logging.INFO)
    path = log_file_path(vault, settings)
    handler: logging.Handler | None = None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("vaultpapers").addHandler(handler)
    try:
        yield path
    finally:
        if handler is not None:
            logging.getLogger("vaultpapers").removeHandler(handler)
            handler.close()
        watch_logger.setLevel(previous_level)


class VaultWatcher:
    """Watches one vault and keeps it linked. `start()`/`stop()`, or use it as a context manager.

    `polling` watches by comparing snapshots (network drives, WSL); `offline` never fetches.
    `native_observer` makes the platform's observer (a parameter so that a test can stand in
    for a kernel that refuses more inotify watches).
    """

    def __init__(
        self,
        vault: Path,
        settings: Settings,
        *,
        polling: bool = False,
        offline: bool = False,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        stop_grace: float = DEFAULT_STOP_GRACE,
        fetch_backoff: tuple[float, float] = DEFAULT_FETCH_BACKOFF,
        native_observer: ObserverFactory | None = None,
    ) -> None:
        self.vault = Path(vault).resolve()
        self.settings = settings
        self.offline = offline
        self._polling = polling
        self._poll_interval = poll_interval
        self._stop_grace = stop_grace
        self._fetch_backoff = fetch_backoff
        self._native_observer: ObserverFactory = native_observer or Observer
        self._root = str(self.vault)
        self._log_file = log_file_path(self.vault, settings)
        watch = settings.watch
        self._quiet = watch.quiet
        self._settle = watch.settle
        self._max_batch_delay = max(2.0, 10 * watch.quiet)
        self._rescan_interval = watch.rescan_interval

        self._lock = WatchLock(self.vault)
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._state = threading.Condition()
        self._events_lock = threading.Lock()
        self._events: list[_RawEvent] = []
        self._started = False
        self._idle = False

        # Worker-only state.
        self._dirty: dict[str, _Seen] = {}  # paths with unprocessed events
        self._settling: dict[str, _Seen] = {}  # notes with references, links held back
        # Files as our writer left them, and paths it removed, with when that run started: an
        # event from before then is the user's, even if the file now looks as we left it.
        self._own: dict[str, tuple[FileState, float]] = {}
        self._own_removed: dict[str, float] = {}
        self._fetched = False
        self._forced: str | None = None
        self._follow_up_at: float | None = None  # when relations and index notes are owed
        # Set by any event on a note: a follow-up run then leaves the rest for later.
        self._noted_edit = threading.Event()
        self._next_rescan = 0.0
        self._retry_at: float | None = None
        self._warm = WarmVault()  # the vault as the last run left it, kept between runs
        # Paths with events since the last run (None: unknown, list the whole folder).
        self._changed: set[str] | None = None
        self._retry_wait = RUN_RETRY_BACKOFF[0]
        self._logged_problems: set[str] = set()
        self._errors: deque[str] = deque(maxlen=50)
        self._last_error: tuple[str, float] = ("", 0.0)
        self._status_text = ""
        self._notes_in_vault = 0

        self.runs = 0
        self.run_reasons: Counter[str] = Counter()
        self.events_seen = 0  # note events that were not the watcher's own writes
        self.own_events_ignored = 0
        self.last_report: RunReport | None = None
        self.observer: BaseObserver | None = None
        self.observer_kind = ""
        self._cache: PaperCache | None = None
        self._fetcher: MetadataFetcher | None = None
        self._worker = threading.Thread(target=self._work, name="vaultpapers-watch", daemon=True)
        self._status: StatusRecord | None = None

    # -- control -----------------------------------------------------------------------------

    def start(self) -> None:
        """Take the vault's lock, start watching, and begin the catch-up run in the background."""
        if self._started:
            raise RuntimeError("this watcher was already started")
        self._lock.acquire()
        try:
            self._cache = open_cache(self.vault)
            self._status = StatusRecord(pid=os.getpid(), vault=str(self.vault), since=now_iso())
            self._start_observer()
            if not self.offline:
                self._fetcher = MetadataFetcher(
                    self.vault,
                    self.settings,
                    self._stopping,
                    self._metadata_arrived,
                    self._fetch_backoff,
                )
                self._fetcher.start()
        except BaseException:
            self._stopping.set()
            self._stop_observer()
            if self._cache is not None:
                self._cache.close()
            self._lock.release()
            raise
        self._started = True
        log.info("watching %s (%s)", self.vault, self.observer_kind)
        self._worker.start()

    def stop(self, grace: float | None = None) -> bool:
        """Stop watching. Lets the current run finish for up to `grace` seconds; a run still going
        after that is abandoned (each file it wrote is complete: writes are atomic). Returns
        whether the run finished."""
        if not self._started:
            return True
        self._started = False
        self._stopping.set()
        self._wake.set()
        self._stop_observer()
        self._worker.join(self._stop_grace if grace is None else grace)
        finished = not self._worker.is_alive()
        if not finished:
            log.warning(
                "stopping without waiting for the current run: every file written so far is "
                "complete, the rest is done on the next start"
            )
        if self._fetcher is not None:
            self._fetcher.join(0.5)
        if finished:
            if self._status is not None:
                self._status.stopped = now_iso()
                self._status.settling = []
                self._write_status()
            if self._cache is not None:
                self._cache.close()
        self._lock.release()
        log.info("stopped watching %s", self.vault)
        return finished

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued, running, settling or being fetched. Writes whose events
        have not arrived yet are not known here: wait on their effect instead."""
        with self._state:
            return self._state.wait_for(self._is_idle, timeout)

    def run_until_signalled(self) -> int:
        """Run until SIGTERM or SIGINT (Ctrl-C); the exit code (0 when stopped by a signal)."""
        received: list[int] = []

        def on_signal(signum: int, frame: object) -> None:
            received.append(signum)

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            # A signal handler may not take locks the main thread could hold: poll a flag.
            while not received and self._worker.is_alive():
                time.sleep(0.1)
            if received:
                log.info("received %s; stopping", signal.Signals(received[0]).name)
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0 if received else 1

    def __enter__(self) -> VaultWatcher:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def errors(self) -> list[str]:
        return list(self._errors)

    @property
    def pending(self) -> dict[str, str]:
        pending = dict(self.last_report.pending) if self.last_report else {}
        if self._fetcher is not None:
            pending.update(self._fetcher.reasons())
        return pending

    # -- events ------------------------------------------------------------------------------

    def _record_event(self, event: _RawEvent) -> None:
        with self._events_lock:
            self._events.append(event)
        self._idle = False
        if any(
            path.endswith(".md") and _STATE_PART not in path for path in (event.src, event.dest)
        ):
            self._noted_edit.set()
        self._wake.set()

    def _metadata_arrived(self) -> None:
        with self._state:
            self._fetched = True
            self._idle = False
        self._wake.set()

    def _relative(self, path: str) -> str | None:
        if not path or not path.startswith(self._root + os.sep):
            return None
        return path[len(self._root) + 1 :].replace(os.sep, "/")

    def _is_watched(self, relative: str, *, directory: bool) -> bool:
        if any(part.startswith(".") for part in relative.split("/")):
            return False
        if not directory and not relative.endswith(NOTE_SUFFIX):
            return False
        if self._log_file is not None and self.vault / relative == self._log_file:
            return False
        return not is_excluded(relative, self.settings.exclude)

    def _is_own_write(self, relative: str, stat: Stat | None, event_at: float) -> bool:
        if stat is None:
            return self._own_removed.get(relative, float("inf")) <= event_at
        self._own_removed.pop(relative, None)
        state, since = self._own.get(relative, (None, float("inf")))
        if state is None or event_at < since or (state.mtime_ns, state.size) != stat:
            return False
        # Same mtime and size: compare the bytes too (coarse clocks, same-length edits).
        try:
            return content_digest((self.vault / relative).read_bytes()) == state.digest
        except OSError:
            return False

    def _absorb_events(self) -> None:
        with self._events_lock:
            events, self._events = self._events, []
        for event in events:
            paths = [event.src, event.dest] if event.kind == "moved" else [event.src]
            for path in paths:
                relative = self._relative(path)
                if relative is None or not self._is_watched(relative, directory=event.is_directory):
                    continue
                if event.is_directory:
                    # A folder moved or deleted: its notes' own events may not all come.
                    self._dirty[relative] = _Seen(event.at, None)
                    self._changed = None
                    continue
                stat = _stat(self.vault / relative)
                if self._is_own_write(relative, stat, event.at):
                    self.own_events_ignored += 1
                    continue
                self.events_seen += 1
                complete = event.kind in ("closed", "deleted", "moved")
                self._dirty[relative] = _Seen(event.at, stat, complete)
                if self._changed is not None:
                    self._changed.add(relative)

    # -- the worker --------------------------------------------------------------------------

    def _work(self) -> None:
        try:
            self._catch_up()
        except Exception as exc:
            self._fault(f"catch-up run failed: {exc}", exc)
        while not self._stopping.is_set():
            self._wake.wait(self._seconds_to_next_duty())
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                self._supervise_observer()
                self._absorb_events()
                reason = self._due()
                if reason is not None:
                    self._run(reason)
            except Exception as exc:
                self._fault(f"watcher step failed: {exc}", exc)
                self._stopping.wait(1.0)  # a fault that repeats must not spin
            finally:
                self._publish()

    def _catch_up(self) -> None:
        """Everything changed since the last run: one full run. Notes modified just before the
        start may still be open in an editor, so they settle like edited ones."""
        now, wall = time.monotonic(), time.time()
        paths = list(markdown_paths(self.vault, self.settings))
        recent: dict[str, _Seen] = {}
        for relative in paths:
            stat = _stat(self.vault / relative)
            if stat is not None and wall - stat[0] / 1e9 < self._settle:
                recent[relative] = _Seen(now - max(0.0, wall - stat[0] / 1e9), stat)
        # Only these need reading now (they settle if they cite papers); the papers the others
        # cite without metadata yet are asked for by the catch-up run, which makes no stub
        # for them meanwhile.
        with_references = self._discover(sorted(recent))
        self._settling.update(
            (path, seen) for path, seen in recent.items() if path in with_references
        )
        self._run("catch-up")
        self._publish()

    def _seconds_to_next_duty(self) -> float:
        now = time.monotonic()
        duties = [self._next_rescan, now + SUPERVISE_EVERY]
        if self._retry_at is not None:
            duties.append(self._retry_at)
        if self._dirty:
            duties.append(self._changes_due_at())
        if self._settling:
            duties.append(min(s.at for s in self._settling.values()) + self._settle)
        if self._follow_up_at is not None:
            duties.append(self._follow_up_at)
        return max(0.0, min(duties) - now)

    def _due(self) -> str | None:
        now = time.monotonic()
        with self._state:
            if self._fetched:
                self._fetched = False
                return "metadata fetched"
        if self._forced is not None:
            reason, self._forced = self._forced, None
            return reason
        if self._dirty and now >= self._changes_due_at():
            return "changes"
        if any(now - s.at >= self._settle for s in self._settling.values()):
            return "notes settled"
        if self._follow_up_at is not None and now >= self._follow_up_at:
            self._follow_up_at = None
            return "relations"
        if now >= self._next_rescan:
            return "rescan"
        if self._retry_at is not None and now >= self._retry_at:
            return "retry"
        return None

    def _changes_due_at(self) -> float:
        """When the dirty paths are to be processed: once no event has come for `quiet`
        seconds (a save may still be writing), or at once when every save is complete."""
        seen = [s.at for s in self._dirty.values()]
        if all(s.complete for s in self._dirty.values()):
            return max(seen) + COMPLETE_QUIET
        return min(max(seen) + self._quiet, min(seen) + self._max_batch_delay)

    def _take_changes(self) -> bool:
        """Move quiet changes into `_settling`; False when a file is still being written."""
        now = time.monotonic()
        oldest = min((s.at for s in self._dirty.values()), default=now)
        # Re-check size and mtime before reading: an event may still be on its way.
        moving = {
            path: stat
            for path, seen in self._dirty.items()
            if seen.stat is not None and (stat := _stat(self.vault / path)) != seen.stat
        }
        if moving and now - oldest < self._max_batch_delay:
            for path, stat in moving.items():
                self._dirty[path] = _Seen(now, stat)
            return False
        notes = {path: seen for path, seen in self._dirty.items() if seen.stat is not None}
        with_references = self._discover(sorted(notes))
        for path in self._dirty:
            self._settling.pop(path, None)
        for path, seen in notes.items():
            if path in with_references:
                self._settling[path] = _Seen(seen.at, _stat(self.vault / path))
        self._dirty.clear()
        return True

    def _links_held_back(self) -> set[str]:
        """Notes changed less than `settle` seconds ago (or changed again since last looked)."""
        now = time.monotonic()
        held = set()
        for path, seen in list(self._settling.items()):
            stat = _stat(self.vault / path)
            if stat is None:
                del self._settling[path]
            elif stat != seen.stat:
                self._settling[path] = _Seen(now, stat)
                held.add(path)
            elif now - seen.at < self._settle:
                held.add(path)
        return held

    def _run(self, reason: str) -> None:
        if self._dirty and not self._take_changes() and reason == "changes":
            return
        # Anything still in `_dirty` is a file being written right now.
        held = self._links_held_back() | set(self._dirty)
        deferred_papers = self._fetcher.deferred() if self._fetcher is not None else frozenset()
        started = time.monotonic()
        # These list the whole folder: they are there to catch what events missed.
        changed = None if reason in FULL_RUNS else self._changed
        self._changed = set()
        # A run for an edit brings the new papers' notes first; relations and index notes,
        # which can take a whole library to work out, follow in a run of their own.
        defer = reason not in ("relations", *FULL_RUNS)
        # A follow-up run gives way to the user's next save: what it did not get to is owed.
        yield_to = self._noted_edit if reason == "relations" else None
        self._noted_edit.clear()
        # Papers the fetcher asked about again and found changed: their notes are planned anew.
        refreshed = self._fetcher.refreshed() if self._fetcher is not None else []
        report = self._run_pipeline(
            held,
            deferred_papers,
            changed,
            defer_relations=defer,
            yield_to=yield_to,
            defer_uncached=reason == "catch-up" and self._fetcher is not None,
            metadata_changed=bool(refreshed),
        )
        self._next_rescan = time.monotonic() + self._rescan_interval
        if report is None:
            return
        if refreshed and self._fetcher is not None:
            self._fetcher.take_refreshed(len(refreshed))
            log.info("notes brought up to date for: %s", "; ".join(refreshed))
        elapsed = time.monotonic() - started
        self.runs += 1
        self.run_reasons[reason] += 1
        self.last_report = report
        for path in list(self._settling):
            if path not in held:
                del self._settling[path]
        self._remember_own_writes(report, started)
        self._request_metadata(report.pending)
        if report.relations_stale:
            # New papers got their notes at once; their related papers and the index notes
            # follow once the user paused, so that the next save is not kept waiting.
            self._follow_up_at = time.monotonic() + FOLLOW_UP_DELAY
        elif not defer:
            self._follow_up_at = None
        created, updated, removed = _count_writes(report)
        # As the vault is after this run's writes, so that the next run does not see a change.
        self._notes_in_vault = report.notes + created - removed
        self._log_run(reason, report, (created, updated, removed), elapsed)
        if self._status is not None and (reason != "rescan" or created + updated + removed):
            record = self._status
            record.last_activity = now_iso()
            record.runs += 1
            record.notes_created += created
            record.notes_updated += updated
            record.notes_removed += removed
            record.links_inserted += report.links_inserted

    def _run_pipeline(
        self,
        held: set[str],
        deferred_papers: Collection[str],
        changed: set[str] | None,
        *,
        defer_relations: bool,
        yield_to: threading.Event | None = None,
        defer_uncached: bool = False,
        metadata_changed: bool = False,
    ) -> RunReport | None:
        """One run. The planner already confines a failure to the note it happened on; what
        fails a whole run (the cache, the disk) is retried with backoff."""
        try:
            report = run_link(
                self.vault,
                self.settings,
                offline=True,
                defer_links_in=held,
                defer_papers=deferred_papers,
                cancel=self._stopping,
                memory=self._warm,
                changed=changed,
                defer_relations=defer_relations,
                yield_to=yield_to,
                defer_uncached=defer_uncached,
                metadata_changed=metadata_changed,
            )
        except Exception as exc:
            log.error("a run failed: %s: %s", type(exc).__name__, exc, exc_info=True)
            self._fault(
                f"a run failed ({type(exc).__name__}: {exc}); nothing more was written, "
                f"retrying in {self._retry_wait:.0f} s",
                None,
            )
            self._retry_at = time.monotonic() + self._retry_wait
            self._retry_wait = min(RUN_RETRY_BACKOFF[1], self._retry_wait * 2)
            return None
        self._retry_at = None
        self._retry_wait = RUN_RETRY_BACKOFF[0]
        return report

    def _remember_own_writes(self, report: RunReport, started: float) -> None:
        """So that the events of these writes, when they come back, cause no run."""
        for result in report.results:
            if result.outcome is not Outcome.WRITTEN:
                continue
            write = result.write
            if write.delete or result.state is None:
                self._own.pop(write.path, None)
                self._own_removed[write.path] = started
                continue
            self._own[write.path] = (result.state, started)
            self._own_removed.pop(write.path, None)
            if write.replaces is not None:
                self._own.pop(write.replaces, None)
                self._own_removed[write.replaces] = started

    def _discover(self, paths: Iterable[str]) -> set[str]:
        """Read the given notes: ask the fetcher for papers they cite that are not cached.
        Returns the notes that cite anything (only those need links, hence settling)."""
        with_references: set[str] = set()
        keys: set[str] = set()
        for path in paths:
            note = read_note(self.vault, path, max_bytes=self.settings.max_note_bytes)
            if not isinstance(note, Note):
                continue
            scan = scan_or_report(note)
            if scan.cited:
                with_references.add(path)
            keys.update(scan.cited)
        self._request_metadata(keys)
        return with_references

    def _request_metadata(self, keys: Iterable[str]) -> None:
        if self._fetcher is None or self._cache is None:
            return
        wanted = set(keys) - self._fetcher.known()
        if not wanted:
            return
        wanted -= set(self._cache.get_many(wanted))
        wanted -= self._cache.not_found(wanted, max_age=NOT_FOUND_MAX_AGE)
        if wanted:
            self._fetcher.request(wanted)

    def _log_run(
        self, reason: str, report: RunReport, counts: tuple[int, int, int], elapsed: float
    ) -> None:
        created, updated, removed = counts
        log.log(
            logging.INFO if any(counts) else logging.DEBUG,
            "%s: %d notes created, %d updated, %d removed; %d links inserted (%d notes, %.2f s)",
            reason,
            created,
            updated,
            removed,
            report.links_inserted,
            report.notes,
            elapsed,
        )
        problems = {str(p) for p in report.problems}
        for problem in sorted(problems - self._logged_problems):
            log.warning("%s", problem)
        self._logged_problems = problems

    # -- observer ----------------------------------------------------------------------------

    def _start_observer(self) -> None:
        if not self._polling:
            observer: BaseObserver | None = None
            try:
                observer = self._native_observer()
                self._watch_with(observer)
            except OSError as exc:
                if exc.errno not in _WATCH_LIMITS:
                    raise
                if observer is not None:
                    with contextlib.suppress(Exception):
                        observer.stop()
                self._fault(
                    f"the system's limit on file watches is reached ({exc.strerror or exc}); "
                    f"watching by polling every {self._poll_interval:g} s instead, which costs "
                    f"more CPU on a big vault. To raise the limit: sudo sysctl "
                    f"{_WATCH_LIMITS[exc.errno]} (add it to /etc/sysctl.d/ to keep it)",
                    None,
                )
                self._polling = True
            else:
                self.observer = observer
                self.observer_kind = type(observer).__name__
                return
        observer = PollingObserverVFS(
            os.stat, _visible_entries, polling_interval=self._poll_interval
        )
        self._watch_with(observer)
        self.observer = observer
        self.observer_kind = f"polling every {self._poll_interval:g} s"

    def _watch_with(self, observer: BaseObserver) -> None:
        recorder = _EventRecorder(self._record_event)
        observer.schedule(recorder, self._root, recursive=True, event_filter=WATCHED_EVENTS)
        observer.start()

    def _stop_observer(self) -> None:
        observer, self.observer = self.observer, None
        if observer is None:
            return
        with contextlib.suppress(Exception):
            observer.stop()
        with contextlib.suppress(Exception):
            observer.join(1.0)

    def _supervise_observer(self) -> None:
        observer = self.observer
        if observer is not None and observer.is_alive():
            emitters = list(observer.emitters)
            if emitters and all(emitter.is_alive() for emitter in emitters):
                return
        self._fault("the file watcher stopped; restarting it and rescanning the vault", None)
        self._stop_observer()
        self._start_observer()
        self._forced = "watcher restarted"

    # -- status ------------------------------------------------------------------------------

    def _is_idle(self) -> bool:
        with self._events_lock:
            if self._events:
                return False
        return self._idle

    def _publish(self) -> None:
        """Write the status file, then tell `wait_idle` whether anything is left to do."""
        self._write_status()
        fetching = self._fetcher is not None and self._fetcher.busy()
        with self._state:
            self._idle = not (
                self._dirty
                or self._settling
                or self._forced
                or self._fetched
                or fetching
                or self._follow_up_at is not None
            )
            self._state.notify_all()

    def _write_status(self) -> None:
        record = self._status
        if record is None:
            return
        report = self.last_report
        record.observer = self.observer_kind
        if report is not None:
            record.notes = self._notes_in_vault
            record.papers = report.papers
            record.problems = [str(p) for p in report.problems]
            record.problems += [
                f"{r.write.path}: not written: {r.message}"
                for r in report.results
                if r.outcome is Outcome.FAILED
            ]
        record.pending = self.pending
        record.settling = sorted(self._settling)
        record.errors = list(self._errors)
        if self._fetcher is not None:
            record.requests = self._fetcher.requests
        text = record.to_json()
        if text == self._status_text:
            return  # an idle watcher writes nothing, not even its status
        try:
            write_status(self.vault, record)
            self._status_text = text
        except OSError as exc:
            log.warning("cannot write %s/%s: %s", STATE_DIR, "status.json", exc)

    def _fault(self, message: str, exc: BaseException | None) -> None:
        now = time.monotonic()
        last, when = self._last_error
        if message == last and now - when < 60:
            log.debug("%s", message)
            return
        self._last_error = (message, now)
        log.error("%s", message, exc_info=exc)
        self._errors.append(f"{now_iso()}: {message}")


def _count_writes(report: RunReport) -> tuple[int, int, int]:
    """Files created, changed in place, and removed by a run (renames count as changes)."""
    created = updated = removed = 0
    for result in report.results:
        if result.outcome is not Outcome.WRITTEN:
            continue
        write = result.write
        if write.delete:
            removed += 1
        elif write.expected is None and write.replaces is None:
            created += 1
        else:
            updated += 1
    return created, updated, removed
