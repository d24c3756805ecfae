"""Reading the vault: which files are notes, and their text exactly as it is on disk."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .writer import BOM, FileState


@dataclass(frozen=True)
class Note:
    """A Markdown note as read: text without BOM, line endings untouched."""

    path: str  # relative to the vault, POSIX separators
    text: str
    bom: bool
    state: FileState

    @property
    def stem(self) -> str:
        return self.path.rsplit("/", 1)[-1].removesuffix(".md")


@dataclass(frozen=True)
class ReadProblem:
    path: str
    message: str


def markdown_paths(root: Path, settings: Settings) -> Iterator[str]:
    """Every `.md` note below root, sorted, skipping dot-folders, dot-files and excluded globs.

    Symlinks are not followed: a link could lead out of the vault or into a loop.
    """
    stack = [""]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(root / folder), key=lambda e: e.name)
        except OSError:
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            relative = f"{folder}/{entry.name}" if folder else entry.name
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if not _excluded(relative, settings.exclude):
                    subfolders.append(relative)
            elif entry.name.endswith(".md") and not _excluded(relative, settings.exclude):
                yield relative
        stack.extend(reversed(subfolders))


def _excluded(relative: str, patterns: tuple[str, ...]) -> bool:
    """Glob match on the vault-relative path; a folder pattern (`Templates`, `Templates/**`)
    prunes the whole folder because folders are tested before their contents."""
    return any(
        fnmatch.fnmatchcase(relative, pattern.removesuffix("/**").rstrip("/"))
        for pattern in patterns
    )


def read_note(root: Path, relative: str, *, max_bytes: int) -> Note | ReadProblem:
    path = root / relative
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            if stat.st_size > max_bytes:
                return ReadProblem(
                    relative,
                    f"skipped: {stat.st_size:,} bytes is over max_note_bytes ({max_bytes:,})",
                )
            data = handle.read()
    except OSError as exc:
        return ReadProblem(relative, f"cannot read: {exc.strerror or exc}")
    state = FileState.of(data, stat)
    if b"\x00" in data:
        return ReadProblem(relative, "skipped: binary content (NUL bytes) in a .md file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ReadProblem(
            relative,
            f"skipped: not UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start}); "
            "re-save it as UTF-8 to include it",
        )
    bom = text.startswith(BOM)
    return Note(relative, text[1:] if bom else text, bom, state)


def read_vault(root: Path, settings: Settings) -> tuple[list[Note], list[ReadProblem]]:
    notes: list[Note] = []
    problems: list[ReadProblem] = []
    for relative in markdown_paths(root, settings):
        result = read_note(root, relative, max_bytes=settings.max_note_bytes)
        (notes if isinstance(result, Note) else problems).append(result)  # type: ignore[arg-type]
    return notes, problems
