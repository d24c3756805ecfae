"""Deciding what to write: from notes as scanned and the metadata we have, to a list of writes.

Pure: no file system, no network. The same inputs give the same plan on every machine, which
is what keeps two synced copies of a vault from writing different notes.
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from vaultpapers import __version__
from vaultpapers.arxiv.papers import Paper, Resolution
from vaultpapers.config import Settings
from vaultpapers.markdown.notelinks import linkable, why_unlinkable
from vaultpapers.markdown.properties import find_front_matter
from vaultpapers.markdown.tags import tag_with_parents
from vaultpapers.notes.citekeys import assign_citekeys, citekey_problem
from vaultpapers.notes.index_notes import (
    SERIES_KIND,
    TAG_KIND,
    IndexEntry,
    NestedTag,
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
from vaultpapers.notes.paper_note import (
    Mention,
    NoteError,
    PaperNoteContent,
    citation_label,
    paper_file_stem,
    render_new_paper_note,
    tool_tags,
    update_adopted_note,
    update_paper_note,
    without_sections,
)
from vaultpapers.notes.related import PaperRelations, RelatedList, link_target, plan_related
from vaultpapers.plan.links import insert, links_to_insert
from vaultpapers.relations.detect import RelatedPapers, relate
from vaultpapers.relations.series import NameFinding
from vaultpapers.scan.catalog import Catalog, stem_of
from vaultpapers.scan.note import UNUSABLE_CITEKEY, USER_KIND, NoteScan, Problem
from vaultpapers.vaultfs.files import Note
from vaultpapers.vaultfs.state import StatKey
from vaultpapers.vaultfs.writer import Write

__all__ = ["Plan", "Problem", "plan_link"]

T = TypeVar("T")


@dataclass
class Plan:
    writes: list[Write] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    cited: set[str] = field(default_factory=set)
    links_inserted: int = 0
    # Note -> the papers of the links inserted into it, one per link, in the note's order.
    links: dict[str, list[str]] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)  # key -> why
    # Generated notes brought up to date: path -> (its stat if unchanged, else None, digest of
    # what it was rendered from). The next run skips a note whose pair is the same.
    outputs: dict[str, tuple[StatKey | None, str]] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)  # notes changed mid-run: owed to the next run
    # Index notes (kind, folded name) to bring up to date that are left to the next run;
    # None: every one of them.
    deferred_indexes: frozenset[tuple[str, str]] | None = frozenset()
    # New notes' properties, as their front matter reads: scanning them after the write
    # needs no YAML parse.
    front_matter: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Paper key -> its citekey, for every paper with a note (or one planned) and metadata, or
    # whose note holds a citekey: what a bibliography lists.
    citekeys: dict[str, str] = field(default_factory=dict)

    @property
    def indexes_deferred(self) -> bool:
        return self.deferred_indexes is None or bool(self.deferred_indexes)


def plan_link(
    scans: Iterable[NoteScan] | Catalog,
    resolution: Resolution,
    settings: Settings,
    *,
    defer_links_in: Collection[str] = (),
    defer_papers: Collection[str] = (),
    load: Callable[[Note], Note | None] = lambda note: note,
    outputs: Mapping[str, tuple[StatKey, str]] | None = None,
    relations: Callable[[Iterable[Paper]], RelatedPapers] = relate,
    dirty: Mapping[str, NoteScan | None] | None = None,
    previous_related: RelatedPapers | None = None,
    defer_indexes: bool = False,
    owed_indexes: Collection[tuple[str, str]] | None = (),
    should_yield: Callable[[], bool] | None = None,
) -> Plan:
    """Every write that brings the vault up to date.

    Notes in `defer_links_in` (the one being typed in) get no inserted links this time; their
    references still count everywhere else. Papers in `defer_papers` (metadata on its way) get
    no new note yet, so a stub is not created only to be renamed a second later.

    Scans may come without text (unchanged since an earlier run): `load` reads a note's text
    when it is needed, or gives None if the note changed meanwhile. `outputs` is the previous
    plan's `outputs`: a generated note whose stat and inputs are the same is not re-rendered.
    `relations` finds related papers (the pipeline passes one that remembers its answer).

    `dirty` makes the plan incremental: the notes changed since the last complete plan, each
    with its scan from then (None if new). Only what those notes can affect is looked at: the
    papers they cite or cited, the tags they carry or carried, and whatever a change of
    relations (`previous_related` is the last answer) or of note names touches. When names
    collide or it cannot tell, it plans everything.

    `defer_indexes` leaves index notes to a follow-up run (`Plan.deferred_indexes`), which
    passes them back as `owed_indexes` (None: every one): a tag such as `arxiv/cs-LG` can
    list thousands of papers, and the watcher wants a new paper's own note first.

    A caller that plans again and again passes the scans as a `Catalog` it keeps up to date;
    the plan only reads it. Once `should_yield()` says so (the user is editing again), the index
    notes not planned yet are left to a later run, as deferred ones are.
    """
    planner = _Planner(
        scans if isinstance(scans, Catalog) else Catalog(scans),
        resolution,
        settings,
        load,
        outputs or {},
        relations,
    )
    planner.place_paper_notes(defer_papers)
    planner.assign_citekeys()
    defer_indexes = planner.place_index_notes(defer_indexes, should_yield)
    planner.scope = planner.affected_by(dirty, previous_related)
    planner.insert_links(defer_links_in)
    planner.write_paper_notes()
    planner.write_index_notes(defer_indexes, owed_indexes, should_yield)
    planner.write_linked_notes()
    planner.report_unlinkable()
    return planner.plan


class _LinkNames:
    """Wikilink targets as Obsidian resolves them: by file name, case-insensitively; the
    vault-relative path (without .md) where two notes share a name.

    `stems` counts the notes of the vault by lowercase name; the notes this plan adds are
    counted apart, leaving it as it was."""

    def __init__(self, stems: Mapping[str, int]) -> None:
        self.stems = stems
        self.added: dict[str, int] = defaultdict(int)
        self.targets: dict[str, str] = {}

    def add(self, path: str) -> None:
        self.added[stem_of(path).lower()] += 1
        self.targets.clear()

    def count(self, stem: str) -> int:
        """How many notes are named `stem` (lowercase)."""
        return self.stems.get(stem, 0) + self.added.get(stem, 0)

    def taken(self, stem: str) -> bool:
        return self.count(stem.lower()) > 0

    def target(self, path: str) -> str:
        if path not in self.targets:
            stem = stem_of(path)
            unique = self.count(stem.lower()) <= 1
            # A name no link reaches alone ('http:x [1]') may still be reached by its path.
            by_name = unique and linkable(stem)
            self.targets[path] = stem if by_name else path.removesuffix(".md")
        return self.targets[path]

    def free_path(self, folder: str, stem: str) -> str:
        candidate, number = stem, 1
        while self.taken(candidate):
            number += 1
            candidate = f"{stem} {number}"
        path = f"{folder.strip('/')}/{candidate}.md" if folder.strip("/") else f"{candidate}.md"
        self.add(path)
        return path


class _Planner:
    def __init__(
        self,
        catalog: Catalog,
        resolution: Resolution,
        settings: Settings,
        load: Callable[[Note], Note | None],
        outputs: Mapping[str, tuple[StatKey, str]],
        relations: Callable[[Iterable[Paper]], RelatedPapers],
    ):
        self.catalog = catalog
        self.resolution = resolution
        self.settings = settings
        self.load = load
        self.previous_outputs = outputs
        self.relate = relations
        self.settings_digest = _digest(settings.for_notes, __version__)
        self.labels = _Labels(resolution.papers)
        self.plan = Plan()
        self.names = _LinkNames(catalog.stems)
        self.index_notes = catalog.index_notes
        self.scan_at = catalog.scan_at
        self.plan.problems.extend(catalog.scan_problems())
        self.plan.cited = set(catalog.citations)
        self._report_duplicates()
        self.adopted = self._adopt()  # paper key -> the user's own note on it
        self.paper_notes = catalog.paper_notes
        self.citations = catalog.citations
        if self.adopted:
            self.paper_notes = {**catalog.paper_notes, **{k: [s] for k, s in self.adopted.items()}}
            self.citations = dict(catalog.citations)
            for key, own in self.adopted.items():  # a note does not mention itself
                others = [scan for scan in self.citations.get(key, ()) if scan is not own]
                if others:
                    self.citations[key] = others
                else:
                    self.citations.pop(key, None)
        self.note_path: dict[str, str] = {}  # paper key -> where its note is or will be
        self.renames: dict[str, str] = {}  # paper key -> the pending note it completes
        self.index_path: dict[tuple[str, str], str] = {}
        self.linked_text: dict[str, str] = {}
        self._summaries: dict[str, str] = {}  # path -> its line in index notes, once planned
        # A paper is listed under each of its tags (a parent tag counts it, lists it not).
        self._paper_entries: dict[tuple[str, bool], IndexEntry] = {}
        self._paper_states: dict[str, tuple[str, str, int | None]] = {}  # as index inputs
        self.tags: dict[str, _TagMembers] = {}
        self.nested_tags: dict[str, list[str]] = {}  # a tag -> its nested tags one level down
        self.related: _Relations | None = None
        self._key_of_target_map: Mapping[str, str] | None = None
        self.scope: _Scope | None = None
        self.key_of_citekey: dict[str, str] = {}
        self.note_citekeys: dict[str, str] = {}  # what each paper note shows (see assign_citekeys)

    def _report_duplicates(self) -> None:
        for what, claimants in self.catalog.claimed_twice():
            others = ", ".join(c.note.path for c in claimants[1:])
            self.plan.problems.append(
                Problem(
                    claimants[0].note.path,
                    None,
                    f"{len(claimants)} notes claim {what} (also {others}); using this one "
                    "and leaving the others untouched: merge them by hand",
                    "duplicate-claim",
                )
            )

    def _adopt(self) -> dict[str, NoteScan]:
        """The papers whose note is one of the user's own: the only note naming the paper in
        its properties, when vaultpapers keeps no note of its own for it. A paper note made
        before stays the paper's note (notes link to it); the user is told how to switch."""
        if self.settings.adopt_notes == "off":
            return {}
        adopted: dict[str, NoteScan] = {}
        for key, naming in sorted(self.catalog.naming.items()):
            if len(naming) > 1:
                continue  # which of them is the paper's note is the user's call, not ours
            own = naming[0]
            if not linkable(self.names.target(own.note.path)):
                continue  # no link could reach it: the paper gets a note of its own
            ours = self.catalog.paper_notes.get(key)
            if ours is None:
                adopted[key] = own
                continue
            self.plan.problems.append(
                Problem(
                    own.note.path,
                    None,
                    f"names arXiv {key} in its properties, but {ours[0].note.path} is that "
                    "paper's note: links go there. To make yours the paper's note, delete "
                    "that one (links to it stay as they are)",
                    "own-note-not-used",
                )
            )
        return adopted

    # -- where notes are -------------------------------------------------------------------

    def place_paper_notes(self, defer_papers: Collection[str]) -> None:
        """Decide every paper note's path before rendering, so links point at final names.
        A paper's note stays where it is, but a pending stub whose metadata came: it is
        completed under the paper's name. In key order, so that two machines name alike."""
        papers = self.resolution.papers
        not_found = self.resolution.not_found
        self.note_path = {key: notes[0].note.path for key, notes in self.paper_notes.items()}
        placed = [
            key
            for key, path in self.note_path.items()
            if "arXiv " in path
            and key not in self.adopted
            and stem_of(path) == paper_file_stem(key, None, "")
        ]
        placed += self.citations.keys() - self.paper_notes.keys()
        for key in sorted(placed):
            paper = papers.get(key)
            if key in self.paper_notes:
                if paper is not None:
                    self.renames[key] = self.note_path[key]
                    self.note_path[key] = self._new_paper_path(key, paper)
            elif key in not_found or (key in defer_papers and paper is None):
                continue
            else:
                self.note_path[key] = self._new_paper_path(key, paper)
        for key in sorted(not_found):
            paper = papers.get(key)
            if key in self.paper_notes:
                if paper is None:
                    self._report_not_found(key)
            elif key in self.citations and not (key in defer_papers and paper is None):
                self._report_not_found(key)

    def assign_citekeys(self) -> None:
        """Every paper note's citekey: the one it holds, or one made for it (`citekeys`); then
        the user's notes citing a paper by citekey in Pandoc's syntax count as citing it."""
        papers = self.resolution.papers
        kept: dict[str, str] = {}
        unusable: set[str] = set()  # notes holding a list or a mapping: reported by the scan
        for key, scans in self.paper_notes.items():
            if (citekey := scans[0].citekey) is not None and key in self.note_path:
                if citekey == UNUSABLE_CITEKEY:
                    unusable.add(key)
                else:
                    kept[key] = citekey
        with_notes = {
            key: papers[key] for key in self.note_path if key in papers and key not in unusable
        }
        citekeys, collisions = assign_citekeys(with_notes, kept, self.settings.citekey_pattern)
        # The note shows the citekey it holds, whatever it is; a bibliography lists only the
        # papers Pandoc can cite by theirs (a `.bib` entry `@misc{smith 2020,` breaks the file).
        self.note_citekeys = citekeys
        self.plan.citekeys = dict(citekeys)
        for key in sorted(kept):
            if (problem := citekey_problem(kept[key])) is not None:
                del self.plan.citekeys[key]
                self.plan.problems.append(
                    Problem(self.paper_notes[key][0].note.path, None, problem, "citekey-unusable")
                )
        for collision in collisions:
            notes = [self.paper_notes[key][0].note.path for key in collision.keys]
            for path in notes:
                others = ", ".join(other for other in notes if other != path)
                message = (
                    f"citekey {collision.citekey!r} is also the citekey of {others}; "
                    "vaultpapers changes neither: give one of them another citekey"
                )
                self.plan.problems.append(Problem(path, None, message, "citekey-collision"))
        self.key_of_citekey = {}
        for key in sorted(citekeys):
            self.key_of_citekey.setdefault(citekeys[key], key)
        citing = self.catalog.citing_citekey
        if not citing:
            return
        self.citations = dict(self.citations)
        for citekey, scans in citing.items():
            cited = self.key_of_citekey.get(citekey)
            if cited is None:
                continue
            own = self.paper_notes.get(cited, [None])[0]
            added = [scan for scan in scans if scan is not own]
            if not added:
                continue
            self.plan.cited.add(cited)
            merged = {scan.note.path: scan for scan in (*self.citations.get(cited, ()), *added)}
            self.citations[cited] = [merged[path] for path in sorted(merged)]

    def _new_paper_path(self, key: str, paper: Paper | None) -> str:
        stem = paper_file_stem(key, paper, self.settings.filename_pattern)
        return self.names.free_path(self.settings.papers_folder, stem)

    def _report_not_found(self, key: str) -> None:
        for scan in self.catalog.citations.get(key, ()):
            for ref in scan.references:
                if ref.arxiv_id.key == key:
                    message = f"arXiv has no paper {key}"
                    self.plan.problems.append(
                        Problem(scan.note.path, ref.line, message, "paper-not-found")
                    )

    def place_index_notes(
        self, defer: bool = False, should_yield: Callable[[], bool] | None = None
    ) -> bool:
        """Where each index note is; returns whether the index notes are deferred (asked to,
        or the user is editing again while their tags were being collected)."""
        tags = None if defer else self._collect_tags(should_yield)
        defer = tags is None
        self.tags = tags or {}
        self.related = self._detect_relations()
        self.labels.names = self.related.detected.names
        wanted = [(TAG_KIND, tag) for tag in self.tags if self.settings.index_tags.indexes(tag)]
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
        return defer

    def _collect_tags(
        self, should_yield: Callable[[], bool] | None
    ) -> dict[str, _TagMembers] | None:
        """Every tag in use, nested ones implying their parents, folded case-insensitively;
        an existing index note's spelling wins, else the first spelling in path order. Each
        tag's members are the notes and papers carrying it; its nested tags are linked to it
        (`_TagMembers.nested`), and `self.nested_tags` names them. Empty when no tag is
        indexed (`index_tags: false`). None if `should_yield()` said so meanwhile: the user is
        editing again."""
        if self.settings.index_tags.off:
            return {}
        spelling: dict[str, str] = {}
        for (kind, folded), scans in self.index_notes.items():
            if kind == TAG_KIND and scans[0].index_name:
                spelling[folded] = scans[0].index_name
        members: dict[str, _TagMembers] = {}
        group_of: dict[str, _TagMembers] = {}  # a tag as spelled -> its group

        def group(tag: str) -> _TagMembers:
            """The tag's group; its parents' groups made too, each knowing its nested ones."""
            if tag not in group_of:
                parent: _TagMembers | None = None
                parent_name = ""
                for level in tag_with_parents(tag):
                    name = spelling.setdefault(level.casefold(), level)
                    found = members.get(name)
                    if found is None:
                        found = members[name] = _TagMembers()
                        if parent is not None:
                            parent.nested.append(found)
                            self.nested_tags.setdefault(parent_name, []).append(name)
                    parent, parent_name = found, name
                assert parent is not None
                group_of[tag] = parent
            return group_of[tag]

        if should_yield is not None and should_yield():
            return None
        # Each spelling where it first occurs (path, then place in the note's tags), so that
        # the first one in path order names the tag, as if every note were read in turn.
        scan_at = self.catalog.scan_at
        first = {tag: min(paths) for tag, paths in self.catalog.tagged.items()}
        for tag in sorted(first, key=lambda tag: (first[tag], scan_at[first[tag]].tags.index(tag))):
            group(tag).note_sources.append(self.catalog.tagged[tag])
        # A paper carries the tags its note will have after this run: the user's and ours.
        # Papers with the same tags are added together (thousands share a few categories).
        carrying: dict[tuple[str, ...], list[str]] = {}
        for key in self.note_path:
            paper = self.resolution.papers.get(key)
            existing = self.paper_notes.get(key)
            # The user's own note on a paper is listed under its tags as their note.
            tags = existing[0].tags if existing and key not in self.adopted else ()
            tags += tuple(tool_tags(paper.categories if paper else (), self.settings))
            carrying.setdefault(tags, []).append(key)
        carried_by: dict[str, list[str]] = {}
        for tags, keys in carrying.items():
            for tag in tags:
                carried_by.setdefault(tag, []).extend(keys)
        for tag, keys in carried_by.items():
            group(tag).paper_sources.append(keys)
        for nested in self.nested_tags.values():
            nested.sort(key=str.casefold)
        return dict(sorted(members.items(), key=lambda item: item[0].casefold()))

    def _detect_relations(self) -> _Relations:
        papers = self.resolution.papers
        complete = sorted(self.note_path.keys() & papers.keys())
        return _Relations(self.relate(papers[key] for key in complete), complete)

    # -- what a change can affect -----------------------------------------------------------

    def affected_by(
        self, dirty: Mapping[str, NoteScan | None] | None, previous: RelatedPapers | None
    ) -> _Scope | None:
        """What the dirty notes can change, or None when everything must be planned."""
        assert self.related is not None
        if dirty is None or previous is None:
            return None
        for path, before in dirty.items():
            now = self.scan_at.get(path)
            if (before is None) != (now is None) and self.names.count(stem_of(path).lower()) >= (
                2 if now is not None else 1
            ):
                return None  # a name now shared, or no longer: link targets change elsewhere
        scope = _Scope()
        key_of_target = self._key_of_target()
        named: set[str] = set()  # papers the dirty notes' properties name, before or now
        for path, before in dirty.items():
            now = self.scan_at.get(path)
            scope.tags.update(_tags_touched(before, now))
            if before is not None and now is not None and before.kind == now.kind == USER_KIND:
                scope.listed[path] = before.summary
            for scan in (before, now):
                if scan is None:
                    continue
                scope.keys.update(scan.cited)
                scope.keys.update(
                    self.key_of_citekey[c] for c in scan.cites if c in self.key_of_citekey
                )
                if scan.names_paper is not None:
                    named.add(scan.names_paper)
                if scan.paper_key:
                    scope.keys.add(scan.paper_key)
                    # The user's word in `related` is mirrored on the papers it names.
                    said = PaperRelations.read(scan.paper_key, scan.properties, None)
                    for entry in (*said.related, *said.unrelated):
                        if (other := key_of_target.get(link_target(entry))) is not None:
                            scope.keys.add(other)
                if scan.index_name is not None:
                    scope.indexes.add((scan.kind, scan.index_name.casefold()))
            if path in self.scan_at:
                scope.notes.add(path)
        moved = (self.note_path.keys() - self.paper_notes.keys()) | self.renames.keys()
        # A paper whose note may now be another (a note of its own made, the user's own note
        # on it come or gone): the papers related to it link to its note.
        for key in named | moved:
            scope.keys.update(_related_to(key, previous))
            scope.keys.update(_related_to(key, self.related.detected))
        scope.keys |= moved
        scope.keys |= _relations_changed(previous, self.related.detected)
        for key in moved:
            scope.notes.update(scan.note.path for scan in self.citations.get(key, ()))
        for key in scope.keys:
            existing = self.paper_notes.get(key)
            scope.tags.update(existing[0].tags if existing else ())
            paper = self.resolution.papers.get(key)
            scope.tags.update(tool_tags(paper.categories if paper else (), self.settings))
        scope.touch(scope.tags)
        for series in (*previous.series, *self.related.detected.series):
            if scope.keys & set(series.members):
                scope.indexes.add((SERIES_KIND, series.name.casefold()))
        # A pending stub is renamed when its metadata comes, which puts it in scope; the
        # user's own note is not: it is in scope until rendered with its metadata.
        for key, own in self.adopted.items():
            rendered = self.previous_outputs.get(own.note.path)
            if rendered is None or (
                rendered[1].startswith(_PENDING) and key in self.resolution.papers
            ):
                scope.keys.add(key)
        return scope

    # -- what the notes say ----------------------------------------------------------------

    def _text_of(self, scan: NoteScan) -> Note | None:
        """The note with its text, read now if the scan came without it."""
        if scan.note.text is not None:
            return scan.note
        note = self.load(scan.note)
        if note is None:
            message = "changed while vaultpapers was running; left for the next run"
            self.plan.problems.append(Problem(scan.note.path, None, message, "changed-during-run"))
            self.plan.skipped.add(scan.note.path)
        return note

    def _unchanged_output(self, scan: NoteScan, inputs: str) -> bool:
        """Whether a generated note is as we left it, from the same inputs: nothing to do."""
        if scan.note.path in self.linked_text:
            return False
        previous = self.previous_outputs.get(scan.note.path)
        if previous == (scan.note.stat, inputs):
            self.plan.outputs[scan.note.path] = previous
            return True
        return False

    def link_target(self, key: str) -> str:
        return self.names.target(self.note_path[key])

    def insert_links(self, defer_links_in: Collection[str]) -> None:
        if self.settings.inline_links == "off":
            return
        if self.scope is None:
            considered = self.catalog.in_path_order()
        else:
            considered = [self.scan_at[p] for p in sorted(self.scope.notes) if p in self.scan_at]
        candidates = [
            scan for scan in considered if scan.cited and scan.note.path not in defer_links_in
        ]
        if not candidates:
            return
        targets = _Lazy(self.note_path, self.link_target)
        known = _Lazy(self.note_path, self._names_of_paper_note)
        for scan in candidates:
            insertions = self._guarded(
                scan.note.path,
                functools.partial(
                    links_to_insert,
                    scan,
                    self.resolution.papers,
                    targets,
                    known,
                    mode=self.settings.inline_links,
                    label=self.settings.link_label,
                    own=scan.names_paper if scan.names_paper in self.adopted else None,
                ),
            )
            note = self._text_of(scan) if insertions else None
            if insertions and note is not None and note.text is not None:
                self.linked_text[scan.note.path] = insert(note.text, insertions)
                self.plan.links_inserted += len(insertions)
                self.plan.links[scan.note.path] = [i.key for i in sorted(insertions)]
                path = scan.note.path
                if self.scope is not None and self._summary(path) != self.scope.listed.get(path):
                    # Its line in its tags' indexes is taken from the text with the links.
                    self.scope.touch(scan.tags)

    def write_paper_notes(self) -> None:
        assert self.related is not None
        lists = self._related_lists()
        series_of = {m: s.name for s in self.related.detected.series for m in s.members}
        resolution = self.resolution
        for key in sorted(self.note_path.keys() - resolution.papers.keys()):
            if key not in resolution.not_found:
                reason = resolution.pending.get(key, "metadata not available yet")
                self.plan.pending[key] = reason
        in_scope = self.note_path.keys() if self.scope is None else self.scope.keys
        for key in sorted(in_scope & self.note_path.keys()):
            paper = resolution.papers.get(key)
            series = series_of.get(key)
            series_path = self.index_path.get((SERIES_KIND, series)) if series else None
            content = PaperNoteContent(
                key,
                paper,
                self._mentions(key),
                lists.get(key),
                series,
                self.names.target(series_path) if series_path else None,
                self.note_citekeys.get(key),
            )
            inputs = _digest(_content_inputs(content), self.settings_digest)
            if key in self.adopted:
                own = self.adopted[key]
                if paper is None:
                    inputs = _PENDING + inputs  # `affected_by` looks again once metadata came
                if self._unchanged_output(own, inputs):
                    continue
                if self.scope is not None:  # e.g. its metadata came: it joins its categories
                    self.scope.touch(tool_tags(paper.categories if paper else (), self.settings))
                if self.settings.adopt_notes == "insert":
                    update = functools.partial(self._update_adopted, own, content, inputs)
                    self._guarded(own.note.path, update)
                else:
                    self.plan.outputs[own.note.path] = (own.note.stat, inputs)
                continue
            if key in self.paper_notes:
                scan = self.paper_notes[key][0]
                if key not in self.renames and self._unchanged_output(scan, inputs):
                    continue
                self._guarded(
                    scan.note.path,
                    functools.partial(self._update_paper_note, key, content, inputs),
                )
                continue
            rendered = self._guarded(
                self.note_path[key],
                functools.partial(render_new_paper_note, content, self.settings),
            )
            if rendered is not None:
                text, properties = rendered
                write = Write(self.note_path[key], text, None, reason="new note", kind="paper")
                self.plan.writes.append(write)
                self.plan.outputs[write.path] = (None, inputs)
                self.plan.front_matter[write.path] = properties

    def _mentions(self, key: str) -> list[Mention]:
        citing = {
            Mention(self.names.target(scan.note.path))
            for scan in self.citations.get(key, ())
            if scan.note.path != self.renames.get(key)
        }
        return sorted(citing, key=lambda m: (m.link.lower(), m.link))

    def _names_of_paper_note(self, key: str) -> set[str]:
        """Every lowercase name a paper's note goes by: a link to any of them is a link to it."""
        names = {self.link_target(key).lower()}
        for scan in self.paper_notes.get(key, ()):
            names |= {scan.note.path.removesuffix(".md").lower(), scan.note.stem.lower()}
        return names

    def _key_of_target(self) -> Mapping[str, str]:
        """Lowercase link target (file name, path, or a paper note's name before a rename)
        -> the paper key, to read which papers the user's links name. Worked out on first
        use: most plans read no link of the user's."""
        if self._key_of_target_map is None:
            self._key_of_target_map = _OnFirstUse(self._keys_of_targets)
        return self._key_of_target_map

    def _keys_of_targets(self) -> dict[str, str]:
        key_of_target: dict[str, str] = {}
        for key, path in sorted(self.note_path.items()):  # a name two papers share: the later
            key_of_target[stem_of(path).lower()] = key
            key_of_target[path.removesuffix(".md").lower()] = key
        for key, scans in sorted(self.paper_notes.items()):
            key_of_target.setdefault(scans[0].note.stem.lower(), key)
        return key_of_target

    def _related_lists(self) -> Mapping[str, RelatedList]:
        assert self.related is not None
        link_of = _Lazy(frozenset(self.related.complete), self.link_target)
        key_of_target = self._key_of_target()
        previous = _Lazy(self.paper_notes, lambda key: self.paper_notes[key][0].said)
        only = self.scope.keys if self.scope is not None else None
        speaking = set()
        for path in self.catalog.speaking:
            key = self.scan_at[path].paper_key
            if key is not None and self.paper_notes[key][0].note.path == path:
                speaking.add(key)
        return plan_related(
            self.related.detected, previous, link_of, key_of_target, self.labels, only, speaking
        )

    def _update_paper_note(self, key: str, content: PaperNoteContent, inputs: str) -> None:
        note = self._text_of(self.paper_notes[key][0])
        if note is None or note.text is None:
            return
        base = self.linked_text.pop(note.path, note.text)
        try:
            text = update_paper_note(base, content, self.settings)
        except NoteError as exc:
            message = f"paper note left unchanged: {exc}"
            problem = Problem(note.path, None, message, "paper-note-unchanged")
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
            self.plan.outputs[self.note_path[key]] = (None, inputs)
        elif text != note.text:
            write = Write(note.path, text, note.state, note.bom, "paper note", kind="paper")
            self.plan.writes.append(write)
            self.plan.outputs[note.path] = (None, inputs)
        else:
            self.plan.outputs[note.path] = (note.stat, inputs)

    def _update_adopted(self, own: NoteScan, content: PaperNoteContent, inputs: str) -> None:
        note = self._text_of(own)
        if note is None or note.text is None:
            return
        base = self.linked_text.pop(note.path, note.text)
        try:
            text = update_adopted_note(base, content)
        except NoteError as exc:
            self.linked_text[note.path] = base  # its links still go in, as into any note
            if not own.problems:  # unreadable front matter is reported by the scan already
                message = f"your paper note left unchanged: {exc}"
                problem = Problem(note.path, None, message, "own-note-unchanged")
                self.plan.problems.append(problem)
            self.plan.outputs[note.path] = (note.stat, inputs)  # tried again once it changes
            return
        if text != note.text:
            # Not a "paper" write: the note exists whatever becomes of this write, so links to
            # it need not wait for it.
            write = Write(note.path, text, note.state, note.bom, "your paper note", kind="own")
            self.plan.writes.append(write)
            self.plan.outputs[note.path] = (None, inputs)
            # Its line in index notes is read from the note as this run leaves it: a title
            # we inserted is that line from now on.
            front = find_front_matter(text)
            summary = note_summary(
                without_sections(text), front.data if front and front.data else {}
            )
            if summary != self._summary(note.path) and self.scope is not None:
                self.scope.touch(own.tags)
            self._summaries[note.path] = summary
        else:
            self.plan.outputs[note.path] = (note.stat, inputs)

    def write_index_notes(
        self,
        defer: bool = False,
        owed: Collection[tuple[str, str]] | None = (),
        should_yield: Callable[[], bool] | None = None,
    ) -> None:
        assert self.related is not None
        dataview = self.settings.index_dataview
        in_scope = None if self.scope is None or owed is None else self.scope.indexes | set(owed)
        if defer:
            self.plan.deferred_indexes = None if in_scope is None else frozenset(in_scope)
            return
        wanted = {(kind, name.casefold()) for kind, name in self.index_path}
        todo = [
            (kind, name, path)
            for (kind, name), path in sorted(self.index_path.items())
            if in_scope is None or (kind, name.casefold()) in in_scope
        ]
        for done, (kind, name, path) in enumerate(todo):
            if should_yield is not None and should_yield():
                # The user is editing again: the rest is owed to a later run.
                stale = {i for i in self.index_notes if i not in wanted}
                left = {(k, n.casefold()) for k, n, _ in todo[done:]}
                left |= stale if in_scope is None else stale & in_scope
                self.plan.deferred_indexes = frozenset(left)
                return
            self._guarded(path, functools.partial(self._index_note, kind, name, path, dataview))
        for identity, scans in sorted(self.index_notes.items()):
            if identity in wanted or (in_scope is not None and identity not in in_scope):
                continue
            note = self._text_of(scans[0])
            if (
                note is not None
                and note.text is not None
                and not user_wrote_in(note.text, identity[0])
            ):
                self.plan.writes.append(
                    Write(
                        note.path, "", note.state, note.bom, "index no longer needed", delete=True
                    )
                )

    def _index_note(self, kind: str, name: str, path: str, dataview: bool) -> None:
        assert self.related is not None
        inputs = _digest(repr(self._index_inputs(kind, name)), self.settings_digest)
        existing = self.index_notes.get((kind, name.casefold()))
        if existing and self._unchanged_output(existing[0], inputs):
            return
        if kind == TAG_KIND:
            rendered = render_tag_index(self._tag_index(name), dataview=dataview)
        else:
            series = next(s for s in self.related.detected.series if s.name == name)
            members = [self._paper_entry(key, dated=True) for key in series.members]
            rendered = render_series_index(SeriesIndex(name, members), dataview=dataview)
        self._write_index(kind, name, path, rendered, inputs)

    def _index_inputs(self, kind: str, name: str) -> tuple[Any, ...]:
        """Everything an index note is rendered from, cheaper to compare than to render."""
        assert self.related is not None
        papers = self.resolution.papers

        def paper_state(key: str) -> tuple[str, str, int | None]:
            state = self._paper_states.get(key)
            if state is None:
                paper = papers.get(key)
                state = key, self.link_target(key), paper.version if paper else None
                self._paper_states[key] = state
            return state

        if kind == SERIES_KIND:
            series = next(s for s in self.related.detected.series if s.name == name)
            return kind, name, [paper_state(key) for key in series.members]
        group = self.tags[name]
        notes = sorted((self.names.target(p), self._summary(p)) for p in group.notes)
        papers_listed = [paper_state(k) for k in sorted(group.papers)]
        return kind, name, notes, papers_listed, self._nested_tags(name), group.total

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
                    "plan-failed",
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
        return TagIndex(tag, notes, papers, self._nested_tags(tag), group.total)

    def _nested_tags(self, tag: str) -> list[NestedTag]:
        """The tags one level below `tag`, as its index lists them: each with how many notes
        and papers it covers, and a link to its index if it has one."""
        listed = []
        for child in self.nested_tags.get(tag, ()):
            path = self.index_path.get((TAG_KIND, child))
            notes, papers = self.tags[child].total
            listed.append(
                NestedTag(child, self.names.target(path) if path else None, notes, papers)
            )
        return listed

    def _summary(self, path: str) -> str:
        # Summarise the note as this run leaves it, or the next run would see a new line.
        # Asked for once the links are planned, and again by every index note it is listed in.
        summary = self._summaries.get(path)
        if summary is None:
            scan = self.scan_at[path]
            linked = self.linked_text.get(path)
            summary = note_summary(linked, scan.properties) if linked is not None else scan.summary
            self._summaries[path] = summary
        return summary

    def _note_entry(self, path: str) -> IndexEntry:
        target = self.names.target(path)
        summary = self._summary(path)
        line = "" if summary.casefold() == target.casefold() else summary
        return IndexEntry(target, None, line, target.casefold())

    def _paper_entry(self, key: str, *, dated: bool) -> IndexEntry:
        entry = self._paper_entries.get((key, dated))
        if entry is None:
            entry = self._paper_entries[(key, dated)] = self._new_paper_entry(key, dated)
        return entry

    def _new_paper_entry(self, key: str, dated: bool) -> IndexEntry:
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
            sort_key = self.labels[key].casefold() + " " + key
        return IndexEntry(target, self.labels[key], line, sort_key)

    def _write_index(self, kind: str, name: str, path: str, rendered: str, inputs: str) -> None:
        existing = self.index_notes.get((kind, name.casefold()))
        if not existing:
            self.plan.writes.append(
                Write(path, rendered, None, reason=f"{kind} index", kind="index")
            )
            self.plan.outputs[path] = (None, inputs)
            return
        note = self._text_of(existing[0])
        if note is None or note.text is None:
            return
        text = update_index_note(note.text, rendered)
        if text != note.text:
            write = Write(note.path, text, note.state, note.bom, f"{kind} index", kind="index")
            self.plan.writes.append(write)
            self.plan.outputs[note.path] = (None, inputs)
        else:
            self.plan.outputs[note.path] = (note.stat, inputs)

    def report_unlinkable(self) -> None:
        """The notes this plan links to that no Obsidian link can reach: they are listed by
        name only, and the user is asked to rename them."""
        for path, target in sorted(self.names.targets.items()):
            if not linkable(target) and (why := why_unlinkable(target)) is not None:
                message = f"no link can point to this note: {why}; it is listed by name: rename it"
                self.plan.problems.append(Problem(path, None, message, "unlinkable-name"))

    def write_linked_notes(self) -> None:
        for path, text in sorted(self.linked_text.items()):
            note = self.scan_at[path].note
            self.plan.writes.append(Write(path, text, note.state, note.bom, "links inserted"))


