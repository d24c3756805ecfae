"""Paper notes brought up to date: new notes rendered, ours updated (a pending stub
completed and renamed), and the user's adopted notes given our properties and sections."""

from __future__ import annotations

import functools
from collections.abc import Mapping

from vaultpapers.markdown.properties import find_front_matter
from vaultpapers.model import Write
from vaultpapers.notes.index_notes import SERIES_KIND, note_summary
from vaultpapers.notes.paper_note import (
    Mention,
    NoteError,
    PaperNoteContent,
    render_new_paper_note,
    tool_tags,
    update_adopted_note,
    update_paper_note,
    without_sections,
)
from vaultpapers.notes.related import RelatedList, plan_related
from vaultpapers.plan.context import PENDING, PlanContext, digest
from vaultpapers.plan.indexes import IndexNotes
from vaultpapers.plan.lazy import Lazy
from vaultpapers.plan.placement import PaperNotes
from vaultpapers.plan.scope import Scope
from vaultpapers.scan.note import NoteScan


def write_paper_notes(
    ctx: PlanContext, notes: PaperNotes, indexes: IndexNotes, scope: Scope | None
) -> None:
    """Every paper note in scope: rendered anew, updated, or left alone when its inputs are
    those it was last rendered from; papers without metadata are reported pending."""
    lists = _related_lists(ctx, notes, indexes, scope)
    series_of = {m: s.name for s in indexes.related.series for m in s.members}
    resolution = ctx.resolution
    for key in sorted(notes.note_path.keys() - resolution.papers.keys()):
        if key not in resolution.not_found:
            reason = resolution.pending.get(key, "metadata not available yet")
            ctx.plan.pending[key] = reason
    in_scope = notes.note_path.keys() if scope is None else scope.keys
    for key in sorted(in_scope & notes.note_path.keys()):
        series = series_of.get(key)
        series_path = indexes.path.get((SERIES_KIND, series)) if series else None
        content = PaperNoteContent(
            key,
            resolution.papers.get(key),
            _mentions(notes, key),
            lists.get(key),
            series,
            ctx.names.target(series_path) if series_path else None,
            notes.note_citekeys.get(key),
        )
        inputs = digest(_content_inputs(content), ctx.settings_digest)
        if key in notes.adopted:
            _adopted_note(ctx, notes.adopted[key], content, inputs, scope)
        elif key in notes.paper_notes:
            scan = notes.paper_notes[key][0]
            if key in notes.renames or not ctx.unchanged_output(scan, inputs):
                update = functools.partial(_update_paper_note, ctx, notes, key, content, inputs)
                ctx.guarded(scan.note.path, update)
        else:
            _new_paper_note(ctx, notes.note_path[key], content, inputs)


def _new_paper_note(ctx: PlanContext, path: str, content: PaperNoteContent, inputs: str) -> None:
    # Rendered when written: a first run makes a note per paper its vault cites, and their
    # texts would all be held till the last is written.
    render = functools.partial(render_new_paper_note, content, ctx.settings)
    ctx.plan.writes.append(Write(path, "", None, reason="new note", kind="paper", render=render))
    ctx.plan.outputs[path] = (None, inputs)


def _adopted_note(
    ctx: PlanContext, own: NoteScan, content: PaperNoteContent, inputs: str, scope: Scope | None
) -> None:
    paper = content.paper
    if paper is None:
        inputs = PENDING + inputs  # `affected_by` looks again once metadata came
    if ctx.unchanged_output(own, inputs):
        return
    if scope is not None:  # e.g. its metadata came: it joins its categories
        scope.touch(tool_tags(paper.categories if paper else (), ctx.settings))
    if ctx.settings.adopt_notes == "insert":
        update = functools.partial(_update_adopted, ctx, own, content, inputs, scope)
        ctx.guarded(own.note.path, update)
    else:
        ctx.plan.outputs[own.note.path] = (own.note.stat, inputs)


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


def _mentions(notes: PaperNotes, key: str) -> list[Mention]:
    citing = {
        Mention(notes.names.target(scan.note.path))
        for scan in notes.citations.get(key, ())
        if scan.note.path != notes.renames.get(key)
    }
    return sorted(citing, key=lambda m: (m.link.lower(), m.link))


def _related_lists(
    ctx: PlanContext, notes: PaperNotes, indexes: IndexNotes, scope: Scope | None
) -> Mapping[str, RelatedList]:
    link_of = Lazy(frozenset(indexes.complete), notes.link_target)
    paper_notes = notes.paper_notes
    previous = Lazy(paper_notes, lambda key: paper_notes[key][0].said)
    only = scope.keys if scope is not None else None
    speaking = set()
    for path in ctx.catalog.speaking:
        key = ctx.scan_at[path].paper_key
        if key is not None and paper_notes[key][0].note.path == path:
            speaking.add(key)
    return plan_related(
        indexes.related, previous, link_of, notes.key_of_target(), ctx.labels, only, speaking
    )


def _update_paper_note(
    ctx: PlanContext, notes: PaperNotes, key: str, content: PaperNoteContent, inputs: str
) -> None:
    note = ctx.text_of(notes.paper_notes[key][0])
    if note is None or note.text is None:
        return
    base, _ = ctx.with_links(note)
    try:
        text = update_paper_note(base, content, ctx.settings)
    except NoteError as exc:
        ctx.problem(note.path, f"paper note left unchanged: {exc}", "paper-note-unchanged")
        return
    if key in notes.renames:
        new_path = notes.note_path[key]
        ctx.plan.writes.append(
            Write(
                new_path,
                text,
                None,
                note.bom,
                "paper note completed and renamed",
                replaces=note.path,
                replaces_state=note.state,
                kind="paper",
            )
        )
        ctx.plan.outputs[new_path] = (None, inputs)
    elif text != note.text:
        write = Write(note.path, text, note.state, note.bom, "paper note", kind="paper")
        ctx.plan.writes.append(write)
        ctx.plan.outputs[note.path] = (None, inputs)
    else:
        ctx.plan.outputs[note.path] = (note.stat, inputs)


def _update_adopted(
    ctx: PlanContext, own: NoteScan, content: PaperNoteContent, inputs: str, scope: Scope | None
) -> None:
    note = ctx.text_of(own)
    if note is None or note.text is None:
        return
    base, linked = ctx.with_links(note)
    try:
        text = update_adopted_note(base, content)
    except NoteError as exc:
        if linked:
            ctx.linked[note.path] = linked  # its links still go in, as into any note
        if not own.problems:  # unreadable front matter is reported by the scan already
            message = f"your paper note left unchanged: {exc}"
            ctx.problem(note.path, message, "own-note-unchanged")
        ctx.plan.outputs[note.path] = (note.stat, inputs)  # tried again once it changes
        return
    if text == note.text:
        ctx.plan.outputs[note.path] = (note.stat, inputs)
        return
    # Not a "paper" write: the note exists whatever becomes of this write, so links to
    # it need not wait for it.
    write = Write(note.path, text, note.state, note.bom, "your paper note", kind="own")
    ctx.plan.writes.append(write)
    ctx.plan.outputs[note.path] = (None, inputs)
    # Its line in index notes is read from the note as this run leaves it: a title
    # we inserted is that line from now on.
    front = find_front_matter(text)
    summary = note_summary(without_sections(text), front.data if front and front.data else {})
    if summary != ctx.summary(note.path) and scope is not None:
        scope.touch(own.tags)
    ctx.summaries[note.path] = summary
