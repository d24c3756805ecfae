"""What a running watcher leaves in the vault for others to see: a lock and a status file.

`.vaultpapers/watch.lock` is held (flock) by the one watcher of a vault for as long as it runs,
with its pid inside; the lock, not the file's existence, says whether a watcher is alive, so a
watcher killed with SIGKILL leaves nothing stale behind. `.vaultpapers/status.json` (replaced
atomically) holds what `vaultpapers status` prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .config import STATE_DIR

try:
    import fcntl
except ImportError:  # Windows: no flock; the watcher runs without the single-instance guard.
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "watch.lock"
STATUS_FILE = "status.json"
_MAX_LISTED = 200  # problems kept in the status file; a broken vault must not make it huge
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


@dataclass
class StatusRecord:
    """The content of status.json. Only what changes when the vault changes is in here (no
    "last checked" time), so a watcher with nothing to do never rewrites the file."""

    pid: int
    vault: str
    since: str
    observer: str = ""
    stopped: str | None = None
    last_activity: str | None = None  # the last run caused by an edit, a fetch or a fault
    runs: int = 0
    notes: int = 0
    papers: int = 0
    notes_created: int = 0
    notes_updated: int = 0
    notes_removed: int = 0  # index notes no longer needed; paper and user notes never are
    links_inserted: int = 0
    requests: int = 0
    pending: dict[str, str] = field(default_factory=dict)  # arXiv key -> why
    settling: list[str] = field(default_factory=list)  # notes waiting to be quiet for links
    problems: list[str] = field(default_factory=list)  # from the last run: path:line: message
    errors: list[str] = field(default_factory=list)  # the watcher's own faults, most recent last

    def to_json(self) -> str:
        data = asdict(self)
        data["problems"] = data["problems"][:_MAX_LISTED]
        data["errors"] = data["errors"][-_MAX_LISTED:]
        return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> StatusRecord:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


def status_path(vault: Path) -> Path:
    return vault / STATE_DIR / STATUS_FILE


def write_status(vault: Path, record: StatusRecord) -> None:
    """Replace status.json atomically: `status` never reads half a file."""
    path = status_path(vault)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(record.to_json(), encoding="utf-8")
    os.replace(temp, path)


def read_status_record(vault: Path) -> StatusRecord | None:
    try:
        data = json.loads(status_path(vault).read_text(encoding="utf-8"))
        return StatusRecord.from_mapping(data)
    except (OSError, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class WatchStatus:
    """What `vaultpapers status` reports: the lock says whether a watcher is alive, the status
    file what it last saw."""

    vault: Path
    running_pid: int | None
    record: StatusRecord | None

    @property
    def running(self) -> bool:
        return self.running_pid is not None


def read_status(vault: Path) -> WatchStatus:
    return WatchStatus(vault, running_watcher_pid(vault), read_status_record(vault))


def describe_status(status: WatchStatus) -> list[str]:
    """The lines `vaultpapers status` prints."""
    record = status.record
    lines: list[str] = []
    if status.running:
        pid = status.running_pid or (record.pid if record else None)
        since = f", since {_local(record.since)}" if record and record.pid == pid else ""
        how = f"; {record.observer}" if record and record.observer and record.pid == pid else ""
        lines.append(f"A watcher is running on {status.vault} (pid {pid}{since}{how}).")
    else:
        lines.append(f"No watcher is running on {status.vault}.")
        if record is not None:
            ended = f", stopped {_local(record.stopped)}" if record.stopped else ""
            lines.append(f"The last one was pid {record.pid}{ended}.")
    if record is None:
        return lines
    if record.last_activity:
        lines.append(
            f"Last activity {_local(record.last_activity)}: {record.notes} notes, "
            f"{record.papers} papers cited. So far {record.runs} runs created "
            f"{record.notes_created} notes, updated {record.notes_updated}, removed "
            f"{record.notes_removed}, inserted {record.links_inserted} links; "
            f"{record.requests} arXiv requests."
        )
    if record.settling:
        lines.append(f"{len(record.settling)} note(s) waiting to be quiet before links go in:")
        lines.extend(f"  {path}" for path in record.settling)
    if record.pending:
        lines.append(f"{len(record.pending)} paper(s) pending:")
        lines.extend(f"  {key}: {reason}" for key, reason in sorted(record.pending.items()))
    if record.problems:
        lines.append(f"{len(record.problems)} problem(s):")
        lines.extend(f"  {problem}" for problem in record.problems)
    if record.errors:
        lines.append(f"{len(record.errors)} watcher fault(s), most recent last:")
        lines.extend(f"  {error}" for error in record.errors)
    if not (record.settling or record.pending or record.problems or record.errors):
        lines.append("Nothing pending, no problems.")
    return lines


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _local(moment: str | None) -> str:
    if not moment:
        return "?"
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(moment).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return moment
