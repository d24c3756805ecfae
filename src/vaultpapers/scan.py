"""Scanning one note: what kind it is, what it cites, which tags it carries.

Pure and per note, so the result can be kept per file state and reused while the file is
unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .ids import InvalidArxivId, parse_arxiv_id
from .indexes import INDEX_KINDS, note_summary
from .notes import PAPER_KIND, owned_spans
from .properties import find_front_matter
from .references import Reference, find_references
from .tags import body_tags, front_matter_tags
from .vault import Note

USER_KIND = "user"
OPAQUE_KIND = "opaque"  # a note we could not scan: it keeps its name, nothing else


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class NoteScan:
    """One note as the planner sees it."""

    note: Note
    kind: str  # "user", "paper", or an index kind ("tag", "series")
    references: tuple[Reference, ...] = ()
    problems: tuple[Problem, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)
    paper_key: str | None = None  # paper notes: the arxiv_id in the front matter
    index_name: str | None = None  # index notes: the tag or series they list
    tags: tuple[str, ...] = ()
    summary: str = ""


def scan_note(note: Note) -> NoteScan:
    front = find_front_matter(note.text)
    properties: Mapping[str, Any] = {}
    if front is not None and front.data is None:
        problem = Problem(note.path, 1, f"front matter not read: {front.error}")
        return _scan_content(note, USER_KIND, {}, None, [problem])
    if front is not None and front.data is not None:
        properties = front.data
    kind = properties.get("vaultpapers")
    if kind in INDEX_KINDS and isinstance(properties.get(kind), str):
        return NoteScan(note, kind, properties=properties, index_name=properties[kind])
    if kind == PAPER_KIND:
        raw_id = properties.get("arxiv_id")
        try:
            paper_key = parse_arxiv_id(raw_id).key if isinstance(raw_id, str) else None
        except InvalidArxivId:
            paper_key = None
        if paper_key is not None:
            return _scan_content(note, PAPER_KIND, properties, paper_key, [])
        problem = Problem(
            note.path,
            1,
            f"paper note with an unusable arxiv_id {raw_id!r} "
            "(write it quoted, e.g. arxiv_id: '2103.03206'); treated as your own note",
        )
        return _scan_content(note, USER_KIND, properties, None, [problem])
    return _scan_content(note, USER_KIND, properties, None, [])


def scan_or_report(note: Note) -> NoteScan:
    """`scan_note`, except that a failure costs only this note: it is then treated as text
    we do not touch, with a problem saying so."""
    try:
        return scan_note(note)
    except Exception as exc:  # a bug must cost one note, never the whole vault
        message = (
            f"not scanned: vaultpapers failed on it ({type(exc).__name__}: {exc}); "
            "please report this"
        )
        return NoteScan(note, OPAQUE_KIND, problems=(Problem(note.path, None, message),))


def _scan_content(
    note: Note,
    kind: str,
    properties: Mapping[str, Any],
    paper_key: str | None,
    problems: list[Problem],
) -> NoteScan:
    skip = owned_spans(note.text) if kind == PAPER_KIND else []
    found = find_references(note.text, skip_spans=skip)
    references = tuple(r for r in found.references if r.arxiv_id.key != paper_key)
    problems += [Problem(note.path, bad.line, f"{bad.text}: {bad.reason}") for bad in found.invalid]
    tags = front_matter_tags(properties.get("tags", properties.get("tag")))
    tags += body_tags(note.text, skip_spans=skip)
    summary = "" if kind == PAPER_KIND else note_summary(note.text, properties)
    return NoteScan(
        note, kind, references, tuple(problems), properties, paper_key, None, _unique(tags), summary
    )


def _unique(tags: list[str]) -> tuple[str, ...]:
    """Obsidian compares tags case-insensitively; the first spelling wins."""
    seen: set[str] = set()
    unique = []
    for tag in tags:
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            unique.append(tag)
    return tuple(unique)
