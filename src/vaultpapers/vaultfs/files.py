"""Reading the vault: which files are notes, and their text exactly as it is on disk."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

from vaultpapers.config import Settings
from vaultpapers.model import FileState, Note, StatKey
from vaultpapers.vaultfs.state import stat_key
from vaultpapers.vaultfs.writer import BOM, TEMP_SUFFIX


@dataclass(frozen=True)
class ReadProblem:
    path: str
    message: str
    code: str  # the problem's kind, as `model.Problem` has it


def markdown_paths(root: Path, settings: Settings) -> Iterator[str]:
    for relative, _ in markdown_files(root, settings):
        yield relative


def markdown_files(
    root: Path, settings: Settings, aside: list[tuple[str, str]] | None = None
) -> Iterator[tuple[str, StatKey]]:
    """Every `.md` note below root with its stat key, sorted, skipping dot-folders, dot-files
    and excluded globs.

    Symlinks are not followed: a link could lead out of the vault or into a loop. What was set
    aside that the user or we may want to know of goes into `aside` as (path, why): "symlink",
    or "temp" for a temp file of our own that a killed run left behind.
    """
    patterns = settings.exclude
    stack = [""]
    while stack:
        folder = stack.pop()
        prefix = f"{folder}/" if folder else ""
        try:
            entries = sorted(os.scandir(root / folder), key=_name)
        except OSError:
            continue
        subfolders = []
        # Checks in the order that settles a note soonest: a vault is mostly notes, and
        # every entry is looked at every run.
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                if aside is not None and name.endswith(TEMP_SUFFIX):
                    aside.append((prefix + name, "temp"))
                continue
            if entry.is_file(follow_symlinks=False):  # False for a symlink, too
                if not name.endswith(".md"):
                    continue
                relative = prefix + name
                if patterns and is_excluded(relative, patterns):
                    continue
                try:
                    yield relative, stat_key(entry.stat(follow_symlinks=False))
                except OSError:
                    continue
            elif entry.is_dir(follow_symlinks=False):
                if not (patterns and is_excluded(prefix + name, patterns)):
                    subfolders.append(prefix + name)
            elif (
                entry.is_symlink()
                and aside is not None
                and not is_excluded(prefix + name, patterns)
            ):
                aside.append((prefix + name, "symlink"))
        stack.extend(reversed(subfolders))


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def is_excluded(relative: str, patterns: tuple[str, ...]) -> bool:
    """Whether a vault-relative path, or any folder above it, matches an `exclude` glob
    (`Templates`, `Templates/**`, `*.excalidraw.md`)."""
    if not patterns:
        return False
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    cleaned = [pattern.removesuffix("/**").rstrip("/") for pattern in patterns]
    return any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes for pattern in cleaned)


def read_note(root: Path, relative: str, *, max_bytes: int) -> Note | ReadProblem:
    path = root / relative
    try:
        # O_NONBLOCK: a named pipe called `x.md` must not hang the run; it is refused below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        with open(fd, "rb") as handle:
            stat = os.fstat(handle.fileno())
            if not S_ISREG(stat.st_mode):
                return ReadProblem(relative, "skipped: not a regular file", "not-regular-file")
            if stat.st_size > max_bytes:
                return ReadProblem(
                    relative,
                    f"skipped: {stat.st_size:,} bytes is over max_note_bytes ({max_bytes:,})",
                    "too-large",
                )
            data = handle.read()
    except OSError as exc:
        return ReadProblem(relative, f"cannot read: {exc.strerror or exc}", "unreadable")
    state = FileState.of(data, stat)
    if b"\x00" in data:
        return ReadProblem(relative, "skipped: binary content (NUL bytes) in a .md file", "binary")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ReadProblem(
            relative,
            f"skipped: not UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start}); "
            "re-save it as UTF-8 to include it",
            "not-utf8",
        )
    bom = text.startswith(BOM)
    return Note(relative, text[1:] if bom else text, bom, state, stat_key(stat))


def read_vault(root: Path, settings: Settings) -> tuple[list[Note], list[ReadProblem]]:
    notes: list[Note] = []
    problems: list[ReadProblem] = []
    for relative in markdown_paths(root, settings):
        result = read_note(root, relative, max_bytes=settings.max_note_bytes)
        (notes if isinstance(result, Note) else problems).append(result)  # type: ignore[arg-type]
    return notes, problems
