"""The wikilinks vaultpapers inserts into notes, right after each arXiv reference."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from .ids import parse_arxiv_id
from .notes import citation_label
from .papers import Paper
from .scan import NoteScan

_WIKILINK_AT = re.compile(r" ?\[\[([^\[\]\n]+)\]\]")


def insert_links(
    scan: NoteScan,
    papers: Mapping[str, Paper],
    link_targets: Mapping[str, str],
    known_names: Mapping[str, Collection[str]],
    *,
    mode: str,
    label: str,
) -> tuple[str, int]:
    """The note's text with a wikilink after each reference to a paper with a complete note,
    and how many were inserted.

    `link_targets`: key -> the wikilink target of its note. `known_names`: key -> every
    lowercase name its note goes by (file name, path), to see that a link is already there.
    Pending papers get no link: their note may still be renamed once its title is known.
    """
    insertions: list[tuple[int, str]] = []
    linked_here: set[str] = set()
    for ref in scan.references:
        key = ref.arxiv_id.key
        paper = papers.get(key)
        if ref.insert_at is None or paper is None or key not in link_targets:
            continue
        if mode == "first" and key in linked_here:
            continue
        linked_here.add(key)
        if _already_linked(scan.note.text, ref.insert_at, key, known_names.get(key, ())):
            continue
        pipe = "\\|" if ref.in_table else "|"
        shown = _label(paper, key, label)
        insertions.append((ref.insert_at, f" [[{link_targets[key]}{pipe}{shown}]]"))
    text = scan.note.text
    for offset, link in sorted(insertions, reverse=True):
        text = text[:offset] + link + text[offset:]
    return text, len(insertions)


def _links_at(text: str, offset: int) -> list[str]:
    """Targets of the wikilinks standing one after another at `offset`."""
    targets = []
    while match := _WIKILINK_AT.match(text, offset):
        target = re.split(r"\\?\|", match.group(1), maxsplit=1)[0]
        targets.append(re.split(r"[#^]", target, maxsplit=1)[0].strip())
        offset = match.end()
    return targets


def _already_linked(text: str, offset: int, key: str, names: Collection[str]) -> bool:
    # Several references can share one insertion point (glued URLs): look at every link there.
    id_part = parse_arxiv_id(key).filename_part.lower()
    for target in _links_at(text, offset):
        target = target.removesuffix(".md").lower()
        if target in names or target.rsplit("/", 1)[-1] in names or id_part in target:
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
