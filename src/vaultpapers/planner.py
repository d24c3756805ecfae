"""Deciding what to write: from notes as read and the metadata we have, to a list of writes.

Pure: no file system, no network. The same inputs give the same plan on every machine, which
is what keeps two synced copies of a vault from writing different notes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .config import Settings
from .ids import InvalidArxivId, parse_arxiv_id
from .notes import (
    PAPER_KIND,
    Mention,
    NoteError,
    PaperNoteContent,
    citation_label,
    new_paper_note,
    owned_spans,
    paper_file_stem,
    section_text,
    update_paper_note,
)
from .papers import Paper, Resolution
from .properties import find_front_matter
from .references import Reference, find_references
from .related import PaperRelations, RelatedList, plan_related
from .relations import relate
from .vault import Note
from .writer import Write


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
    paper_key: str | None  # set for paper notes: the arxiv_id in its front matter
    references: tuple[Reference, ...]
    problems: tuple[Problem, ...]
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    writes: list[Write] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    cited: set[str] = field(default_factory=set)
    created: int = 0
    links_inserted: int = 0
    pending: dict[str, str] = field(default_factory=dict)  # key -> why


def scan_note(note: Note) -> NoteScan:
    """Find what a note is and what it cites. Pure; the result can be cached per file state."""
    problems: list[Problem] = []
    front = find_front_matter(note.text)
    paper_key = None
    if front is not None and front.data is None:
        problems.append(Problem(note.path, 1, f"front matter not read: {front.error}"))
    elif front is not None and front.data.get("vaultpapers") == PAPER_KIND:
        raw_id = front.data.get("arxiv_id")
        try:
            paper_key = parse_arxiv_id(str(raw_id)).key if isinstance(raw_id, str) else None
        except InvalidArxivId:
            paper_key = None
        if paper_key is None:
            problems.append(
                Problem(
                    note.path,
                    1,
                    f"paper note with an unusable arxiv_id {raw_id!r} "
                    "(write it quoted, e.g. arxiv_id: '2103.03206')",
                )
            )
    skip = owned_spans(note.text) if paper_key else []
    found = find_references(note.text, skip_spans=skip)
    references = tuple(r for r in found.references if r.arxiv_id.key != paper_key)
    for invalid in found.invalid:
        problems.append(Problem(note.path, invalid.line, f"{invalid.text}: {invalid.reason}"))
    properties = front.data if front is not None and front.data is not None else {}
    return NoteScan(note, paper_key, references, tuple(problems), properties)


class _LinkNames:
    """Wikilink targets as Obsidian resolves them: by file name, case-insensitively; the
    vault-relative path (without .md) where two notes share a name."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.count: dict[str, int] = defaultdict(int)
        for path in paths:
            self.count[_stem(path).lower()] += 1

    def add(self, path: str) -> None:
        self.count[_stem(path).lower()] += 1

    def taken(self, stem: str) -> bool:
        return self.count.get(stem.lower(), 0) > 0

    def target(self, path: str) -> str:
        stem = _stem(path)
        return stem if self.count[stem.lower()] <= 1 else path.removesuffix(".md")


def _stem(path: str) -> str:
    return path.rsplit("/", 1)[-1].removesuffix(".md")