class _OnFirstUse(Mapping[str, T]):
    """A mapping built by `build` the first time it is read."""

    def __init__(self, build: Callable[[], dict[str, T]]) -> None:
        self.build = build
        self.built: dict[str, T] | None = None

    def _mapping(self) -> dict[str, T]:
        if self.built is None:
            self.built = self.build()
        return self.built

    def __getitem__(self, key: str) -> T:
        return self._mapping()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())


class _Lazy(Mapping[str, T]):
    """A mapping over `keys` whose values are worked out as they are asked for: a plan
    that looks at a few papers needs a few of them, not the whole library's."""

    def __init__(self, domain: Collection[str], value: Callable[[str], T]) -> None:
        self.domain = domain
        self.value = value
        self.known: dict[str, T] = {}

    def __getitem__(self, key: str) -> T:
        if key not in self.known:
            if key not in self.domain:
                raise KeyError(key)
            self.known[key] = self.value(key)
        return self.known[key]

    def __contains__(self, key: object) -> bool:
        return key in self.domain

    def __iter__(self) -> Iterator[str]:
        return iter(self.domain)

    def __len__(self) -> int:
        return len(self.domain)


@dataclass
class _TagMembers:
    """The user notes (paths) and papers (keys) carrying a tag itself, and the groups of its
    nested tags one level down. Gathered as the collections they come from and joined only
    when read: a run reads those of the few index notes it renders."""

    note_sources: list[Collection[str]] = field(default_factory=list)
    paper_sources: list[Collection[str]] = field(default_factory=list)
    nested: list[_TagMembers] = field(default_factory=list)

    @cached_property
    def notes(self) -> set[str]:
        return set().union(*self.note_sources)

    @cached_property
    def papers(self) -> set[str]:
        return set().union(*self.paper_sources)

    @cached_property
    def covered(self) -> tuple[set[str], set[str]]:
        """Notes and papers carrying the tag or one of its nested tags (each once)."""
        if not self.nested:
            return self.notes, self.papers
        below = [group.covered for group in self.nested]
        notes = self.notes.union(*(notes for notes, _ in below))
        return notes, self.papers.union(*(papers for _, papers in below))

    @property
    def total(self) -> tuple[int, int]:
        notes, papers = self.covered
        return len(notes), len(papers)


