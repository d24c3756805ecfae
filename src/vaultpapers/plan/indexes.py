"""Index notes: one per tag in use (as `index_tags` allows) and one per series of papers,
where each is, and what each lists."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from vaultpapers.arxiv.papers import Paper
from vaultpapers.model import Write
from vaultpapers.notes.index_notes import (
    SERIES_KIND,
    TAG_KIND,
    IndexEntry,
    NestedTag,
    SeriesIndex,
    TagIndex,
    first_sentence,
    index_file_stem,
    render_series_index,
    render_tag_index,
    update_index_note,
    user_wrote_in,
)
from vaultpapers.plan.context import PlanContext, digest
from vaultpapers.plan.placement import PaperNotes
from vaultpapers.plan.scope import Scope
from vaultpapers.plan.tags import Tags, collect_tags
from vaultpapers.relations.detect import RelatedPapers
from vaultpapers.relations.series import Series


@dataclass
class IndexNotes:
    """The index notes this plan keeps, with what they are made from."""

    tags: Tags
    related: RelatedPapers  # among `complete`
    complete: list[str]  # keys of papers with metadata and a note
    path: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, name) -> its note
    # Worked out once, however many index notes list a paper.
    paper_entries: dict[tuple[str, bool], IndexEntry] = field(default_factory=dict)
    paper_states: dict[str, tuple[str, str, int | None]] = field(default_factory=dict)

    def series(self, name: str) -> Series:
        return next(s for s in self.related.series if s.name == name)


def place_index_notes(
    ctx: PlanContext,
    notes: PaperNotes,
    relate: Callable[[Iterable[Paper]], RelatedPapers],
    defer: bool = False,
    should_yield: Callable[[], bool] | None = None,
) -> tuple[IndexNotes, bool]:
    """Where each index note is, with the relations between papers found by `relate`; and
    whether the index notes are deferred (asked to, or the user is editing again while
    their tags were being collected)."""
    tags = None if defer else collect_tags(ctx, notes, should_yield)
    papers = ctx.resolution.papers
    complete = sorted(notes.note_path.keys() & papers.keys())
    indexes = IndexNotes(tags or Tags(), relate(papers[key] for key in complete), complete)
    ctx.labels.names = indexes.related.names
    settings = ctx.settings
    wanted = [(TAG_KIND, tag) for tag in indexes.tags.members if settings.index_tags.indexes(tag)]
    wanted += [(SERIES_KIND, series.name) for series in indexes.related.series]
    folders = {TAG_KIND: settings.tag_index_folder, SERIES_KIND: settings.series_index_folder}
    for kind, name in wanted:
        existing = ctx.catalog.index_notes.get((kind, name.casefold()))
        if existing:
            indexes.path[(kind, name)] = existing[0].note.path
        else:
            stem = index_file_stem(kind, name)
            indexes.path[(kind, name)] = ctx.names.free_path(folders[kind], stem)
    return indexes, tags is None


def write_index_notes(
    ctx: PlanContext,
    notes: PaperNotes,
    indexes: IndexNotes,
    scope: Scope | None,
    defer: bool = False,
    owed: Collection[tuple[str, str]] | None = (),
    should_yield: Callable[[], bool] | None = None,
) -> None:
    """Every index note in scope (and every one `owed` by an earlier run; None: all) brought
    up to date, and those no longer needed deleted unless the user wrote in them. Deferred
    as a whole, or from the moment `should_yield()` says so: what is left is owed."""
    in_scope = None if scope is None or owed is None else scope.indexes | set(owed)
    if defer:
        ctx.plan.deferred_indexes = None if in_scope is None else frozenset(in_scope)
        return
    wanted = {(kind, name.casefold()) for kind, name in indexes.path}
    todo = [
        (kind, name, path)
        for (kind, name), path in sorted(indexes.path.items())
        if in_scope is None or (kind, name.casefold()) in in_scope
    ]
    index_notes = ctx.catalog.index_notes
    for done, (kind, name, path) in enumerate(todo):
        if should_yield is not None and should_yield():
            # The user is editing again: the rest is owed to a later run.
            stale = {i for i in index_notes if i not in wanted}
            left = {(k, n.casefold()) for k, n, _ in todo[done:]}
            left |= stale if in_scope is None else stale & in_scope
            ctx.plan.deferred_indexes = frozenset(left)
            return
        step = functools.partial(_index_note, ctx, notes, indexes, kind, name, path)
        ctx.guarded(path, step)
    for identity, scans in sorted(index_notes.items()):
        if identity in wanted or (in_scope is not None and identity not in in_scope):
            continue
        note = ctx.text_of(scans[0])
        if note is not None and note.text is not None and not user_wrote_in(note.text, identity[0]):
            ctx.plan.writes.append(
                Write(note.path, "", note.state, note.bom, "index no longer needed", delete=True)
            )


def _index_note(
    ctx: PlanContext, notes: PaperNotes, indexes: IndexNotes, kind: str, name: str, path: str
) -> None:
    inputs = digest(repr(_index_inputs(ctx, notes, indexes, kind, name)), ctx.settings_digest)
    existing = ctx.catalog.index_notes.get((kind, name.casefold()))
    if existing and ctx.unchanged_output(existing[0], inputs):
        return
    dataview = ctx.settings.index_dataview
    if kind == TAG_KIND:
        rendered = render_tag_index(_tag_index(ctx, notes, indexes, name), dataview=dataview)
    else:
        members = [
            _paper_entry(ctx, notes, indexes, key, dated=True)
            for key in indexes.series(name).members
        ]
        rendered = render_series_index(SeriesIndex(name, members), dataview=dataview)
    _write_index(ctx, kind, name, path, rendered, inputs)


def _index_inputs(
    ctx: PlanContext, notes: PaperNotes, indexes: IndexNotes, kind: str, name: str
) -> tuple[Any, ...]:
    """Everything an index note is rendered from, cheaper to compare than to render."""
    papers = ctx.resolution.papers

    def paper_state(key: str) -> tuple[str, str, int | None]:
        state = indexes.paper_states.get(key)
        if state is None:
            paper = papers.get(key)
            state = key, notes.link_target(key), paper.version if paper else None
            indexes.paper_states[key] = state
        return state

    if kind == SERIES_KIND:
        return kind, name, [paper_state(key) for key in indexes.series(name).members]
    group = indexes.tags.members[name]
    listed = sorted((ctx.names.target(p), ctx.summary(p)) for p in group.notes)
    papers_listed = [paper_state(k) for k in sorted(group.papers)]
    return kind, name, listed, papers_listed, _nested_tags(ctx, indexes, name), group.total


def _tag_index(ctx: PlanContext, notes: PaperNotes, indexes: IndexNotes, tag: str) -> TagIndex:
    group = indexes.tags.members[tag]
    listed = sorted((_note_entry(ctx, path) for path in group.notes), key=lambda e: e.sort_key)
    papers = sorted(
        (_paper_entry(ctx, notes, indexes, key, dated=False) for key in group.papers),
        key=lambda e: e.sort_key,
    )
    return TagIndex(tag, listed, papers, _nested_tags(ctx, indexes, tag), group.total)


def _nested_tags(ctx: PlanContext, indexes: IndexNotes, tag: str) -> list[NestedTag]:
    """The tags one level below `tag`, as its index lists them: each with how many notes
    and papers it covers, and a link to its index if it has one."""
    listed = []
    for child in indexes.tags.nested.get(tag, ()):
        path = indexes.path.get((TAG_KIND, child))
        notes, papers = indexes.tags.members[child].total
        listed.append(NestedTag(child, ctx.names.target(path) if path else None, notes, papers))
    return listed


def _note_entry(ctx: PlanContext, path: str) -> IndexEntry:
    target = ctx.names.target(path)
    summary = ctx.summary(path)
    line = "" if summary.casefold() == target.casefold() else summary
    return IndexEntry(target, None, line, target.casefold())


def _paper_entry(
    ctx: PlanContext, notes: PaperNotes, indexes: IndexNotes, key: str, *, dated: bool
) -> IndexEntry:
    entry = indexes.paper_entries.get((key, dated))
    if entry is None:
        entry = indexes.paper_entries[(key, dated)] = _new_paper_entry(ctx, notes, key, dated)
    return entry


def _new_paper_entry(ctx: PlanContext, notes: PaperNotes, key: str, dated: bool) -> IndexEntry:
    paper = ctx.resolution.papers.get(key)
    target = notes.link_target(key)
    if paper is None:
        return IndexEntry(target, None, "metadata pending", f"~{key}")
    if dated:
        line = f"{paper.published_date.isoformat()} · {paper.title}"
        if paper.summary:
            line += f" — {first_sentence(paper.summary)}"
        sort_key = f"{paper.published.isoformat()} {key}"
    else:
        line = f"{paper.published.year} · {paper.title}"
        sort_key = ctx.labels[key].casefold() + " " + key
    return IndexEntry(target, ctx.labels[key], line, sort_key)


def _write_index(
    ctx: PlanContext, kind: str, name: str, path: str, rendered: str, inputs: str
) -> None:
    existing = ctx.catalog.index_notes.get((kind, name.casefold()))
    if not existing:
        ctx.plan.writes.append(Write(path, rendered, None, reason=f"{kind} index", kind="index"))
        ctx.plan.outputs[path] = (None, inputs)
        return
    note = ctx.text_of(existing[0])
    if note is None or note.text is None:
        return
    text = update_index_note(note.text, rendered)
    if text != note.text:
        write = Write(note.path, text, note.state, note.bom, f"{kind} index", kind="index")
        ctx.plan.writes.append(write)
        ctx.plan.outputs[note.path] = (None, inputs)
    else:
        ctx.plan.outputs[note.path] = (note.stat, inputs)
