"""The links vaultpapers inserts into notes, right after each arXiv reference."""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

from vaultpapers.arxiv.ids import parse_arxiv_id
from vaultpapers.arxiv.papers import Paper
from vaultpapers.markdown.notelinks import linkable, note_link, why_unlinkable
from vaultpapers.markdown.spans import link_label
from vaultpapers.model import Write, with_insertions
from vaultpapers.notes.index_notes import note_summary
from vaultpapers.notes.paper_note import citation_label
from vaultpapers.plan.context import PlanContext
from vaultpapers.plan.lazy import Lazy
from vaultpapers.plan.placement import PaperNotes
from vaultpapers.plan.scope import Scope
from vaultpapers.scan.note import NoteScan


class Insertion(NamedTuple):
    """A link to insert: where, its text, and the paper it links (what a run reports)."""

    offset: int
    link: str
    key: str


def insert_links(
    ctx: PlanContext, notes: PaperNotes, scope: Scope | None, defer_links_in: Collection[str]
) -> None:
    """Links after the references of every note in scope but those in `defer_links_in`, kept
    in `ctx.linked` (a paper note gets its sections there too)."""
    settings = ctx.settings
    if settings.inline_links == "off":
        return
    if scope is None:
        considered = ctx.catalog.in_path_order()
    else:
        considered = [ctx.scan_at[p] for p in sorted(scope.notes) if p in ctx.scan_at]
    candidates = [
        scan for scan in considered if scan.cited and scan.note.path not in defer_links_in
    ]
    if not candidates:
        return
    targets = Lazy(notes.note_path, notes.link_target)
    known = Lazy(notes.note_path, notes.names_of_paper_note)
    for scan in candidates:
        path = scan.note.path
        insertions = ctx.guarded(
            path,
            functools.partial(
                links_to_insert,
                scan,
                ctx.resolution.papers,
                targets,
                known,
                mode=settings.inline_links,
                label=settings.link_label,
                own=scan.names_paper if scan.names_paper in notes.adopted else None,
            ),
        )
        note = ctx.text_of(scan) if insertions else None
        if insertions and note is not None and note.text is not None:
            # The text with links is not kept (the writer builds it again from the file),
            # only its line in index notes.
            linked = tuple(sorted((at, link) for at, link, _ in insertions))
            ctx.linked[path] = linked
            ctx.summaries[path] = note_summary(with_insertions(note.text, linked), scan.properties)
            ctx.plan.links_inserted += len(insertions)
            ctx.plan.links[path] = [i.key for i in sorted(insertions)]
            after_titles = {ref.insert_at for ref in scan.references if ref.by_title}
            ctx.plan.title_links += sum(at in after_titles for at, _, _ in insertions)
            if scope is not None and ctx.summaries[path] != scope.listed.get(path):
                # Its line in its tags' indexes is taken from the text with the links.
                scope.touch(scan.tags)


def write_linked_notes(ctx: PlanContext) -> None:
    """The user's notes that got links (paper notes took theirs with their sections)."""
    for path, linked in sorted(ctx.linked.items()):
        note = ctx.scan_at[path].note
        write = Write(path, "", note.state, note.bom, "links inserted", insertions=linked)
        ctx.plan.writes.append(write)


def report_unlinkable(ctx: PlanContext) -> None:
    """The notes this plan links to that no Obsidian link can reach: they are listed by
    name only, and the user is asked to rename them."""
    for path, target in sorted(ctx.names.targets.items()):
        if not linkable(target) and (why := why_unlinkable(target)) is not None:
            message = f"no link can point to this note: {why}; it is listed by name: rename it"
            ctx.problem(path, message, "unlinkable-name")


def links_to_insert(
    scan: NoteScan,
    papers: Mapping[str, Paper],
    link_targets: Mapping[str, str],
    known_names: Mapping[str, Collection[str]],
    *,
    mode: str,
    label: str,
    own: str | None = None,
) -> list[Insertion]:
    """An `Insertion` (offset, link text, paper) for each reference to a paper with a complete
    note that has no link yet. Decided from the scan alone, so an unchanged note is not even read.

    One link per paper and line is enough: a line citing a paper twice (``arXiv:ID (2019)
    [[paper]](https://arxiv.org/abs/ID)``) gets it after the first reference that takes one,
    and none if a link to the paper already stands after any of them.

    `link_targets`: key -> the link target of its note (see `notelinks`). `known_names`: key ->
    every lowercase name its note goes by (file name, path), to see that a link is already there.
    Pending papers get no link: their note may still be renamed once its title is known.
    `own`: the paper whose note this is (the user's own note on it): no link to itself.
    """
    insertions: list[Insertion] = []
    linked_here: set[str] = set()
    rows = list(zip(scan.references, scan.links_after, strict=True))
    linked_lines = {
        (ref.arxiv_id.key, ref.line)
        for ref, links_after in rows
        if links_after
        and _already_linked(links_after, ref.arxiv_id.key, known_names.get(ref.arxiv_id.key, ()))
    }
    for ref, _ in rows:
        key = ref.arxiv_id.key
        paper = papers.get(key)
        if ref.insert_at is None or paper is None or key not in link_targets or key == own:
            continue
        if mode == "first" and key in linked_here:
            continue
        linked_here.add(key)
        if (key, ref.line) in linked_lines:
            continue
        target = link_targets[key]
        if not linkable(target):
            continue  # the planner reports the paper note to rename
        linked_lines.add((key, ref.line))
        link = note_link(target, label=_label(paper, key, label), in_table=ref.in_table)
        insertions.append(Insertion(ref.insert_at, f" {link}", key))
    return insertions


@lru_cache(maxsize=65536)
def _id_in_names(key: str) -> str:
    return parse_arxiv_id(key).filename_part.lower()


def _already_linked(links_after: Sequence[str], key: str, names: Collection[str]) -> bool:
    # Several references can share one insertion point (glued URLs): look at every link there.
    id_part = _id_in_names(key)
    for target in links_after:
        # '[[Note.md]]' names 'Note'; a Markdown link's target comes without its '.md' already.
        for name in {target.lower(), target.removesuffix(".md").lower()}:
            if name in names or name.rsplit("/", 1)[-1] in names or id_part in name:
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
    return link_label(label)
