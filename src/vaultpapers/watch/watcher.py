"""`VaultWatcher`: the threads of `vaultpapers watch`, wired to the scheduler.

The watcher only decides *when* to run the one pipeline (`pipeline.run_link`) and *which* notes
and papers to hold back; every write goes through that pipeline's writer. Three threads:

- watchdog's observer records each event (`events.EventRecorder`) and wakes the worker;
- the worker reads the clock and the files, asks the `scheduler.Scheduler` what is due, runs
  the pipeline offline, and publishes the status file;
- the fetcher (`fetcher.MetadataFetcher`) asks arXiv for papers cited but not cached, so the
  network never holds up local work; while a paper is on its way no stub note is made for it.

The worker also keeps the observer alive (`observer.ObserverKeeper`) and runs a full pass every
`watch.rescan_interval` seconds for events the kernel dropped.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from watchdog.observers.api import BaseObserver

from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.config import Settings
from vaultpapers.run.incremental import WarmVault
from vaultpapers.run.options import RunOptions
from vaultpapers.run.pipeline import run_link
from vaultpapers.run.report import RunReport
from vaultpapers.run.sources import open_cache
from vaultpapers.vaultfs.files import markdown_paths
from vaultpapers.watch import listener as states
from vaultpapers.watch.events import EventInbox, EventSorter, recently_saved, stat_of
from vaultpapers.watch.fetcher import MetadataFetcher
from vaultpapers.watch.listener import WatcherState, WatchListener
from vaultpapers.watch.lock import WatchLock
from vaultpapers.watch.observer import DEFAULT_POLL_INTERVAL, ObserverFactory, ObserverKeeper
from vaultpapers.watch.papers import PaperRequests
from vaultpapers.watch.scheduler import FOLLOW_UP_DELAY, RunPlan, Scheduler, Timing
from vaultpapers.watch.status import Faults, StatusBoard, log_file_path

log = logging.getLogger("vaultpapers.watch")

SUPERVISE_EVERY = 1.0  # seconds between checks that the observer is still alive
DEFAULT_STOP_GRACE = 3.0  # seconds stop() lets the current run finish before abandoning it
DEFAULT_FETCH_BACKOFF = (5.0, 600.0)  # first and longest wait before re-asking arXiv


# Somewhat over 300 lines: most of it is the public surface (start, stop, waiting, signals and
# the read-only views that tests and the status file use); every rule it follows is elsewhere.
# About 370 lines on purpose: the wiring of watch/'s parts (scheduler, inbox, observer keeper,
# fetcher, status board, lock, listener) around the one thread that runs the pipeline. The
# rules live in those parts; its methods are short and only pass things between them.
class VaultWatcher:
    """Watches one vault and keeps it linked. `start()`/`stop()`, or use it as a context manager.

    `polling` watches by comparing snapshots (network drives, WSL); `offline` never fetches.
    `native_observer` makes the platform's observer (a parameter so that a test can stand in
    for a kernel that refuses more inotify watches); `follow_up_delay` is the pause after an
    edit before its relations and index notes are brought (a parameter so that tests need not
    wait a second for each). `listener` is told each change of state and each run.
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
        follow_up_delay: float = FOLLOW_UP_DELAY,
        listener: WatchListener | None = None,
    ) -> None:
        self.vault = Path(vault).resolve()
        self.settings = settings
        self.offline = offline
        self._stop_grace = stop_grace
        self._fetch_backoff = fetch_backoff
        watch = settings.watch
        timing = Timing(watch.quiet, watch.settle, watch.rescan_interval, follow_up_delay)
        self._schedule = Scheduler(timing)
        self._sorter = EventSorter(self.vault, settings, log_file_path(self.vault, settings))
        self._faults = Faults()
        self._wake = threading.Event()
        self._inbox = EventInbox(self._busy)
        self._observers = ObserverKeeper(
            self.vault,
            self._inbox.put,
            lambda message: self._fault(message, None),
            polling=polling,
            poll_interval=poll_interval,
            native=native_observer,
        )

        self._lock = WatchLock(self.vault)
        self._stopping = threading.Event()
        self._state = threading.Condition()  # guards the scheduler against the fetcher's thread
        self._started = False
        self._idle = False
        self._warm = WarmVault()  # the vault as the last run left it, kept between runs

        self.runs = 0
        self.run_reasons: Counter[str] = Counter()
        self.last_report: RunReport | None = None
        self._cache: PaperCache | None = None
        self._fetcher: MetadataFetcher | None = None
        self._papers = PaperRequests(self.vault, settings, None, None)
        self._worker = threading.Thread(target=self._work, name="vaultpapers-watch", daemon=True)
        self._board: StatusBoard | None = None
        self._listener = listener
        self._told: WatcherState | None = None  # the state the listener was told last
        self._told_lock = threading.Lock()
        self._failure: str | None = None  # why the last run failed, until one succeeds

    # -- control -----------------------------------------------------------------------------

    def start(self) -> None:
        """Take the vault's lock, start watching, and begin the catch-up run in the background."""
        if self._started:
            raise RuntimeError("this watcher was already started")
        self._tell(states.STARTING)
        self._lock.acquire()
        try:
            self._cache = open_cache(self.vault)
            self._board = StatusBoard(self.vault)
            self._observers.start()
            if not self.offline:
                self._fetcher = MetadataFetcher(
                    self.vault,
                    self.settings,
                    self._stopping,
                    self._metadata_arrived,
                    self._fetch_backoff,
                )
                self._fetcher.start()
            self._papers = PaperRequests(self.vault, self.settings, self._cache, self._fetcher)
        except BaseException:
            self._stopping.set()
            self._observers.stop()
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
        self._observers.stop()
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
            if self._board is not None:
                self._board.stopped()
                self._write_status()
            if self._cache is not None:
                self._cache.close()
        self._lock.release()
        log.info("stopped watching %s", self.vault)
        self._tell(states.STOPPED)
        return finished

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued, running, settling or being fetched. Writes whose events
        have not arrived yet are not known here: wait on their effect instead."""
        with self._state:
            return self._state.wait_for(self._is_idle, timeout)

    def run_until_signalled(self) -> int:
        """Run until SIGTERM or SIGINT (Ctrl-C); the exit code (0 when stopped by a signal)."""
        return _until_signalled(self.start, self._worker.is_alive, self.stop)

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

    # -- what it shows -----------------------------------------------------------------------

    @property
    def errors(self) -> list[str]:
        return self._faults.listed()

    @property
    def pending(self) -> dict[str, str]:
        pending = dict(self.last_report.pending) if self.last_report else {}
        if self._fetcher is not None:
            pending.update(self._fetcher.reasons())
        return pending

    @property
    def observer(self) -> BaseObserver | None:
        return self._observers.observer

    @property
    def observer_kind(self) -> str:
        return self._observers.kind

    @property
    def events_seen(self) -> int:
        """Note events that were not the watcher's own writes."""
        return self._sorter.events_seen

    @property
    def own_events_ignored(self) -> int:
        return self._sorter.own_events_ignored

    # -- from other threads ------------------------------------------------------------------

    def _busy(self) -> None:
        self._idle = False
        self._wake.set()

    def _metadata_arrived(self) -> None:
        with self._state:
            self._schedule.metadata_arrived()
            self._idle = False
        self._wake.set()

    # -- the worker --------------------------------------------------------------------------

    def _work(self) -> None:
        try:
            self._catch_up()
        except Exception as exc:
            self._fault(f"catch-up run failed: {exc}", exc)
        while not self._stopping.is_set():
            now = time.monotonic()
            self._wake.wait(
                max(0.0, min(self._schedule.next_due_at(), now + SUPERVISE_EVERY) - now)
            )
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                if self._observers.restart_if_dead():
                    self._schedule.force("watcher restarted")
                self._sorter.absorb(self._inbox.take(), self._schedule)
                with self._state:
                    reason = self._schedule.due(time.monotonic())
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
        paths = markdown_paths(self.vault, self.settings)
        recent = recently_saved(self.vault, paths, self._schedule.timing.settle)
        # Only these need reading now (they settle if they cite papers); the papers the others
        # cite without metadata yet are asked for by the catch-up run, which makes no stub
        # for them meanwhile.
        with_references = self._papers.discover(sorted(recent))
        for path, (at, stat) in recent.items():
            if path in with_references:
                self._schedule.note_settling(path, at, stat)
        self._tell(states.CATCHING_UP)
        self._write_status(states.CATCHING_UP)
        self._run("catch-up")
        self._publish()

    def _run(self, reason: str) -> None:
        schedule = self._schedule
        if schedule.dirty and not self._take_changes() and reason == "changes":
            return
        current = {path: stat_of(self.vault / path) for path in schedule.settling}
        plan = schedule.plan(reason, schedule.held_back(time.monotonic(), current))
        if reason != "catch-up":  # the catch-up run is the state catching_up
            self._tell(states.LINKING)
        started = time.monotonic()
        report = self._run_pipeline(plan)
        elapsed = time.monotonic() - started
        if report is None:
            return
        self._failure = None
        schedule.run_succeeded(time.monotonic(), plan, relations_stale=report.relations_stale)
        self.runs += 1
        self.run_reasons[reason] += 1
        self.last_report = report
        self._sorter.own.remember(report, started)
        self._papers.request(report.pending)
        if self._board is not None:
            self._board.ran(reason, report, elapsed)

    def _take_changes(self) -> bool:
        """Hand quiet changes to the next run; False when a file is still being written."""
        schedule = self._schedule
        # Re-check size and mtime before reading: an event may still be on its way.
        notes = schedule.dirty_notes()
        current = {path: stat_of(self.vault / path) for path in notes}
        if schedule.hold_if_moving(time.monotonic(), current):
            return False
        with_references = self._papers.discover(notes)
        schedule.take_changes({path: stat_of(self.vault / path) for path in with_references})
        return True

    def _run_pipeline(self, plan: RunPlan) -> RunReport | None:
        """One run. The planner already confines a failure to the note it happened on; what
        fails a whole run (the cache, the disk) is retried with backoff."""
        fetcher = self._fetcher
        # Papers the fetcher asked about again and found changed: their notes are planned anew.
        refreshed = fetcher.refreshed() if fetcher is not None else []
        # Only saves from now on make a follow-up run give way.
        self._inbox.noted_edit.clear()
        options = RunOptions(
            offline=True,
            defer_links_in=plan.held,
            defer_papers=fetcher.deferred() if fetcher is not None else frozenset(),
            changed=plan.changed,
            defer_relations=plan.defer_relations,
            defer_uncached=plan.reason == "catch-up" and fetcher is not None,
            metadata_changed=bool(refreshed),
        )
        if self._listener is not None:
            self._listener.run_started(plan.reason, options)
        try:
            report = run_link(
                self.vault,
                self.settings,
                options,
                cancel=self._stopping,
                memory=self._warm,
                should_yield=self._inbox.noted_edit.is_set if plan.yields_to_edits else None,
            )
        except Exception as exc:
            log.error("a run failed: %s: %s", type(exc).__name__, exc, exc_info=True)
            wait = self._schedule.run_failed(time.monotonic())
            self._failure = (
                f"a run failed ({type(exc).__name__}: {exc}); nothing more was written, "
                f"retrying in {wait:.0f} s"
            )
            self._fault(self._failure, None)
            return None
        if refreshed and fetcher is not None:
            fetcher.take_refreshed(len(refreshed))
            log.info("notes brought up to date for: %s", "; ".join(refreshed))
        if self._listener is not None:
            self._listener.run_finished(plan.reason, report)
        return report

    # -- status ------------------------------------------------------------------------------

    def _is_idle(self) -> bool:
        return self._inbox.empty() and self._idle

    def _publish(self) -> None:
        """Write the status file and tell the listener the state, then tell `wait_idle`
        whether anything is left to do."""
        state, message = self._idle_state()
        self._write_status(state, message)
        self._tell(state, message)
        fetching = self._fetcher is not None and self._fetcher.busy()
        with self._state:
            self._idle = not (self._schedule.busy() or fetching)
            self._state.notify_all()

    def _idle_state(self) -> tuple[str, str | None]:
        """The state between runs: a failed run, an arXiv outage, or just watching."""
        if self._failure is not None:
            return states.FAILED, self._failure
        outage = self._fetcher.outage() if self._fetcher is not None else None
        if outage is not None:
            return states.OFFLINE, outage
        return states.WATCHING, None

    def _tell(self, state: str, message: str | None = None) -> None:
        """Tell the listener the state, if it or what it waits for changed."""
        if self._listener is None:
            return
        pending = len(self.pending) if state != states.STARTING else 0
        settling = len(self._schedule.settling) if state != states.STOPPED else 0
        told = WatcherState(state, pending, settling, message)
        with self._told_lock:
            if told == self._told or (self._told and self._told.state == states.STOPPED):
                return  # unchanged; or a run abandoned at stop finishing after all
            self._told = told
            self._listener.state_changed(told)

    def _write_status(self, state: str | None = None, message: str | None = None) -> None:
        if self._board is None:
            return
        self._board.publish(
            state=state,
            message=message,
            observer=self.observer_kind,
            report=self.last_report,
            pending=self.pending,
            settling=sorted(self._schedule.settling),
            errors=self.errors,
            requests=self._fetcher.requests if self._fetcher is not None else None,
        )

    def _fault(self, message: str, exc: BaseException | None) -> None:
        self._faults.report(message, exc, time.monotonic())


def _until_signalled(
    start: Callable[[], None], alive: Callable[[], bool], stop: Callable[[], object]
) -> int:
    received: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        start()
        # A signal handler may not take locks the main thread could hold: poll a flag.
        while not received and alive():
            time.sleep(0.1)
        if received:
            log.info("received %s; stopping", signal.Signals(received[0]).name)
    finally:
        stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if received else 1
