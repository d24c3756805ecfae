"""What an incremental plan looks at: the papers, notes, tags and index notes that the notes
changed since the last complete plan can affect."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from vaultpapers.markdown.tags import tag_with_parents
from vaultpapers.notes.index_notes import SERIES_KIND, TAG_KIND
from vaultpapers.notes.paper_note import tool_tags
from vaultpapers.notes.related import PaperRelations, link_target
from vaultpapers.plan.context import PENDING, PlanContext
from vaultpapers.plan.placement import PaperNotes
from vaultpapers.relations.detect import RelatedPapers
from vaultpapers.relations.series import Series
from vaultpapers.scan.catalog import stem_of
from vaultpapers.scan.note import USER_KIND, NoteScan


@dataclass
class Scope:
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


def affected_by(
    ctx: PlanContext,
    notes: PaperNotes,
    related: RelatedPapers,
    dirty: Mapping[str, NoteScan | None] | None,
    previous: RelatedPapers | None,
) -> Scope | None:
    """What the `dirty` notes (each with its scan from the last complete plan, None if new)
    can change, given the relations found now and `previous`ly; None when everything must be
    planned: no basis to compare with, or a note name newly shared or freed."""
    if dirty is None or previous is None:
        return None
    scan_at = ctx.scan_at
    for path, before in dirty.items():
        now = scan_at.get(path)
        if (before is None) != (now is None) and ctx.names.count(stem_of(path).lower()) >= (
            2 if now is not None else 1
        ):
            return None  # a name now shared, or no longer: link targets change elsewhere
    scope = Scope()
    named: set[str] = set()  # papers the dirty notes' properties name, before or now
    for path, before in dirty.items():
        now = scan_at.get(path)
        scope.tags.update(_tags_touched(before, now))
        if before is not None and now is not None and before.kind == now.kind == USER_KIND:
            scope.listed[path] = before.summary
        for scan in (before, now):
            if scan is not None:
                _add_scan(scope, notes, scan, named)
        if path in scan_at:
            scope.notes.add(path)
    moved = (notes.note_path.keys() - notes.paper_notes.keys()) | notes.renames.keys()
    # A paper whose note may now be another (a note of its own made, the user's own note
    # on it come or gone): the papers related to it link to its note.
    for key in named | moved:
        scope.keys.update(_related_to(key, previous))
        scope.keys.update(_related_to(key, related))
    scope.keys |= moved
    scope.keys |= _relations_changed(previous, related)
    for key in moved:
        scope.notes.update(scan.note.path for scan in notes.citations.get(key, ()))
    _add_tags_and_series(ctx, notes, scope, (*previous.series, *related.series))
    # A pending stub is renamed when its metadata comes, which puts it in scope; the
    # user's own note is not: it is in scope until rendered with its metadata.
    for key, own in notes.adopted.items():
        rendered = ctx.previous_outputs.get(own.note.path)
        if rendered is None or (rendered[1].startswith(PENDING) and key in ctx.resolution.papers):
            scope.keys.add(key)
    return scope


def _add_scan(scope: Scope, notes: PaperNotes, scan: NoteScan, named: set[str]) -> None:
    """The papers and index notes one scan of a dirty note (before or now) touches."""
    scope.keys.update(scan.cited)
    scope.keys.update(notes.key_of_citekey[c] for c in scan.cites if c in notes.key_of_citekey)
    if scan.names_paper is not None:
        named.add(scan.names_paper)
    if scan.paper_key:
        scope.keys.add(scan.paper_key)
        # The user's word in `related` is mirrored on the papers it names.
        key_of_target = notes.key_of_target()
        said = PaperRelations.read(scan.paper_key, scan.properties, None)
        for entry in (*said.related, *said.unrelated):
            if (other := key_of_target.get(link_target(entry))) is not None:
                scope.keys.add(other)
    if scan.index_name is not None:
        scope.indexes.add((scan.kind, scan.index_name.casefold()))


def _add_tags_and_series(
    ctx: PlanContext, notes: PaperNotes, scope: Scope, series_found: Iterable[Series]
) -> None:
    """The tags the papers in scope carry, and the series they are in, before or now."""
    for key in scope.keys:
        existing = notes.paper_notes.get(key)
        scope.tags.update(existing[0].tags if existing else ())
        paper = ctx.resolution.papers.get(key)
        scope.tags.update(tool_tags(paper.categories if paper else (), ctx.settings))
    scope.touch(scope.tags)
    for series in series_found:
        if scope.keys & set(series.members):
            scope.indexes.add((SERIES_KIND, series.name.casefold()))


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
