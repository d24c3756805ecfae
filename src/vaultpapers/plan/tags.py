"""Which notes and papers carry each tag, as the tag index notes list them."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import cached_property

from vaultpapers.markdown.tags import tag_with_parents
from vaultpapers.notes.index_notes import TAG_KIND
from vaultpapers.notes.paper_note import tool_tags
from vaultpapers.plan.context import PlanContext
from vaultpapers.plan.placement import PaperNotes


@dataclass
class TagMembers:
    """The user notes (paths) and papers (keys) carrying a tag itself, and the groups of its
    nested tags one level down. Gathered as the collections they come from and joined only
    when read: a run reads those of the few index notes it renders."""

    note_sources: list[Collection[str]] = field(default_factory=list)
    paper_sources: list[Collection[str]] = field(default_factory=list)
    nested: list[TagMembers] = field(default_factory=list)

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


@dataclass
class Tags:
    """Every tag in use, by its spelling, with its members; and each tag's nested tags one
    level down, by spelling, sorted case-insensitively."""

    members: dict[str, TagMembers] = field(default_factory=dict)
    nested: dict[str, list[str]] = field(default_factory=dict)


class _Grouping:
    """Tags as they are met, each put in its group; a nested tag's parents made too."""

    def __init__(self, spelling: dict[str, str]) -> None:
        self.spelling = spelling  # folded tag -> the spelling that names it
        self.tags = Tags()
        self.group_of: dict[str, TagMembers] = {}  # a tag as spelled -> its group

    def group(self, tag: str) -> TagMembers:
        """The tag's group; its parents' groups made too, each knowing its nested ones."""
        if tag not in self.group_of:
            parent: TagMembers | None = None
            parent_name = ""
            for level in tag_with_parents(tag):
                name = self.spelling.setdefault(level.casefold(), level)
                found = self.tags.members.get(name)
                if found is None:
                    found = self.tags.members[name] = TagMembers()
                    if parent is not None:
                        parent.nested.append(found)
                        self.tags.nested.setdefault(parent_name, []).append(name)
                parent, parent_name = found, name
            assert parent is not None
            self.group_of[tag] = parent
        return self.group_of[tag]


def collect_tags(
    ctx: PlanContext, notes: PaperNotes, should_yield: Callable[[], bool] | None
) -> Tags | None:
    """Every tag in use, nested ones implying their parents, folded case-insensitively;
    an existing index note's spelling wins, else the first spelling in path order. Each
    tag's members are the notes and papers carrying it; its nested tags are linked to it
    (`TagMembers.nested`) and named in `Tags.nested`. Empty when no tag is indexed
    (`index_tags: false`). None if `should_yield()` said so meanwhile: the user is editing
    again."""
    if ctx.settings.index_tags.off:
        return Tags()
    spelling: dict[str, str] = {}
    for (kind, folded), scans in ctx.catalog.index_notes.items():
        if kind == TAG_KIND and scans[0].index_name:
            spelling[folded] = scans[0].index_name
    grouping = _Grouping(spelling)
    if should_yield is not None and should_yield():
        return None
    # Each spelling where it first occurs (path, then place in the note's tags), so that
    # the first one in path order names the tag, as if every note were read in turn.
    scan_at, tagged = ctx.catalog.scan_at, ctx.catalog.tagged
    first = {tag: min(paths) for tag, paths in tagged.items()}
    for tag in sorted(first, key=lambda tag: (first[tag], scan_at[first[tag]].tags.index(tag))):
        grouping.group(tag).note_sources.append(tagged[tag])
    for tag, keys in _papers_by_tag(ctx, notes).items():
        grouping.group(tag).paper_sources.append(keys)
    tags = grouping.tags
    for nested in tags.nested.values():
        nested.sort(key=str.casefold)
    tags.members = dict(sorted(tags.members.items(), key=lambda item: item[0].casefold()))
    return tags


def _papers_by_tag(ctx: PlanContext, notes: PaperNotes) -> dict[str, list[str]]:
    """A paper carries the tags its note will have after this run: the user's and ours.
    Papers with the same tags are added together (thousands share a few categories)."""
    carrying: dict[tuple[str, ...], list[str]] = {}
    for key in notes.note_path:
        paper = ctx.resolution.papers.get(key)
        existing = notes.paper_notes.get(key)
        # The user's own note on a paper is listed under its tags as their note.
        tags = existing[0].tags if existing and key not in notes.adopted else ()
        tags += tuple(tool_tags(paper.categories if paper else (), ctx.settings))
        carrying.setdefault(tags, []).append(key)
    carried_by: dict[str, list[str]] = {}
    for tags, keys in carrying.items():
        for tag in tags:
            carried_by.setdefault(tag, []).extend(keys)
    return carried_by
