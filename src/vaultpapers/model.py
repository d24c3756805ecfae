"""The types every stage of the pipeline passes on: a note as read, a file's state, a planned
write and its outcome, a problem to report.

They live here, apart from the code that reads and writes files, so that the pure stages
(scan, plan, notes) import no I/O module to name what they receive and return.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

StatKey = str  # "mtime_ns:ctime_ns:size:inode": the file changed when this did


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


@dataclass(frozen=True)
class Note:
    """A Markdown note as read: text without BOM, line endings untouched.

    `text` is None for a note known from an earlier run's scan and not read this time.
    """

    path: str  # relative to the vault, POSIX separators
    text: str | None
    bom: bool
    state: FileState
    stat: StatKey = ""

    @property
    def stem(self) -> str:
        return self.path.rsplit("/", 1)[-1].removesuffix(".md")


Insertion = tuple[int, str]  # (offset in the text, in characters; what goes in there)


def with_insertions(text: str, insertions: tuple[Insertion, ...]) -> str:
    """`text` with each insertion put in at its offset (offsets in `text` as it was)."""
    parts: list[str] = []
    start = 0
    for offset, inserted in sorted(insertions):
        parts += (text[start:offset], inserted)
        start = offset
    parts.append(text[start:])
    return "".join(parts)


@dataclass(frozen=True)
class Write:
    """One planned change to one file, relative to the vault root (POSIX separators).

    A note that only gains links carries its `insertions` and no `text`: its new text is
    built from the file when it is written (or scanned, or shown), provided the file is
    still `expected`. A new note may carry its `render` instead (its text, and the
    properties its front matter holds), called when the write step comes to it. A cold run
    links a third of a vault and makes a paper note per paper it cites: holding each of
    those texts from planning to writing held the better part of the vault in memory.
    """

    path: str
    text: str
    expected: FileState | None  # None: the file must not exist yet
    bom: bool = False
    reason: str = ""
    replaces: str | None = None  # a file this one takes over from (a rename), removed after
    replaces_state: FileState | None = None
    delete: bool = False  # remove the file (only if still exactly as read)
    # What the file is: a "paper" note, an "index" note, a user's "note", or the user's "own"
    # note on a paper.
    kind: str = "note"
    insertions: tuple[Insertion, ...] = ()
    render: Render | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.insertions and (self.expected is None or self.delete or self.text):
            raise ValueError(f"{self.path}: links go into a note as read, and only links")
        if self.render is not None and (self.expected is not None or self.text):
            raise ValueError(f"{self.path}: only a new note is rendered when written")

    def new_text(self, current: str) -> str:
        """The text this write leaves, given the file's `current` text (the one expected)."""
        if self.render is not None:
            return self.render()[0]
        return with_insertions(current, self.insertions) if self.insertions else self.text

    def rendered(self) -> tuple[Write, Mapping[str, Any] | None]:
        """This write with its text, and the properties its front matter holds when rendering
        told them."""
        if self.render is None:
            return self, None
        text, properties = self.render()
        return replace(self, text=text, render=None), properties


# A new note's text and the properties its front matter holds, worked out when asked.
Render = Callable[[], tuple[str, Mapping[str, Any]]]


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


@dataclass(frozen=True)
class Problem:
    """Something a user should fix or know, at a file (and line, when there is one). `code`
    names the kind of problem, stable for programs (docs/protocol.md lists them); `message`
    says it in words."""

    path: str
    line: int | None
    message: str
    code: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"
