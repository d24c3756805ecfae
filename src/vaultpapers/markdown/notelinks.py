"""Links to notes, in the one form that resolves in Obsidian for the note's name.

Every place that writes a link to a note ("Mentioned in", index notes, related papers, the
links inserted after references) renders it here, from the note's link target as the planner
decides it: the file name without ``.md`` when no other note shares it, else the vault path.

- A name Obsidian reads literally inside ``[[...]]`` gets a wikilink: ``[[Target|label]]``.
- Any other name gets a Markdown link to the same target, percent-encoded:
  ``[label](200305%20What%20the%20%5BMASK%5D.md)``. Obsidian decodes a Markdown destination
  and looks it up vault-wide exactly as it looks up a wikilink (the bare name, or the vault
  path when one is given), so both forms name the same note.

What Obsidian does with a Markdown destination: it percent-decodes it, keeps the decoded text
as the link, and then splits it at the first ``#`` into path and heading (``parseLinktext``).
Whether it decodes with ``decodeURI`` or ``decodeURIComponent`` is not documented, so only
characters both decode alike are encoded; the others (``; / ? : @ & = + $ ,``) stay literal,
as Obsidian itself writes them (it encodes nothing but spaces).

Some names no link can reach: a ``#`` splits every form (``%23`` either stays ``%23`` or turns
back into ``#`` before the split); and where a wikilink cannot hold the name, a name beginning
like a URL scheme (``http:x``) makes the Markdown link a web link, and an HTML character
reference (``&amp;``) is decoded by the Markdown parser. Those are rendered as plain text, and
the planner reports the note so the user can rename it.
"""

from __future__ import annotations

import re
import string
import unicodedata
from functools import lru_cache
from urllib.parse import unquote

from vaultpapers.markdown.spans import link_label

# Inside [[...]]: what ends or splits the link (] | # ^), what Obsidian warns about ([), and
# what would open code, maths or a comment around it in the user's line (` $ %). Also doubled
# spaces, ASCII whitespace but ' ' and ASCII controls; the rest is checked apart. (':' is
# fine: Obsidian takes even '[[https://x]]' for a note's name.)
_WIKILINK_UNSAFE = re.compile(r"[\[\]|#^%$`\\<>\x00-\x1f\x7f]|  ")
# Kept literal in a Markdown destination: what neither decoder changes and CommonMark allows.
_LITERAL = frozenset(string.ascii_letters + string.digits + "-._~!*'/;?:@&=+$,")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_BAD_SEGMENT = re.compile(r"(?:^|/)\.{0,2}(?:/|$)")  # '', '.' or '..' between slashes
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAYBE_UNLINKABLE = re.compile("[#:&\ud800-\udfff]|(?:^|/)\\.{0,2}(?:/|$)")
_CHARACTER_REFERENCE = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
# A Markdown label: besides what `link_label` handles, what escapes or ends the brackets
# (\), starts raw HTML or an autolink inside them (<), or makes them a footnote (^ first).
_LABEL_ESCAPES = re.compile(r"[\\<]|^\^")


@lru_cache(maxsize=1 << 16)
def wikilink_safe(target: str) -> bool:
    """Whether `[[target]]` names exactly this target in Obsidian, whatever stands around it."""
    if not target or target[0] == " " or target[-1] == " " or target[-3:].lower() == ".md":
        return False
    if _WIKILINK_UNSAFE.search(target) or _bad_segment(target):
        return False
    if target.isascii():
        return True
    # Invisible, control and unassigned characters, and spaces other than ' ' (U+00A0, U+3000).
    return all(
        char == " " or (not char.isspace() and unicodedata.category(char)[0] != "C")
        for char in target
    )


@lru_cache(maxsize=1 << 16)
def linkable(target: str) -> bool:
    """Whether any link can point at the note: False for names no Obsidian link resolves."""
    return why_unlinkable(target) is None


def why_unlinkable(target: str) -> str | None:
    """Why no link can point at a note with this link target, or None if one can."""
    if target and not _MAYBE_UNLINKABLE.search(target):
        return None  # nearly every name: one scan
    if wikilink_safe(target):
        return None
    if "#" in target:
        return "its name has '#', where every Obsidian link starts a heading"
    if _bad_segment(target):
        return "its name is empty, '.' or '..'"
    if _SCHEME.match(target):
        return "its name begins like a web address ('name:') and holds what a wikilink cannot"
    if _CHARACTER_REFERENCE.search(target):
        return "its name holds an HTML character reference ('&amp;'), which Markdown decodes"
    if _SURROGATE.search(target):  # undecodable bytes in the name on disk
        return "its name is not valid Unicode"
    return None


