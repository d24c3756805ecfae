"""The one place vaultpapers writes to the vault.

The contract: no write when nothing changed; never replace a file that changed since it was
read; never create over a file that appeared meanwhile; temp file in the same folder, fsync,
file mode kept, `os.replace`; never a path outside the vault.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# The types of a write, named where they always were for the modules that use the writer.
from vaultpapers.model import FileState, Outcome, Write, WriteResult, content_digest

BOM = "\ufeff"
TEMP_SUFFIX = ".vaultpapers.tmp"  # `.vp.XXXXXXXX.vaultpapers.tmp`, beside the note it becomes
log = logging.getLogger("vaultpapers")


def encode_note(text: str, *, bom: bool) -> bytes:
    return ((BOM if bom else "") + text).encode("utf-8")


@dataclass(frozen=True)
class _Prepared:
    """A write whose checks passed and whose new text sits in a temp file beside its target."""

    write: Write
    target: Path
    temp: Path
    digest: str  # of the bytes in `temp`: not the bytes, a batch holds thousands of these
    old: Path | None  # the file it takes over from, for a rename


class VaultWriter:
    """Safe to use from several threads at once for writes to different files.

    A write's new text goes to a temp file in the target's folder, which is made durable
    before it replaces the old file: by its own fsync (`apply`), or, for a batch, by one
    `syncfs` of the filesystem after all temp files are written (`apply_many`): the same
    guarantee for one flush instead of thousands. The folders' entries are fsynced once at the
    end (`sync_folders`): a rename is atomic either way, so until then a crash leaves the old
    file or the new one, never a mix.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._touched: set[Path] = set()
        self._folders: dict[str, Path] = {}

    def apply(self, write: Write) -> WriteResult:
        try:
            prepared = self._prepare(write, durable=True)
            return prepared if isinstance(prepared, WriteResult) else self._publish(prepared)
        except OSError as exc:
            return WriteResult(write, Outcome.FAILED, _describe_os_error(exc))

    def apply_many(
        self, writes: list[Write], *, cancel: threading.Event | None = None
    ) -> list[WriteResult]:
        """Every write (to distinct files); the ones not started when `cancel` is set are left
        out of the results. Small batches are fsynced file by file.

        One at a time: creating files in one folder is serialised by the filesystem anyway,
        and threads only added contention (figures: benchmarks/README.md).
        """
        batch = len(writes) >= SYNCFS_BATCH and _load_syncfs() is not None

        def prepare(write: Write) -> _Prepared | WriteResult | None:
            if cancel is not None and cancel.is_set():
                return None
            try:
                return self._prepare(write, durable=not batch)
            except OSError as exc:
                return WriteResult(write, Outcome.FAILED, _describe_os_error(exc))

        def publish(item: _Prepared | WriteResult | None) -> WriteResult | None:
            if not isinstance(item, _Prepared):
                return item
            if cancel is not None and cancel.is_set():
                _discard(item.temp)
                return None
            try:
                return self._publish(item)
            except OSError as exc:
                _discard(item.temp)
                return WriteResult(item.write, Outcome.FAILED, _describe_os_error(exc))

        started = time.perf_counter()
        prepared = [prepare(write) for write in writes]
        temps = [item for item in prepared if isinstance(item, _Prepared)]
        written = time.perf_counter()
        if batch and temps and not _make_durable([item.temp for item in temps]):
            for index, item in enumerate(prepared):  # syncfs refused: flush each on its own
                if not isinstance(item, _Prepared):
                    continue
                try:
                    _fsync_file(item.temp)
                except OSError as exc:
                    _discard(item.temp)
                    prepared[index] = WriteResult(
                        item.write, Outcome.FAILED, _describe_os_error(exc)
                    )
        durable = time.perf_counter()
        results = [publish(item) for item in prepared]
        log.debug(
            "%d writes: temp files %.2f s, flushed %.2f s, moved into place %.2f s",
            len(writes),
            written - started,
            durable - written,
            time.perf_counter() - durable,
        )
        return [result for result in results if result is not None]

    def _prepare(self, write: Write, *, durable: bool) -> _Prepared | WriteResult:
        """Every check that can be made before writing, then the temp file."""
        target = self._inside_vault(write.path)
        if write.render is not None:  # (the write step renders a batch before it comes here)
            write = write.rendered()[0]
        if write.expected is not None:
            current = _read_state(target)
            if current is None or current[1] != write.expected:
                return WriteResult(write, Outcome.CONFLICT, "changed on disk since it was read")
            if write.delete:
                os.unlink(target)
                self._touched.add(target.parent)
                return WriteResult(write, Outcome.WRITTEN)
            # The very text the plan was made from (its digest is the one expected): links
            # planned as insertions go into it.
            text = ""
            if write.insertions:
                text = current[0].decode("utf-8").removeprefix(BOM if write.bom else "")
            data = encode_note(write.new_text(text), bom=write.bom)
            if current[0] == data:
                return WriteResult(write, Outcome.UNCHANGED)
            mode = os.stat(target).st_mode & 0o7777
        else:
            data = encode_note(write.text, bom=write.bom)
            if os.path.lexists(target):
                return WriteResult(write, Outcome.CONFLICT, "a file of that name appeared")
            mode = None
        old = self._inside_vault(write.replaces) if write.replaces is not None else None
        if old is not None:
            current_old = _read_state(old)
            if current_old is None or current_old[1] != write.replaces_state:
                return WriteResult(write, Outcome.CONFLICT, f"{write.replaces} changed on disk")
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = self._write_temp(target, data, mode, durable=durable)
        return _Prepared(write, target, temp, content_digest(data), old)

    def _publish(self, prepared: _Prepared) -> WriteResult:
        """Put a durable temp file in place, checking the target once more just before."""
        write, target, temp, old = prepared.write, prepared.target, prepared.temp, prepared.old
        try:
            if write.expected is None:
                if not _link_no_clobber(temp, target):
                    return WriteResult(write, Outcome.CONFLICT, "a file of that name appeared")
            else:
                if _stat_state(target) != (write.expected.mtime_ns, write.expected.size):
                    return WriteResult(write, Outcome.CONFLICT, "changed on disk while writing")
                os.replace(temp, target)
        finally:
            _discard(temp)
        self._touched.add(target.parent)
        if old is not None and write.replaces_state is not None:
            if _stat_state(old) != (write.replaces_state.mtime_ns, write.replaces_state.size):
                # The old note was edited while we renamed it: keep the user's version only.
                os.unlink(target)
                return WriteResult(write, Outcome.CONFLICT, f"{write.replaces} changed on disk")
            os.unlink(old)
            self._touched.add(old.parent)
        stat = os.stat(target)
        written = FileState(stat.st_mtime_ns, stat.st_size, prepared.digest)
        return WriteResult(write, Outcome.WRITTEN, state=written)

    def sync_folders(self) -> None:
        for folder in sorted(self._touched):
            _fsync_directory(folder)
        self._touched.clear()

    def _inside_vault(self, relative: str) -> Path:
        folder, _, name = relative.rpartition("/")
        resolved = self._folders.get(folder)
        if resolved is None:
            # Resolved once per folder a run writes to: a run writes thousands of notes to a few.
            resolved = self._folders[folder] = (self.root / folder).resolve()
        candidate = resolved / name
        if name in ("", ".", "..") or os.path.islink(candidate):
            candidate = candidate.resolve()  # where a link really leads decides
        if candidate == self.root or not candidate.is_relative_to(self.root):
            raise OSError(errno.EPERM, f"refusing to write outside the vault: {relative}")
        return candidate

    @staticmethod
    def _write_temp(target: Path, data: bytes, mode: int | None, *, durable: bool) -> Path:
        flags, permissions = os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644 if mode is None else mode
        for attempt in range(8):
            # A short name: creating thousands of files in one folder is markedly slower
            # with names as long as the notes' own.
            temp = target.with_name(f".vp.{os.urandom(4).hex()}{TEMP_SUFFIX}")
            try:
                fd = os.open(temp, flags, permissions)
                break
            except FileExistsError:
                if attempt == 7:
                    raise
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                if durable:
                    os.fsync(handle.fileno())
            if mode is not None:
                os.chmod(temp, mode)
        except BaseException:
            _discard(temp)
            raise
        return temp


# A batch this large is flushed with one syncfs(2) instead of an fsync per file.
SYNCFS_BATCH = 32


@functools.cache  # on first use: most runs write a few files, each flushed by fsync
def _load_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


def _make_durable(temps: list[Path]) -> bool:
    """Flush the filesystems holding `temps` with syncfs(2), once each; False if refused."""
    syncfs = _load_syncfs()
    if syncfs is None:
        return False
    by_device: dict[int, Path] = {}
    for temp in temps:
        by_device.setdefault(os.stat(temp).st_dev, temp)
    for temp in by_device.values():
        fd = os.open(temp, os.O_RDONLY)
        try:
            if syncfs(fd) != 0:
                return False
        finally:
            os.close(fd)
    return True


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _discard(temp: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp)


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
