"""The related-papers list of each paper note: what we detected, what the user said.

Three sources, all written both ways:
- detected relations (same series, mentions), from `relations`;
- the user's word: a link the user puts in a paper note's `related` property is kept there and
  mirrored on the other paper;
- the user's veto: a detected or mirrored entry the user deletes from `related` is recorded in
  the note's `unrelated` property and stays removed, on both sides, until they delete it there.

The previous run's entries are read back from our own "Related papers" section, which is what
lets us tell a deleted entry (a veto) from a relation that is simply new.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from vaultpapers.markdown.notelinks import markdown_link_target, note_link, property_link
from vaultpapers.relations.detect import SUCCESSOR, RelatedPapers

USER_REASON = "added by you"
_LINK = re.compile(r"\[\[([^\[\]|#^]+)(?:[#^][^\[\]|]*)?(?:\\?\|[^\[\]]*)?\]\]")
_SECTION_LINE = re.compile(
    r"^- (\[\[[^\]]+\]\]|\[(?:[^\[\]\\\n]|\\.)*\]\([^()\s]+\)) · (.*)$", re.MULTILINE
)


@lru_cache(maxsize=1 << 16)  # every paper note's lists are read each run, the same links
def link_target(entry: str) -> str:
    """'[[Perceiver (2103.03206)|P]]' -> 'perceiver (2103.03206)': the part Obsidian resolves.
    A Markdown link (written for a name unsafe in a wikilink) reads back the same way."""
    match = _LINK.search(entry)
    if match is None and (target := markdown_link_target(entry)) is not None:
        return target.lower()
    target = match.group(1) if match else entry
    return target.strip().removesuffix(".md").lower()


@dataclass(frozen=True)
class PaperRelations:
    """One paper note as it stands: its `related`/`unrelated` properties and our last list."""

    key: str
    related: tuple[str, ...]  # the property's entries, as written
    has_related_property: bool
    unrelated: tuple[str, ...]
    previous: tuple[tuple[str, str], ...]  # (link, reason) lines of our last section

    @cached_property
    def user_entries(self) -> tuple[str, ...]:
        """The `related` entries the user added (not ones we wrote there last time)."""
        return tuple(e for e in self.related if link_target(e) not in self.ours_before)

    @cached_property
    def ours_before(self) -> frozenset[str]:
        return frozenset(link_target(link) for link, why in self.previous if why != USER_REASON)

    @cached_property
    def removed(self) -> frozenset[str]:
        """Link targets of our entries the user deleted from `related`: vetoes. Deleting the
        whole property is not read as a veto of every entry."""
        if not self.has_related_property:
            return frozenset()
        return self.ours_before - {link_target(entry) for entry in self.related}

    @cached_property
    def unrelated_targets(self) -> tuple[str, ...]:
        return tuple(link_target(entry) for entry in self.unrelated)

    @cached_property
    def speaks(self) -> bool:
        """Whether the note holds a word of the user's: an entry they added, or a veto."""
        return bool(self.unrelated or self.user_entries or self.removed)

    @classmethod
    def read(cls, key: str, properties: Mapping[str, Any], section: str | None) -> PaperRelations:
        return cls(
            key,
            tuple(_strings(properties.get("related"))),
            "related" in properties,
            tuple(_strings(properties.get("unrelated"))),
            tuple(_SECTION_LINE.findall(section or "")),
        )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


@dataclass
class RelatedList:
    """What a paper note should show: entries (link, reasons) and its properties."""

    entries: list[tuple[str, list[str]]] = field(default_factory=list)
    related: list[str] = field(default_factory=list)  # the `related` property
    unrelated: list[str] = field(default_factory=list)  # the `unrelated` property


def plan_related(
    detected: RelatedPapers,
    notes: Mapping[str, PaperRelations | None],
    link_of: Mapping[str, str],
    key_of_target: Mapping[str, str],
    label_of: Mapping[str, str],
    only: Collection[str] | None = None,
    speaking: Collection[str] | None = None,
) -> dict[str, RelatedList]:
    """Every paper note's related list (or those of the papers in `only`).

    `link_of`: key -> the wikilink target of its note. `key_of_target`: lowercase link target
    (file name or path) -> key, to tell which of the user's links point at paper notes.
    `label_of`: key -> the short name shown for it ('Perceiver IO', 'Brown et al. 2020').
    `speaking`: the keys whose notes hold a word of the user's (`PaperRelations.speaks`), if
    the caller knows them: then no other note is read for entries added or vetoed.
    """
    said = notes.items() if speaking is None else ((k, notes[k]) for k in sorted(speaking))
    user_said, vetoes, vetoed_here = _what_users_said(said, key_of_target)
    reasons: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    relations = (
        detected.relations
        if only is None
        else (r for key in sorted(only) for r in detected.relations_of(key))
    )
    for relation in relations:
        if relation.source in link_of and relation.target in link_of:
            reasons[relation.source][relation.target].append(relation.reason)
    for key, entries in user_said.items():
        for entry in entries:
            other = key_of_target.get(link_target(entry))
            if other is not None and other != key and other in link_of and key in link_of:
                reasons[other][key].append(f"you related them in {note_link(link_of[key])}")

    keys = sorted(link_of) if only is None else sorted(k for k in only if k in link_of)
    return {
        key: _related_list(
            key,
            notes.get(key),
            list(user_said.get(key, ())),
            reasons[key],
            vetoes,
            vetoed_here[key],
            link_of,
            label_of,
        )
        for key in keys
    }


