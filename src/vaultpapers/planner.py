"""Deciding what to write: from notes as scanned and the metadata we have, to a list of writes.

Pure: no file system, no network. The same inputs give the same plan on every machine, which
is what keeps two synced copies of a vault from writing different notes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from .config import Settings
from .indexes import (
    SERIES_KIND,
    TAG_KIND,
    IndexEntry,
    SeriesIndex,
    TagIndex,
    first_sentence,
    index_file_stem,
    note_summary,
    render_series_index,
    render_tag_index,
    update_index_note,
    user_wrote_in,
)
from .links import insert_links
from .notes import (
    Mention,
    NoteError,
    PaperNoteContent,
    citation_label,
    new_paper_note,
    paper_file_stem,
    section_text,
    tool_tags,
    update_paper_note,
)
from .papers import Paper, Resolution
from .related import PaperRelations, RelatedList, plan_related
from .relations import RelatedPapers, relate
from .scan import USER_KIND, NoteScan, Problem
from .tags import tag_with_parents
from .writer import Write

__all__ = ["Plan", "Problem", "plan_link"]

T = TypeVar("T")


@dataclass
class Plan:
    writes: list[Write] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    cited: set[str] = field(default_factory=set)
    links_inserted: int = 0
    pending: dict[str, str] = field(default_factory=dict)  # key -> why


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
    planner = _Planner(sorted(scans, key=lambda s: s.note.path), resolution, settings)
    planner.place_paper_notes(defer_papers)
    planner.place_index_notes()
    planner.insert_links(defer_links_in)
    planner.write_paper_notes()
    planner.write_index_notes()
    planner.write_linked_notes()
    return planner.plan


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

    def free_path(self, folder: str, stem: str) -> str:
        candidate, number = stem, 1
        while self.taken(candidate):
            number += 1
            candidate = f"{stem} {number}"
        path = f"{folder.strip('/')}/{candidate}.md" if folder.strip("/") else f"{candidate}.md"
        self.add(path)
        return path


def _stem(path: str) -> str:
    return path.rsplit("/", 1)[-1].removesuffix(".md")


class _Planner:
    def __init__(self, scans: list[NoteScan], resolution: Resolution, settings: Settings):
        self.scans = scans
        self.resolution = resolution
        self.settings = settings
        self.plan = Plan()
        self.names = _LinkNames(scan.note.path for scan in scans)
        self.paper_notes: dict[str, list[NoteScan]] = defaultdict(list)
        self.index_notes: dict[tuple[str, str], list[NoteScan]] = defaultdict(list)
        self.citations: dict[str, list[NoteScan]] = defaultdict(list)
        self.scan_at = {scan.note.path: scan for scan in scans}
        for scan in scans:
            self.plan.problems.extend(scan.problems)
            if scan.paper_key:
                self.paper_notes[scan.paper_key].append(scan)
            elif scan.index_name is not None:
                self.index_notes[(scan.kind, scan.index_name.casefold())].append(scan)
            for key in dict.fromkeys(r.arxiv_id.key for r in scan.references):
                self.citations[key].append(scan)
        self.plan.cited = set(self.citations)
        self._report_duplicates()
        self.note_path: dict[str, str] = {}  # paper key -> where its note is or will be
        self.renames: dict[str, str] = {}  # paper key -> the pending note it completes
        self.index_path: dict[tuple[str, str], str] = {}
        self.linked_text: dict[str, str] = {}
        self.related: _Relations | None = None

    def _report_duplicates(self) -> None:
        groups = [(f"arXiv {key}", scans) for key, scans in self.paper_notes.items()]
        groups += [(f"{kind} {name}", scans) for (kind, name), scans in self.index_notes.items()]
        for what, claimants in groups:
            if len(claimants) > 1:
                others = ", ".join(c.note.path for c in claimants[1:])
                self.plan.problems.append(
                    Problem(
                        claimants[0].note.path,
                        None,
                        f"{len(claimants)} notes claim {what} (also {others}); using this one "
                        "and leaving the others untouched: merge them by hand",
                    )
                )

    # -- where notes are -------------------------------------------------------------------

    def place_paper_notes(self, defer_papers: Collection[str]) -> None:
        """Decide every paper note's path before rendering, so links point at final names."""
        papers = self.resolution.papers
        for key in sorted(set(self.citations) | set(self.paper_notes)):
            paper = papers.get(key)
            if key in self.paper_notes:
                current = self.paper_notes[key][0].note.path
                self.note_path[key] = current
                if paper is not None and _stem(current) == paper_file_stem(key, None, ""):
                    self.renames[key] = current
                    self.note_path[key] = self._new_paper_path(key, paper)
            elif key in defer_papers and paper is None:
                continue
            elif key in self.resolution.not_found:
                self._report_not_found(key)
            else:
                self.note_path[key] = self._new_paper_path(key, paper)

    def _new_paper_path(self, key: str, paper: Paper | None) -> str:
        stem = paper_file_stem(key, paper, self.settings.filename_pattern)
        return self.names.free_path(self.settings.papers_folder, stem)

    def _report_not_found(self, key: str) -> None:
        for scan in self.citations[key]:
            for ref in scan.references:
                if ref.arxiv_id.key == key:
                    message = f"arXiv has no paper {key}"
                    self.plan.problems.append(Problem(scan.note.path, ref.line, message))

    def place_index_notes(self) -> None:
        self.tags = self._collect_tags()
        self.related = self._detect_relations()
        wanted = [(TAG_KIND, tag) for tag in self.tags]
        wanted += [(SERIES_KIND, series.name) for series in self.related.detected.series]
        folders = {
            TAG_KIND: self.settings.tag_index_folder,
            SERIES_KIND: self.settings.series_index_folder,
        }
        for kind, name in wanted:
            existing = self.index_notes.get((kind, name.casefold()))
            if existing:
                self.index_path[(kind, name)] = existing[0].note.path
            else:
                stem = index_file_stem(kind, name)
                self.index_path[(kind, name)] = self.names.free_path(folders[kind], stem)

    def _collect_tags(self) -> dict[str, _TagMembers]:
        """Every tag in use, nested ones implying their parents, folded case-insensitively;
        an existing index note's spelling wins, else the first spelling in path order."""
        spelling: dict[str, str] = {}
        for (kind, folded), scans in self.index_notes.items():
            if kind == TAG_KIND and scans[0].index_name:
                spelling[folded] = scans[0].index_name
        members: dict[str, _TagMembers] = {}

        def add(tags: Iterable[str], *, note: str | None = None, paper: str | None = None) -> None:
            for tag in tags:
                for level in tag_with_parents(tag):
                    group = members.setdefault(
                        spelling.setdefault(level.casefold(), level), _TagMembers()
                    )
                    if note is not None:
                        group.notes.add(note)
                    if paper is not None:
                        group.papers.add(paper)

        for scan in self.scans:
            if scan.kind == USER_KIND:
                add(scan.tags, note=scan.note.path)
        for key in self.note_path:
            # A paper carries the tags its note will have after this run: the user's and ours.
            paper = self.resolution.papers.get(key)
            existing = self.paper_notes.get(key)
            add(existing[0].tags if existing else (), paper=key)
            add(tool_tags(paper.categories if paper else (), self.settings), paper=key)
        return dict(sorted(members.items(), key=lambda item: item[0].casefold()))

    def _detect_relations(self) -> _Relations:
        papers = self.resolution.papers
        complete = sorted(key for key in self.note_path if key in papers)
        return _Relations(relate(papers[key] for key in complete), complete)

    # -- what the notes say ----------------------------------------------------------------

    def link_target(self, key: str) -> str:
        return self.names.target(self.note_path[key])

    def insert_links(self, defer_links_in: Collection[str]) -> None:
        if self.settings.inline_links == "off":
            return
        targets = {key: self.link_target(key) for key in self.note_path}
        known: dict[str, set[str]] = defaultdict(set)
        for key in self.note_path:
            known[key].add(targets[key].lower())
            for scan in self.paper_notes.get(key, ()):
                known[key] |= {scan.note.path.removesuffix(".md").lower(), scan.note.stem.lower()}
        for scan in self.scans:
            if scan.note.path in defer_links_in or not scan.references:
                continue
            inserted = self._guarded(
                scan.note.path,
                lambda scan=scan: insert_links(
                    scan,
                    self.resolution.papers,
                    targets,
                    known,
                    mode=self.settings.inline_links,
                    label=self.settings.link_label,
                ),
            )
            if inserted is None:
                continue
            text, count = inserted
            if count:
                self.linked_text[scan.note.path] = text
                self.plan.links_inserted += count

    def write_paper_notes(self) -> None:
        assert self.related is not None
        lists = self._related_lists()
        series_of = {m: s.name for s in self.related.detected.series for m in s.members}
        for key in sorted(self.note_path):
            paper = self.resolution.papers.get(key)
            if paper is None:
                reason = self.resolution.pending.get(key, "metadata not available yet")
                self.plan.pending[key] = reason
            series = series_of.get(key)
            series_path = self.index_path.get((SERIES_KIND, series)) if series else None
            content = PaperNoteContent(
                key,
                paper,
                self._mentions(key),
                lists.get(key),
                series,
                self.names.target(series_path) if series_path else None,
            )
            if key in self.paper_notes:
                path = self.paper_notes[key][0].note.path
                self._guarded(
                    path, lambda key=key, content=content: self._update_paper_note(key, content)
                )
                continue
            text = self._guarded(
                self.note_path[key], lambda c=content: new_paper_note(c, self.settings)
            )
            if text is not None:
                write = Write(self.note_path[key], text, None, reason="new note", kind="paper")
                self.plan.writes.append(write)

    def _mentions(self, key: str) -> list[Mention]:
        citing = {
            Mention(self.names.target(scan.note.path))
            for scan in self.citations.get(key, ())
            if scan.note.path != self.renames.get(key)
        }
        return sorted(citing, key=lambda m: (m.link.lower(), m.link))

    def _related_lists(self) -> Mapping[str, RelatedList]:
        assert self.related is not None
        link_of = {key: self.link_target(key) for key in self.related.complete}
        key_of_target: dict[str, str] = {}
        for key, path in self.note_path.items():
            key_of_target[_stem(path).lower()] = key
            key_of_target[path.removesuffix(".md").lower()] = key
        for key, scans in self.paper_notes.items():
            key_of_target.setdefault(scans[0].note.stem.lower(), key)
        previous = {
            key: PaperRelations.read(
                key, scans[0].properties, section_text(scans[0].note.text, "related")
            )
            for key, scans in self.paper_notes.items()
        }
        labels = {key: citation_label(self.resolution.papers[key]) for key in link_of}
        return plan_related(self.related.detected, previous, link_of, key_of_target, labels)

    def _update_paper_note(self, key: str, content: PaperNoteContent) -> None:
        note = self.paper_notes[key][0].note
        base = self.linked_text.pop(note.path, note.text)
        try:
            text = update_paper_note(base, content, self.settings)
        except NoteError as exc:
            problem = Problem(note.path, None, f"paper note left unchanged: {exc}")
            self.plan.problems.append(problem)
            return
        if key in self.renames:
            self.plan.writes.append(
                Write(
                    self.note_path[key],
                    text,
                    None,
                    note.bom,
                    "paper note completed and renamed",
                    replaces=note.path,
                    replaces_state=note.state,
                    kind="paper",
                )
            )
        elif text != note.text:
            write = Write(note.path, text, note.state, note.bom, "paper note", kind="paper")
            self.plan.writes.append(write)

    def write_index_notes(self) -> None:
        assert self.related is not None
        dataview = self.settings.index_dataview
        for (kind, name), path in sorted(self.index_path.items()):
            self._guarded(path, lambda k=kind, n=name, p=path: self._index_note(k, n, p, dataview))
        wanted = {(kind, name.casefold()) for kind, name in self.index_path}
        for identity, scans in sorted(self.index_notes.items()):
            note = scans[0].note
            if identity not in wanted and not user_wrote_in(note.text, identity[0]):
                self.plan.writes.append(
                    Write(
                        note.path, "", note.state, note.bom, "index no longer needed", delete=True
                    )
                )

    def _index_note(self, kind: str, name: str, path: str, dataview: bool) -> None:
        assert self.related is not None
        if kind == TAG_KIND:
            rendered = render_tag_index(self._tag_index(name), dataview=dataview)
        else:
            series = next(s for s in self.related.detected.series if s.name == name)
            members = [self._paper_entry(key, dated=True) for key in series.members]
            rendered = render_series_index(SeriesIndex(name, members), dataview=dataview)
        self._write_index(kind, name, path, rendered)

    def _guarded(self, path: str, step: Callable[[], T]) -> T | None:
        """One note's step; if it fails, that note is left unchanged and the run goes on."""
        try:
            return step()
        except Exception as exc:  # a bug must cost one note, never the whole vault
            self.plan.problems.append(
                Problem(
                    path,
                    None,
                    f"left unchanged: vaultpapers failed on it ({type(exc).__name__}: {exc}); "
                    "please report this",
                )
            )
            return None

    def _tag_index(self, tag: str) -> TagIndex:
        group = self.tags[tag]
        notes = sorted((self._note_entry(path) for path in group.notes), key=lambda e: e.sort_key)
        papers = sorted(
            (self._paper_entry(key, dated=False) for key in group.papers),
            key=lambda e: e.sort_key,
        )
        prefix = tag.casefold() + "/"
        children = [
            (child, self.names.target(self.index_path[(TAG_KIND, child)]))
            for child in self.tags
            if child.casefold().startswith(prefix) and "/" not in child[len(prefix) :]
        ]
        return TagIndex(tag, notes, papers, children)

    def _note_entry(self, path: str) -> IndexEntry:
        target = self.names.target(path)
        scan = self.scan_at[path]
        # Summarise the note as this run leaves it, or the next run would see a new line.
        linked = self.linked_text.get(path)
        summary = note_summary(linked, scan.properties) if linked is not None else scan.summary
        line = "" if summary.casefold() == target.casefold() else summary
        return IndexEntry(target, None, line, target.casefold())

    def _paper_entry(self, key: str, *, dated: bool) -> IndexEntry:
        paper = self.resolution.papers.get(key)
        target = self.link_target(key)
        if paper is None:
            return IndexEntry(target, None, "metadata pending", f"~{key}")
        if dated:
            line = f"{paper.published_date.isoformat()} · {paper.title}"
            if paper.summary:
                line += f" — {first_sentence(paper.summary)}"
            sort_key = f"{paper.published.isoformat()} {key}"
        else:
            line = f"{paper.published.year} · {paper.title}"
            sort_key = citation_label(paper).casefold() + " " + key
        return IndexEntry(target, citation_label(paper), line, sort_key)

    def _write_index(self, kind: str, name: str, path: str, rendered: str) -> None:
        existing = self.index_notes.get((kind, name.casefold()))
        if not existing:
            self.plan.writes.append(
                Write(path, rendered, None, reason=f"{kind} index", kind="index")
            )
            return
        note = existing[0].note
        text = update_index_note(note.text, rendered)
        if text != note.text:
            write = Write(note.path, text, note.state, note.bom, f"{kind} index", kind="index")
            self.plan.writes.append(write)

    def write_linked_notes(self) -> None:
        for path, text in sorted(self.linked_text.items()):
            note = self.scan_at[path].note
            self.plan.writes.append(Write(path, text, note.state, note.bom, "links inserted"))


@dataclass
class _TagMembers:
    notes: set[str] = field(default_factory=set)  # user note paths
    papers: set[str] = field(default_factory=set)  # paper keys


@dataclass(frozen=True)
class _Relations:
    detected: RelatedPapers
    complete: list[str]  # keys of papers with metadata and a note
