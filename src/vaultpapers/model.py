"""The types every stage of the pipeline passes on: a note as read, a file's state, a planned
write and its outcome, a problem to report.

They live here, apart from the code that reads and writes files, so that the pure stages
(scan, plan, notes) import no I/O module to name what they receive and return.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from enum import Enum

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
    # What the file is: a "paper" note, an "index" note, a user's "note", or the user's "own"
    # note on a paper.
    kind: str = "note"


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
