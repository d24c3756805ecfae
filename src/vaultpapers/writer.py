"""The one place vaultpapers writes to the vault.

The contract: no write when nothing changed; never replace a file that changed since it was
read; never create over a file that appeared meanwhile; temp file in the same folder, fsync,
file mode kept, `os.replace`; never a path outside the vault.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

BOM = "\ufeff"


@dataclass(frozen=True)
class FileState:
    """What a file looked like when it was read; compared again just before replacing it."""

    mtime_ns: int
    size: int
    digest: str

    @classmethod
    def of(cls, data: bytes, stat: os.stat_result) -> FileState:
        return cls(stat.st_mtime_ns, stat.st_size, content_digest(data))


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def encode_note(text: str, *, bom: bool) -> bytes:
    return ((BOM if bom else "") + text).encode("utf-8")


@dataclass(frozen=True)
class Write:
    """One planned change to one file, relative to the vault root (POSIX separators)."""

    path: str
    text: str
    expected: FileState | None  # None: the file must not exist yet
    bom: bool = False
    reason: str = ""
    replaces: str | None = None  # a file this one takes over from (a rename), removed after
    replaces_state: FileState | None = None
    delete: bool = False  # remove the file (only if still exactly as read)
    kind: str = "note"  # what the file is: "paper", "index" or a user "note"


class Outcome(Enum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"
    FAILED = "failed"


@dataclass(frozen=True)
class WriteResult:
    write: Write
    outcome: Outcome
    message: str = ""
    state: FileState | None = None  # the file as we left it, when WRITTEN


class VaultWriter:
    """Safe to use from several threads at once for writes to different files.

    Each file is fsynced before it replaces the old one; the folders' entries are fsynced once
    at the end (`sync_folders`): a rename is atomic either way, so until then a crash leaves
    the old file or the new one, never a mix.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._touched: set[Path] = set()

    def apply(self, write: Write) -> WriteResult:
        try:
            return self._apply(write)
        except OSError as exc:
            return WriteResult(write, Outcome.FAILED, _describe_os_error(exc))

    def _apply(self, write: Write) -> WriteResult:
        target = self._inside_vault(write.path)
        data = encode_note(write.text, bom=write.bom)
        if write.expected is not None:
            current = _read_state(target)
            if current is None or current[1] != write.expected:
                return WriteResult(write, Outcome.CONFLICT, "changed on disk since it was read")
            if write.delete:
                os.unlink(target)
                self._touched.add(target.parent)
                return WriteResult(write, Outcome.WRITTEN)
            if current[0] == data:
                return WriteResult(write, Outcome.UNCHANGED)
            mode = os.stat(target).st_mode & 0o7777
        else:
            if os.path.lexists(target):
                return WriteResult(write, Outcome.CONFLICT, "a file of that name appeared")
            mode = None
        old = self._inside_vault(write.replaces) if write.replaces is not None else None
        if old is not None:
            current_old = _read_state(old)
            if current_old is None or current_old[1] != write.replaces_state:
                return WriteResult(write, Outcome.CONFLICT, f"{write.replaces} changed on disk")
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = self._write_temp(target, data, mode)
        try:
            if write.expected is None:
                if not _link_no_clobber(temp, target):
                    return WriteResult(write, Outcome.CONFLICT, "a file of that name appeared")
            else:
                if _stat_state(target) != (write.expected.mtime_ns, write.expected.size):
                    return WriteResult(write, Outcome.CONFLICT, "changed on disk while writing")
                os.replace(temp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        self._touched.add(target.parent)
        if old is not None and write.replaces_state is not None:
            if _stat_state(old) != (write.replaces_state.mtime_ns, write.replaces_state.size):
                # The old note was edited while we renamed it: keep the user's version only.
                os.unlink(target)
                return WriteResult(write, Outcome.CONFLICT, f"{write.replaces} changed on disk")
            os.unlink(old)
            self._touched.add(old.parent)
        stat = os.stat(target)
        written = FileState(stat.st_mtime_ns, stat.st_size, content_digest(data))
        return WriteResult(write, Outcome.WRITTEN, state=written)

    def sync_folders(self) -> None:
        for folder in sorted(self._touched):
            _fsync_directory(folder)
        self._touched.clear()

    def _inside_vault(self, relative: str) -> Path:
        candidate = (self.root / relative).resolve()
        if candidate == self.root or not candidate.is_relative_to(self.root):
            raise OSError(errno.EPERM, f"refusing to write outside the vault: {relative}")
        return candidate

    @staticmethod
    def _write_temp(target: Path, data: bytes, mode: int | None) -> Path:
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.vaultpapers.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644 if mode is None else mode)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if mode is not None:
                os.chmod(temp, mode)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        return temp


def _read_state(path: Path) -> tuple[bytes, FileState] | None:
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            data = handle.read()
    except FileNotFoundError:
        return None
    return data, FileState.of(data, stat)


def _stat_state(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _link_no_clobber(temp: Path, target: Path) -> bool:
    """Publish a new file atomically; False when the name was taken meanwhile."""
    try:
        os.link(temp, target)
    except FileExistsError:
        return False
    except OSError as exc:
        # Some filesystems (exFAT, certain FUSE mounts) have no hard links.
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if os.path.lexists(target):
            return False
        os.replace(temp, target)
    return True


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _describe_os_error(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "disk full; nothing was changed in this file"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied ({exc.strerror or exc}); nothing was changed in this file"
    return f"{exc.strerror or exc}; nothing was changed in this file"
