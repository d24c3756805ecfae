"""Deciding what to write: from notes as scanned and the metadata we have, to a list of writes.

Pure: no file system, no network. The same inputs give the same plan on every machine, which
is what keeps two synced copies of a vault from writing different notes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from vaultpapers.arxiv.papers import Paper, Resolution
from vaultpapers.config import Settings
from vaultpapers.model import Note, Problem, StatKey, Write
from vaultpapers.plan.context import PlanContext
from vaultpapers.plan.indexes import place_index_notes, write_index_notes
from vaultpapers.plan.links import insert_links, report_unlinkable, write_linked_notes
from vaultpapers.plan.paper_notes import write_paper_notes
from vaultpapers.plan.placement import assign_paper_citekeys, place_paper_notes
from vaultpapers.plan.scope import affected_by
from vaultpapers.relations.detect import RelatedPapers, relate
from vaultpapers.scan.catalog import Catalog
from vaultpapers.scan.note import NoteScan

__all__ = ["Plan", "Problem", "plan_link"]


@dataclass
class Plan:
    writes: list[Write] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    cited: set[str] = field(default_factory=set)
    links_inserted: int = 0
    # Note -> the papers of the links inserted into it, one per link, in the note's order.
    links: dict[str, list[str]] = field(default_factory=dict)
    title_links: int = 0  # of `links_inserted`, those after a paper's title written in a note
    pending: dict[str, str] = field(default_factory=dict)  # key -> why
    # Generated notes brought up to date: path -> (its stat if unchanged, else None, digest of
    # what it was rendered from). The next run skips a note whose pair is the same.
    outputs: dict[str, tuple[StatKey | None, str]] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)  # notes changed mid-run: owed to the next run
    # Index notes (kind, folded name) to bring up to date that are left to the next run;
    # None: every one of them.
    deferred_indexes: frozenset[tuple[str, str]] | None = frozenset()
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
    read_text: Callable[[Note], Note | None] = lambda note: note,
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

    Scans may come without text (unchanged since an earlier run): `read_text` reads a note's text
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
    catalog = scans if isinstance(scans, Catalog) else Catalog(scans)
    ctx = PlanContext(catalog, resolution, settings, read_text, outputs or {}, Plan())
    ctx.plan.problems.extend(catalog.scan_problems())
    ctx.plan.cited = set(catalog.citations)
    notes = place_paper_notes(ctx, defer_papers)
    assign_paper_citekeys(ctx, notes)
    indexes, defer_indexes = place_index_notes(ctx, notes, relations, defer_indexes, should_yield)
    scope = affected_by(ctx, notes, indexes.related, dirty, previous_related)
    insert_links(ctx, notes, scope, defer_links_in)
    write_paper_notes(ctx, notes, indexes, scope)
    write_index_notes(ctx, notes, indexes, scope, defer_indexes, owed_indexes, should_yield)
    write_linked_notes(ctx)
    report_unlinkable(ctx)
    return ctx.plan