def plan_link(
    scans: Iterable[NoteScan],
    resolution: Resolution,
    settings: Settings,
    *,
    defer_links_in: Collection[str] = (),
    defer_papers: Collection[str] = (),
) -> Plan:
    """Every write that brings the vault up to date.

    Notes in `defer_links_in` (the one being typed in) get no inserted links this time; their
    references still count everywhere else. Papers in `defer_papers` (metadata on its way) get
    no new note yet, so a stub is not created only to be renamed a second later.
    """
    scans = sorted(scans, key=lambda s: s.note.path)
    plan = Plan()
    for scan in scans:
        plan.problems.extend(scan.problems)
    names = _LinkNames(scan.note.path for scan in scans)

    paper_notes: dict[str, list[NoteScan]] = defaultdict(list)
    for scan in scans:
        if scan.paper_key:
            paper_notes[scan.paper_key].append(scan)
    citations: dict[str, list[NoteScan]] = defaultdict(list)
    for scan in scans:
        for key in dict.fromkeys(r.arxiv_id.key for r in scan.references):
            citations[key].append(scan)
    plan.cited = set(citations)

    for key, claimants in paper_notes.items():
        if len(claimants) > 1:
            others = ", ".join(c.note.path for c in claimants[1:])
            plan.problems.append(
                Problem(
                    claimants[0].note.path,
                    None,
                    f"{len(claimants)} paper notes claim arXiv {key} (also {others}); "
                    "using this one, leaving the others untouched: merge them by hand",
                )
            )

    # Where each paper's note is, or will be: decided before any text is rendered so that
    # every link written in this run points at the final name.
    note_path: dict[str, str] = {}
    renames: dict[str, str] = {}
    for key in sorted(set(citations) | set(paper_notes)):
        paper = resolution.papers.get(key)
        if key in paper_notes:
            current = paper_notes[key][0].note.path
            note_path[key] = current
            if paper is not None and _stem(current) == paper_file_stem(key, None, ""):
                target = _new_note_path(key, paper, settings, names)
                renames[key] = current
                note_path[key] = target
            continue
        if key in defer_papers and key not in resolution.papers:
            continue
        if key in resolution.not_found:
            for scan in citations[key]:
                for ref in scan.references:
                    if ref.arxiv_id.key == key:
                        plan.problems.append(
                            Problem(scan.note.path, ref.line, f"arXiv has no paper {key}")
                        )
            continue
        note_path[key] = _new_note_path(key, paper, settings, names)

    link_targets = {key: names.target(path) for key, path in note_path.items()}
    linked_text: dict[str, str] = {}
    for scan in scans:
        if settings.inline_links != "off" and scan.note.path not in defer_links_in:
            text, count = _insert_links(scan, resolution, link_targets, paper_notes, settings)
            if count:
                linked_text[scan.note.path] = text
                plan.links_inserted += count

    related = _plan_relations(paper_notes, note_path, resolution, names)
    for key in sorted(note_path):
        paper = resolution.papers.get(key)
        if paper is None:
            plan.pending[key] = resolution.pending.get(key, "metadata not available yet")
        mentions = sorted(
            {
                Mention(names.target(scan.note.path))
                for scan in citations.get(key, ())
                if scan.note.path != renames.get(key)
            },
            key=lambda m: (m.link.lower(), m.link),
        )
        series = related.series.get(key)
        content = PaperNoteContent(
            key, paper, mentions, related.lists.get(key), series, related.series_links.get(series)
        )
        if key in paper_notes:
            note = paper_notes[key][0].note
            base = linked_text.pop(note.path, note.text)
            _plan_paper_update(
                plan, note, base, content, note_path[key], renames.get(key), settings
            )
        else:
            text = new_paper_note(content, settings)
            plan.writes.append(Write(note_path[key], text, None, reason="new paper note"))
            plan.created += 1

    notes_by_path = {scan.note.path: scan.note for scan in scans}
    for path, text in sorted(linked_text.items()):
        note = notes_by_path[path]
        plan.writes.append(Write(path, text, note.state, note.bom, "links inserted"))
    return plan


@dataclass(frozen=True)
class _Relations:
    lists: Mapping[str, RelatedList]
    series: Mapping[str, str]  # key -> series name
    series_links: Mapping[str, str]  # series name -> wikilink target of its index note


def _plan_relations(
    paper_notes: Mapping[str, list[NoteScan]],
    note_path: Mapping[str, str],
    resolution: Resolution,
    names: _LinkNames,
) -> _Relations:
    complete = sorted(key for key in note_path if key in resolution.papers)
    link_of = {key: names.target(note_path[key]) for key in complete}
    key_of_target: dict[str, str] = {}
    for key, path in note_path.items():
        key_of_target[_stem(path).lower()] = key
        key_of_target[path.removesuffix(".md").lower()] = key
    for key, scans in paper_notes.items():
        key_of_target.setdefault(scans[0].note.stem.lower(), key)
    detected = relate(resolution.papers[key] for key in complete)
    previous = {
        key: PaperRelations.read(
            key, scans[0].properties, section_text(scans[0].note.text, "related")
        )
        for key, scans in paper_notes.items()
    }
    labels = {key: citation_label(resolution.papers[key]) for key in complete}
    lists = plan_related(detected, previous, link_of, key_of_target, labels)
    series = {member: s.name for s in detected.series for member in s.members}
    return _Relations(lists, series, {})


