"""A model of how Obsidian resolves one link to a note, strict where Obsidian is undocumented.

The tests render a link with vaultpapers and ask this model which note it opens. Where a
behaviour is documented or was observed, the model follows it; where it is neither, the model
takes the reading under which the link fails, so a link the model resolves resolves whichever
way Obsidian turns out to behave.

Sources (quoted in the report of issue 16):
- Obsidian Help, "Internal links" (obsidianmd/obsidian-help, en/Linking notes and files/
  Internal links.md): `[[Three laws of motion]]` and `[Three laws of motion](Three%20laws%20of%20
  motion.md)` are equivalent; Markdown destinations are URL-encoded; `#` starts a heading,
  `#^` a block. The Markdown-syntax page: `[Slides Demo](<Slides Demo>)` also works.
- Obsidian API, obsidian.d.ts: `parseLinktext` splits a linktext into path and subpath at the
  first `#`; `getFirstLinkpathDest(linkpath, sourcePath)` gives "the best match".
- Observations on Obsidian 1.13.7 through `app.metadataCache` (pvliesdonk/markdown-vault-mcp,
  docs/design/reference/obsidian-markdown.md, console output on its issue #1358):
  a Markdown destination is percent-decoded, kept decoded as the link, and looked up vault-wide
  like a wikilink (`[y](My%20Note.md)` in a root note opens `Sub/My Note.md`); a literal space
  makes it no link; Obsidian's own Markdown link to `Sub/We!rd (name) [x] #1.md` does not
  resolve (split at `#`); only `]]` ends a wikilink; `[[../y]]` is relative to the source; an
  exact vault path wins, else the source's own folder, else the shortest path string, and an
  equal tie is not stable; names match case-insensitively; NFD names are listed as NFC;
  `[[https://example.com]]` is a link to a note of that name, not a web link.
- CommonMark 0.31.2, §6.3 (link destination: no spaces or controls, balanced parentheses,
  backslash escapes and entity references are processed) and §6.4 (autolinks' schemes).

Undocumented, so taken as failing: whether `decodeURI` or `decodeURIComponent` decodes (both
must give the same path); whether whitespace at the ends or doubled inside `[[...]]` is kept;
`^ [ % $ \\ < >` and backticks inside `[[...]]` (the help: "may not work as a link"; `$` and
backticks pair with the line's own into maths and code).
"""

from __future__ import annotations

import html.entities
import posixpath
import re
import unicodedata
from collections.abc import Collection
from urllib.parse import unquote

_RESERVED = ";/?:@&=+$,#"  # what decodeURI leaves encoded
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{1,31}:")
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]*);")
_ASCII_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def resolve(link: str, source: str, notes: Collection[str]) -> str | None:
    """The note (vault path) that `link`, one rendered link standing in `source`, opens."""
    if link.startswith("[["):
        linktext = _wikilink_text(link)
        if linktext is None:
            return None
        return _first_linkpath_dest(linktext.split("#", 1)[0], source, notes)
    path = _markdown_path(link)
    if path is None:
        return None
    return _first_linkpath_dest(path.split("#", 1)[0], source, notes)


def _wikilink_text(link: str) -> str | None:
    end = link.find("]]")
    if end < 0 or end + 2 != len(link) or "\n" in link:
        return None
    inner = link[2:end].replace("\\|", "|")
    target = inner.split("|", 1)[0]
    if any(c in link for c in "`$") or "%%" in link or re.search(r"[\[\]^%\\<>]", target):
        return None
    if target != target.strip() or re.search(r"\s\s|[^\S ]", target):
        return None
    if any(unicodedata.category(c)[0] == "C" for c in target):
        return None
    return target


def _markdown_path(link: str) -> str | None:
    """The decoded path of a `[label](destination)` link, or None when it is none."""
    label_end = _label_end(link)
    if label_end is None or link[label_end : label_end + 2] != "](" or not link.endswith(")"):
        return None
    label = link[1:label_end]
    if not _unescape(label).strip() or label.startswith("^"):
        return None  # an empty label shows nothing; '[^x]' is a footnote
    if any(c in _outside_escapes(label) for c in "`$<") or "%%" in label:
        return None
    raw = link[label_end + 2 : -1]
    if not raw or raw.startswith("<"):
        return None
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in raw):
        return None  # CommonMark: no link
    if re.search(r"(?<!\\)[()]", raw):
        return None  # kept strict: our destinations hold no parentheses
    destination = _entities(_unescape(raw))
    if _SCHEME.match(destination):
        return None  # a web link
    by_component = _decode(destination, reserved="")
    by_uri = _decode(destination, reserved=_RESERVED)
    if by_component is None or by_component != by_uri:
        return None
    return by_component


def _label_end(link: str) -> int | None:
    if not link.startswith("["):
        return None
    pos = 1
    while pos < len(link):
        char = link[pos]
        if char == "\\":
            pos += 2
            continue
        if char == "[":
            return None  # kept strict: our labels hold no brackets
        if char == "]":
            return pos
        pos += 1
    return None


def _unescape(text: str) -> str:
    return re.sub(
        r"\\(.)", lambda m: m.group(1) if m.group(1) in _ASCII_PUNCTUATION else m.group(0), text
    )


def _outside_escapes(text: str) -> str:
    return re.sub(r"\\.", "", text)


def _entities(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#"):
            number = int(name[2:], 16) if name[1:2] in "xX" else int(name[1:])
            return chr(number) if 0 < number < 0x110000 else "\ufffd"
        return html.entities.html5.get(name + ";", match.group(0))

    return _ENTITY.sub(one, text)


def _decode(text: str, reserved: str) -> str | None:
    """decodeURIComponent (`reserved` empty) or decodeURI; None where JavaScript throws."""
    out = []
    pos = 0
    for match in re.finditer(r"(?:%[0-9A-Fa-f]{2})+", text):
        out.append(text[pos : match.start()])
        chunk = match.group()
        try:
            decoded = unquote(chunk, errors="strict")
        except UnicodeDecodeError:
            return None
        out.append("".join(f"%{ord(c):02X}" if c in reserved else c for c in decoded))
        pos = match.end()
    out.append(text[pos:])
    if re.search(r"%(?![0-9A-Fa-f]{2})", text):
        return None  # a lone '%' is malformed for both
    return "".join(out)


def _key(path: str) -> str:
    return unicodedata.normalize("NFC", path).lower()


def _first_linkpath_dest(linkpath: str, source: str, notes: Collection[str]) -> str | None:
    if not linkpath:
        return None
    if linkpath.startswith(("./", "../")):
        linkpath = posixpath.normpath(posixpath.join(posixpath.dirname(source), linkpath))
        if linkpath.startswith("../"):
            return None
    by_key: dict[str, list[str]] = {}
    for note in notes:
        by_key.setdefault(_key(note), []).append(note)
    for candidate in (linkpath, linkpath + ".md"):
        exact = by_key.get(_key(candidate), [])
        if len(exact) == 1:
            return exact[0]
        if exact:
            return None  # differ only in case: which one is not documented
    name = linkpath[:-3] if linkpath.lower().endswith(".md") else linkpath
    suffix = "/" + _key(name) + ".md"
    matches = [note for note in notes if ("/" + _key(note)).endswith(suffix)]
    if not matches:
        return None
    folder = posixpath.dirname(source)
    own = [note for note in matches if posixpath.dirname(note) == folder]
    if len(own) == 1:
        return own[0]
    shortest = min(len(note) for note in matches)
    best = [note for note in matches if len(note) == shortest]
    return best[0] if len(best) == 1 else None  # an equal tie is not stable in Obsidian