@dataclass(frozen=True)
class _Relations:
    detected: RelatedPapers
    complete: list[str]  # keys of papers with metadata and a note


_PENDING = "pending:"


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x00".join(parts).encode("utf-8"), digest_size=16).hexdigest()


class _Labels(dict[str, str]):
    """Citation labels, worked out only for the papers actually shown (it costs a title parse)."""

    def __init__(self, papers: Mapping[str, Paper]) -> None:
        super().__init__()
        self.papers = papers
        self.names: Mapping[str, NameFinding] = {}  # found already, while relating papers

    def __missing__(self, key: str) -> str:
        label = self[key] = citation_label(self.papers[key], self.names.get(key))
        return label

    def __contains__(self, key: object) -> bool:
        return key in self.papers

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self[key] if key in self.papers else default


def _content_inputs(content: PaperNoteContent) -> str:
    # What of a paper's metadata can change without a new version (a refresh brings a
    # `journal_ref`, a DOI, a corrected title); the abstract and authors come with versions.
    paper = content.paper
    metadata = (
        (paper.version, paper.updated, paper.title, paper.doi, paper.journal_ref, paper.comment)
        if paper
        else None
    )
    rest = (content.mentions, content.related, content.series, content.series_link)
    return repr((content.key, metadata, rest, content.citekey))