def _new_note_path(key: str, paper: Paper | None, settings: Settings, names: _LinkNames) -> str:
    stem = paper_file_stem(key, paper, settings.filename_pattern)
    candidate, number = stem, 1
    while names.taken(candidate):
        number += 1
        candidate = f"{stem} {number}"
    path = f"{settings.papers_folder.strip('/')}/{candidate}.md"
    names.add(path)
    return path


def _plan_paper_update(
    plan: Plan,
    note: Note,
    base_text: str,
    content: PaperNoteContent,
    path: str,
    renamed_from: str | None,
    settings: Settings,
) -> None:
    try:
        text = update_paper_note(base_text, content, settings)
    except NoteError as exc:
        plan.problems.append(Problem(note.path, None, f"paper note left unchanged: {exc}"))
        return
    if renamed_from is not None:
        plan.writes.append(
            Write(
                path,
                text,
                None,
                note.bom,
                "paper note completed and renamed",
                replaces=note.path,
                replaces_state=note.state,
            )
        )
    elif text != note.text:
        plan.writes.append(Write(note.path, text, note.state, note.bom, "paper note updated"))


def _insert_links(
    scan: NoteScan,
    resolution: Resolution,
    link_targets: Mapping[str, str],
    paper_notes: Mapping[str, list[NoteScan]],
    settings: Settings,
) -> tuple[str, int]:
    """The note's text with a wikilink after each reference to a paper with a complete note.

    Pending papers get no link yet: their note may still be renamed once its title is known.
    """
    insertions: list[tuple[int, str]] = []
    linked_here: set[str] = set()
    for ref in scan.references:
        key = ref.arxiv_id.key
        paper = resolution.papers.get(key)
        if ref.insert_at is None or paper is None or key not in link_targets:
            continue
        if settings.inline_links == "first" and key in linked_here:
            continue
        linked_here.add(key)
        if _already_linked(scan.note.text, ref, key, link_targets, paper_notes):
            continue
        label = _label(paper, key, settings.link_label)
        pipe = "\\|" if ref.in_table else "|"
        insertions.append((ref.insert_at, f" [[{link_targets[key]}{pipe}{label}]]"))
    text = scan.note.text
    for offset, link in sorted(insertions, reverse=True):
        text = text[:offset] + link + text[offset:]
    return text, len(insertions)


_WIKILINK_AT = re.compile(r" ?\[\[([^\[\]\n]+)\]\]")


def _links_at(text: str, offset: int) -> list[str]:
    """Targets of the wikilinks standing one after another at `offset`."""
    targets = []
    while match := _WIKILINK_AT.match(text, offset):
        target = re.split(r"\\?\|", match.group(1), maxsplit=1)[0]
        targets.append(re.split(r"[#^]", target, maxsplit=1)[0].strip())
        offset = match.end()
    return targets


def _already_linked(
    text: str,
    ref: Reference,
    key: str,
    link_targets: Mapping[str, str],
    paper_notes: Mapping[str, list[NoteScan]],
) -> bool:
    assert ref.insert_at is not None
    candidates = {link_targets[key].lower()}
    for scan in paper_notes.get(key, ()):
        candidates.add(scan.note.path.removesuffix(".md").lower())
        candidates.add(scan.note.stem.lower())
    id_part = parse_arxiv_id(key).filename_part.lower()
    for target in _links_at(text, ref.insert_at):
        target = target.removesuffix(".md").lower()
        if target in candidates or target.rsplit("/", 1)[-1] in candidates or id_part in target:
            return True
    return False


def _label(paper: Paper, key: str, mode: str) -> str:
    if mode == "short":
        label = citation_label(paper)
    elif mode == "title":
        label = paper.title
    elif mode == "id":
        label = f"arXiv:{key}"
    else:
        label = mode
    return label.replace("]]", "] ]").replace("|", "/").replace("\n", " ")