def _what_users_said(
    said: Iterable[tuple[str, PaperRelations | None]], key_of_target: Mapping[str, str]
) -> tuple[dict[str, tuple[str, ...]], set[frozenset[str]], dict[str, set[str]]]:
    """The entries users wrote into related sections (by key), the pairs they vetoed, and
    the papers each note's own removals veto."""
    user_said: dict[str, tuple[str, ...]] = {}
    vetoes: set[frozenset[str]] = set()
    vetoed_here: dict[str, set[str]] = defaultdict(set)
    for key, note in said:
        if note is None:  # not a paper note: it says nothing of relations
            continue
        if note.user_entries:
            user_said[key] = note.user_entries
        for target in note.removed:
            if (other := key_of_target.get(target)) is not None:
                vetoes.add(frozenset((key, other)))
                vetoed_here[key].add(other)
        for target in note.unrelated_targets:
            if (other := key_of_target.get(target)) is not None:
                vetoes.add(frozenset((key, other)))
    return user_said, vetoes, vetoed_here


def _related_list(
    key: str,
    note: PaperRelations | None,
    user_entries: list[str],
    reasons: Mapping[str, list[str]],
    vetoes: set[frozenset[str]],
    vetoed_here: set[str],
    link_of: Mapping[str, str],
    label_of: Mapping[str, str],
) -> RelatedList:
    user_targets = {link_target(entry) for entry in user_entries}
    plan = RelatedList()
    ours = []
    for other in sorted(reasons, key=lambda k: link_of[k].lower()):
        target = link_of[other]
        if other == key or frozenset((key, other)) in vetoes or target.lower() in user_targets:
            continue
        if (entry := property_link(target)) is not None:
            ours.append(entry)
        why = [_from_here(reason, key, label_of) for reason in dict.fromkeys(reasons[other])]
        labelled = note_link(target, label=label_of.get(other))
        plan.entries.append((labelled, why))
    plan.entries += [(_as_link(entry), [USER_REASON]) for entry in user_entries]

    # The user's entries where they put them, then ours in a fixed order: two machines that
    # saw the papers arrive in different orders must write the same list.
    existing = list(note.related) if note else []
    plan.related = [entry for entry in existing if link_target(entry) in user_targets]
    plan.related += ours  # already sorted by link target

    plan.unrelated = list(note.unrelated) if note else []
    known = {link_target(entry) for entry in plan.unrelated}
    for other in sorted(vetoed_here, key=lambda k: link_of.get(k, k).lower()):
        entry = property_link(link_of[other]) if other in link_of else None
        if entry is not None and link_of[other].lower() not in known:
            plan.unrelated.append(entry)
    return plan


_WHOSE_TEXT = re.compile(r"\b(abstract|title) of (\S+)")


def _from_here(reason: str, key: str, label_of: Mapping[str, str]) -> str:
    """'abstract of 2107.14795 mentions "BERT"', read in 2107.14795's own note, becomes
    'its abstract mentions "BERT"'; elsewhere 'the abstract of Perceiver IO mentions ...'."""

    def name(match: re.Match[str]) -> str:
        part, whose = match.groups()
        if whose == key:
            return f"its {part}"
        return f"the {part} of {label_of.get(whose, whose)}"

    def succession(match: re.Match[str]) -> str:
        later, earlier = match.groups()
        if later == key:
            return f"successor of {label_of.get(earlier, earlier)}: "
        if earlier == key:
            return f"{label_of.get(later, later)} is its successor: "
        return (
            f"{label_of.get(later, later)} is the successor of {label_of.get(earlier, earlier)}: "
        )

    return _WHOSE_TEXT.sub(name, SUCCESSOR.sub(succession, reason))


def _as_link(entry: str) -> str:
    if _LINK.search(entry) or markdown_link_target(entry) is not None:
        return entry
    return f"[[{entry}]]"


def render_related_section(
    entries: Sequence[tuple[str, list[str]]], series_link: str | None
) -> str:
    lines = ["## Related papers", ""]
    if series_link:
        lines += [f"Series: {note_link(series_link)}", ""]
    if not entries:
        lines.append("_No related papers in this vault yet._")
    for link, reasons in entries:
        lines.append(f"- {link} · {'; '.join(reasons)}")
    return "\n".join(lines) + "\n"