def note_link(target: str, *, label: str | None = None, in_table: bool = False) -> str:
    """The link to the note with this link target, showing `label` (else the target).

    `in_table`: the link stands in a table row, where a wikilink's pipe is written ``\\|``.
    A target no link can reach gives its name as plain text (see `linkable`)."""
    shown = link_label(label) if label is not None else ""
    if wikilink_safe(target):
        pipe = "\\|" if in_table else "|"
        return f"[[{target}{pipe}{shown}]]" if shown else f"[[{target}]]"
    if not linkable(target):
        return plain_name(target)
    return f"[{_markdown_label(shown or target)}]({destination(target)})"


def property_link(target: str) -> str | None:
    """The entry for a `related`/`unrelated` property. Obsidian takes only wikilinks from
    properties, so a name unsafe in one gets the Markdown form: no link there, but the text the
    "Related papers" section shows, and read back as the same target. None for a name no link
    can reach: an entry that does not read back as its note would pass for the user's own."""
    if wikilink_safe(target):
        return f"[[{target}]]"
    if not linkable(target):
        return None
    return f"[{_markdown_label(target)}]({destination(target)})"


def destination(target: str) -> str:
    """`target` as a Markdown link destination: percent-encoded, with its ``.md``."""
    return "".join(_encoded(char) for char in target + ".md")


def plain_name(text: str) -> str:
    """A name as text that is no link, tag, code or maths."""
    return link_label(text).replace("#", "\\#") or "note"


@lru_cache(maxsize=4096)
def _encoded(char: str) -> str:
    if char in _LITERAL or (ord(char) > 127 and unicodedata.category(char)[0] not in "CZ"):
        return char
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))


def _bad_segment(target: str) -> bool:
    if "/" not in target:
        return target in ("", ".", "..")
    return bool(_BAD_SEGMENT.search(target))


def _markdown_label(text: str) -> str:
    label = link_label(text)
    return _LABEL_ESCAPES.sub(lambda m: "\\" + m.group(), label) or "note"


# --------------------------------------------------------------------------------------------
# Reading links back: the ones we wrote must be recognised on the next run.

_LINK_AT = re.compile(
    r" ?(?:\[\[(?P<wiki>[^\[\]\n]+)\]\]|\[(?:[^\[\]\\\n]|\\.)*\]\((?P<dest>[^()\s<>]+)\))"
)


def links_at(text: str, offset: int) -> list[str]:
    """Targets of the links standing one after another at `offset` (each optionally after one
    space, up to the first link that is to no note): wikilinks without alias, heading or block
    parts, and Markdown links to a note, decoded and without ``.md``:
    '[[A|x]] [b](B%20c.md) [web](https://x) [[C]]' -> ['A', 'B c']."""
    targets = []
    while (match := _LINK_AT.match(text, offset)) and (target := _target_of(match)) is not None:
        targets.append(target)
        offset = match.end()
    return targets


def end_of_links_at(text: str, offset: int) -> int:
    """Where the links to notes standing at `offset` (as `links_at` reads them) end."""
    while (match := _LINK_AT.match(text, offset)) and _target_of(match) is not None:
        offset = match.end()
    return offset


def markdown_link_target(text: str) -> str | None:
    """The target of the first Markdown link to a note in `text`, as `links_at` gives it."""
    for match in _LINK_AT.finditer(text):
        if match.group("dest") is not None and (target := _target_of(match)) is not None:
            return target
    return None


def _target_of(match: re.Match[str]) -> str | None:
    wiki = match.group("wiki")
    if wiki is not None:
        target = re.split(r"\\?\|", wiki, maxsplit=1)[0]
        return re.split(r"[#^]", target, maxsplit=1)[0].strip()
    dest = match.group("dest")
    if _SCHEME.match(dest):
        return None  # a web link, not a note
    try:
        path = unquote(dest.split("#", 1)[0], errors="strict")
    except UnicodeDecodeError:
        return None
    return path[:-3] if path.lower().endswith(".md") else None  # a PDF, an image: no note