@dataclass
class _Scope:
    """What an incremental plan looks at."""

    keys: set[str] = field(default_factory=set)  # papers whose notes may change
    notes: set[str] = field(default_factory=set)  # notes that may need links
    tags: set[str] = field(default_factory=set)
    indexes: set[tuple[str, str]] = field(default_factory=set)  # (kind, casefolded name)
    listed: dict[str, str] = field(default_factory=dict)  # user note -> its line, as listed

    def touch(self, tags: Iterable[str]) -> None:
        """The index notes of these tags and of their parents are looked at."""
        for tag in tags:
            for level in tag_with_parents(tag):
                self.indexes.add((TAG_KIND, level.casefold()))


def _tags_touched(before: NoteScan | None, now: NoteScan | None) -> set[str]:
    """The tags whose index notes a change of one note can alter. A note of the user's that
    keeps its line (the summary) is listed as before under every tag it keeps: only the tags
    it gained or lost are touched. (If inserting links changes its line, `insert_links` adds
    the rest.)"""
    if before is None or now is None or before.kind != USER_KIND or now.kind != USER_KIND:
        return {*(before.tags if before else ()), *(now.tags if now else ())}
    if before.summary != now.summary:
        return {*before.tags, *now.tags}
    return set(before.tags) ^ set(now.tags)


def _related_to(key: str, related: RelatedPapers) -> set[str]:
    """The papers listing `key` among their related papers or series."""
    found = {relation.target for relation in related.relations_of(key)}
    series = related.series_of(key)
    return found | set(series.members) if series is not None else found


def _relations_changed(before: RelatedPapers, after: RelatedPapers) -> set[str]:
    """Papers whose related list or series differs between two answers of `relate`."""
    if before is after:
        return set()

    def by_paper(related: RelatedPapers) -> dict[str, set[tuple[str, ...]]]:
        found: dict[str, set[tuple[str, ...]]] = defaultdict(set)
        for relation in related.relations:
            found[relation.source].add((relation.target, relation.kind, relation.reason))
        for series in related.series:
            for member in series.members:
                found[member].add(("series", series.name, *series.members))
        return found

    old, new = by_paper(before), by_paper(after)
    return {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
