"""Obsidian tags: validity, the tags vaultpapers derives, and the tags a note already carries.

Obsidian's rules (https://help.obsidian.md/tags): letters of any script, digits, ``_``, ``-``
and ``/`` for nesting; at least one character that is not a digit; no spaces and no ``.``.
Tags compare case-insensitively, so de-duplication here does too (first spelling wins).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from vaultpapers.markdown.spans import (
    Span,
    html_block_spans,
    html_tag_spans,
    in_spans,
    merge_spans,
    not_markdown,
    wikilink_spans,
)

_TAG_CHARACTERS = re.compile(r"[\w\-/]+")
_INVALID_TAG_CHARACTER = re.compile(r"[^\w\-/]")
_BODY_TAG = re.compile(r"#([\w\-/]+)")
_FRONT_MATTER_SEPARATORS = re.compile(r"[,\s]+")


def is_valid_tag(name: str) -> bool:
    """Whether ``name`` (without ``#``) is a tag Obsidian recognises."""
    if not _TAG_CHARACTERS.fullmatch(name):
        return False
    if name.startswith("/") or name.endswith("/") or "//" in name:
        return False
    # '/' is structure, not content: '2021/01' has no non-digit name part.
    return any(not (char.isdigit() or char == "/") for char in name)


def category_tag(category: str) -> str:
    """The tag for an arXiv category: ``cs.LG`` -> ``arxiv/cs-LG``, ``hep-th`` ->
    ``arxiv/hep-th`` ('.' is not allowed in tags)."""
    return "arxiv/" + _INVALID_TAG_CHARACTER.sub("-", category.strip())


def tag_with_parents(tag: str) -> list[str]:
    """``a/b/c`` -> ``['a', 'a/b', 'a/b/c']``: a nested tag implies its parents."""
    parts = tag.split("/")
    return ["/".join(parts[: index + 1]) for index in range(len(parts))]


def _unique_valid(candidates: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    tags: list[str] = []
    for candidate in candidates:
        folded = candidate.casefold()
        if folded in seen or not is_valid_tag(candidate):
            continue
        seen.add(folded)
        tags.append(candidate)
    return tags


def body_tags(text: str, *, skip_spans: Sequence[Span] = ()) -> list[str]:
    """``#tags`` written in the body of a note, in text order, each once.

    The front matter, code (see :func:`vaultpapers.markdown.spans.code_spans`), wikilinks, HTML
    (tags such as ``<div style="color: #f8f9fa">`` and whole HTML blocks: Obsidian takes no tags
    from HTML) and ``skip_spans`` are not searched; heading markers (``# Title``) are not tags.
    """
    if "#" not in text:
        return []
    # '#' opens a tag only at the start of a line or after whitespace: never mid-word ('a#b'),
    # in a URL fragment ('/#frag'), an entity ('&#123;') or a wikilink heading. (Checked here
    # rather than by a lookbehind, which would make the regex scan slowly.)
    candidates = [
        match
        for match in _BODY_TAG.finditer(text)
        if match.start() == 0 or text[match.start() - 1].isspace()
    ]
    if skip_spans:
        skipped = merge_spans(skip_spans)
        candidates = [match for match in candidates if not in_spans(match.start(), skipped)]
    if not candidates:
        return []  # spares finding the code and links of a note without tags
    not_prose = not_markdown(text)
    excluded = merge_spans(not_prose, wikilink_spans(text), skip_spans)
    if "<" in text:
        excluded = merge_spans(
            excluded, html_block_spans(text), html_tag_spans(text, exclude=not_prose)
        )
    return _unique_valid(
        match.group(1) for match in candidates if not in_spans(match.start(), excluded)
    )


def front_matter_tags(value: object) -> list[str]:
    """Tags from the parsed YAML value of ``tags`` (or ``tag``): a list, or a string separated by
    commas or spaces. A leading ``#`` is dropped; anything that is not a valid tag is ignored."""
    if value is None:
        return []
    items: Iterable[object]
    if isinstance(value, str):
        items = _FRONT_MATTER_SEPARATORS.split(value)
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        items = [value]
    candidates: list[str] = []
    for item in items:
        if item is None or isinstance(item, (bool, dict, list, tuple)):
            continue
        candidates.append(str(item).strip().lstrip("#"))
    return _unique_valid(candidates)
