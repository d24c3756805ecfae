"""The watchdog observer: starting it, noticing that it died, and falling back to polling when
the kernel's inotify limits are reached."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserverVFS

from vaultpapers.watch.events import WATCHED_EVENTS, EventRecorder, RawEvent

ObserverFactory = Callable[[], BaseObserver]
DEFAULT_POLL_INTERVAL = 1.0
_WATCH_LIMITS = {
    errno.ENOSPC: "fs.inotify.max_user_watches=524288",
    errno.EMFILE: "fs.inotify.max_user_instances=512",
}


def _visible_entries(path: str | None) -> Iterator[os.DirEntry[str]]:
    """`os.scandir` without dot-entries, so polling never walks `.git` or `.trash`."""
    with os.scandir(path) as entries:
        visible = [entry for entry in entries if not entry.name.startswith(".")]
    return iter(visible)


class ObserverKeeper:
    """Keeps one observer watching the vault and sending its events to `sink`.

    `native` makes the platform's observer (a parameter so that a test can stand in for a
    kernel that refuses more inotify watches); `fault` reports what the user should know."""

    def __init__(
        self,
        vault: Path,
        sink: Callable[[RawEvent], None],
        fault: Callable[[str], None],
        *,
        polling: bool = False,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        native: ObserverFactory | None = None,
    ) -> None:
        self._root = str(vault)
        self._sink = sink
        self._fault = fault
        self._polling = polling
        self._poll_interval = poll_interval
        self._native: ObserverFactory = native or Observer
        self.observer: BaseObserver | None = None
        self.kind = ""

    def start(self) -> None:
        if not self._polling:
            observer: BaseObserver | None = None
            try:
                observer = self._native()
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
                    f"{_WATCH_LIMITS[exc.errno]} (add it to /etc/sysctl.d/ to keep it)"
                )
                self._polling = True
            else:
                self.observer = observer
                self.kind = type(observer).__name__
                return
        observer = PollingObserverVFS(
            os.stat, _visible_entries, polling_interval=self._poll_interval
        )
        self._watch_with(observer)
        self.observer = observer
        self.kind = f"polling every {self._poll_interval:g} s"

    def _watch_with(self, observer: BaseObserver) -> None:
        recorder = EventRecorder(self._sink)
        observer.schedule(recorder, self._root, recursive=True, event_filter=WATCHED_EVENTS)
        observer.start()

    def stop(self) -> None:
        observer, self.observer = self.observer, None
        if observer is None:
            return
        with contextlib.suppress(Exception):
            observer.stop()
        with contextlib.suppress(Exception):
            observer.join(1.0)

    def restart_if_dead(self) -> bool:
        """Restart an observer whose thread (or one of its emitters) died; True if it did,
        since the events of the meantime are lost."""
        observer = self.observer
        if observer is not None and observer.is_alive():
            emitters = list(observer.emitters)
            if emitters and all(emitter.is_alive() for emitter in emitters):
                return False
        self._fault("the file watcher stopped; restarting it and rescanning the vault")
        self.stop()
        self.start()
        return True
