"""One watcher per vault: `.vaultpapers/watch.lock`, held (flock) by the vault's watcher for as
long as it runs, with its pid inside. The lock, not the file's existence, says whether a watcher
is alive, so a watcher killed with SIGKILL leaves nothing stale behind.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from vaultpapers.config import STATE_DIR

try:
    import fcntl
except ImportError:  # Windows: no flock; the watcher runs without the single-instance guard.
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "watch.lock"
_LOCK_ATTEMPTS = 5  # `status` holds the lock shared for an instant; do not mistake it for a watcher


class WatcherAlreadyRunning(Exception):
    """Another watcher holds the vault's lock."""

    def __init__(self, vault: Path, pid: int | None) -> None:
        self.pid = pid
        how = f"pid {pid}; stop it with: kill {pid}" if pid else "its pid is unreadable"
        super().__init__(f"a watcher is already running on {vault} ({how})")


class WatchLock:
    """The exclusive, advisory lock one watcher holds on a vault while it runs."""

    def __init__(self, vault: Path) -> None:
        self.vault = vault
        self.path = vault / STATE_DIR / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            for attempt in range(_LOCK_ATTEMPTS):
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if attempt == _LOCK_ATTEMPTS - 1:
                        pid = _read_pid(fd)
                        os.close(fd)
                        raise WatcherAlreadyRunning(self.vault, pid) from None
                    time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        # Closing drops the flock; the file stays, so nobody can race on recreating it.
        os.close(self._fd)
        self._fd = None


def running_watcher_pid(vault: Path) -> int | None:
    """The pid of the watcher holding the vault's lock, or None when no watcher runs.

    0 when the lock is held but the pid in it cannot be read.
    """
    path = vault / STATE_DIR / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        if fcntl is None:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd) or 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text)
    except (OSError, ValueError):
        return None
