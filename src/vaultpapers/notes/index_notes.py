"""Index notes: one per tag used in the vault, one per paper series.

Static Markdown lists, readable in git, on GitHub and in any renderer, optionally followed by a
Dataview query. Like paper notes they are found by their front matter (`vaultpapers: tag` with
`tag: NAME`, or `vaultpapers: series` with `series: NAME`), so the user may move them, and we
own only our properties and the section between our markers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from vaultpapers.markdown.notelinks import note_link
from vaultpapers.markdown.properties import dump_properties, find_front_matter
from vaultpapers.notes.paper_note import escape_inline, owned_spans, safe_file_stem, wrap_section

TAG_KIND = "tag"
SERIES_KIND = "series"
INDEX_KINDS = (TAG_KIND, SERIES_KIND)
_SECTION = "index"


@dataclass(frozen=True)
class IndexEntry:
    link: str  # wikilink target
    label: str | None  # shown text when it differs from the target
    line: str  # a short description: a title, a date and title, a first sentence
    sort_key: str = ""

    @cached_property  # a paper is listed under each of its tags: its line is made once
    def rendered(self) -> str:
        shown = note_link(self.link, label=self.label or None)
        return f"- {shown} · {_inline(self.line)}" if self.line else f"- {shown}"


@dataclass(frozen=True)
class NestedTag:
    """A nested tag as its parent's index lists it: how much it covers, its own nested tags
    included, and its index note's link target (None: the tag has no index)."""

    tag: str
    link: str | None
    notes: int
    papers: int


@dataclass(frozen=True)
class TagIndex:
    tag: str
    notes: Sequence[IndexEntry]  # the notes tagged with the tag itself
    papers: Sequence[IndexEntry]  # the papers tagged with the tag itself
    children: Sequence[NestedTag] = ()  # the nested tags one level down
    total: tuple[int, int] = (0, 0)  # (notes, papers) tagged with it or a nested tag


@dataclass(frozen=True)
class SeriesIndex:
    name: str
    members: Sequence[IndexEntry]  # oldest first


def index_file_stem(kind: str, name: str) -> str:
    """'Tag MLP › vision', 'Series Perceiver': distinct from any name a user would pick, so a
    new index never takes over one of the user's existing [[links]]."""
    shown = name.replace("/", " › ")
    return safe_file_stem(f"{'Tag' if kind == TAG_KIND else 'Series'} {shown}")


def render_tag_index(index: TagIndex, *, dataview: bool) -> str:
    """A tag's notes and papers; a tag with nested tags lists those with what each covers,
    and then only the notes and papers tagged with the tag itself (the `arxiv` tag would
    otherwise list every paper of the vault)."""
    own = len(index.notes) + len(index.papers)
    lines = [f"# #{index.tag}", ""]
    if not index.children:
        lines.append(f"{own} note{'s' if own != 1 else ''} tagged #{index.tag}.")
    else:
        covered = _counted(*index.total) or "Nothing"
        itself = _counted(len(index.notes), len(index.papers))
        lines.append(
            f"{covered} tagged #{index.tag} or one of its nested tags"
            + (
                f"; below, its nested tags and the {itself} tagged #{index.tag} itself."
                if own
                else ", by nested tag below."
            )
        )
        lines += ["", "## Nested tags", ""]
        for child in index.children:
            shown = (
                note_link(child.link, label=f"#{child.tag}")
                if child.link
                else f"`#{child.tag}` (no index)"
            )
            counted = _counted(child.notes, child.papers)
            lines.append(f"- {shown} · {counted}" if counted else f"- {shown}")
    if index.notes:
        lines += ["", "## Notes", ""] + [entry.rendered for entry in index.notes]
    if index.papers:
        lines += ["", "## Papers", ""] + [entry.rendered for entry in index.papers]
    if dataview:
        lines += ["", "```dataview", f"LIST FROM #{index.tag}", "SORT file.name ASC", "```"]
    body = wrap_section(_SECTION, "\n".join(lines) + "\n")
    return f"---\n{dump_properties({'vaultpapers': TAG_KIND, 'tag': index.tag})}---\n{body}\n"


def _counted(notes: int, papers: int) -> str:
    """'3 notes and 812 papers', '1 paper', '' for none."""
    parts = [
        f"{count:,} {noun}{'s' if count != 1 else ''}"
        for count, noun in ((notes, "note"), (papers, "paper"))
        if count
    ]
    return " and ".join(parts)


def render_series_index(index: SeriesIndex, *, dataview: bool) -> str:
    lines = [
        f"# {index.name} (series)",
        "",
        f"{len(index.members)} papers of the {index.name} series in this vault, oldest first.",
        "",
    ]
    lines += [entry.rendered for entry in index.members]
    if dataview:
        lines += [
            "",
            "```dataview",
            "TABLE published, title",
            f'WHERE vaultpapers = "paper" AND series = "{_dataview_string(index.name)}"',
            "SORT published ASC",
            "```",
        ]
    body = wrap_section(_SECTION, "\n".join(lines) + "\n")
    properties = {"vaultpapers": SERIES_KIND, "series": index.name}
    return f"---\n{dump_properties(properties)}---\n{body}\n"


def update_index_note(text: str, rendered: str) -> str:
    """Our section and properties replaced by the newly rendered ones, the user's text kept."""
    new_section = owned_spans(rendered)[0]
    new_block = rendered[new_section[0] : new_section[1]]
    spans = [span for span in owned_spans(text) if _SECTION in text[span[0] : span[1]][:40]]
    newline = "\r\n" if "\r\n" in text else "\n"
    if not spans:
        front = find_front_matter(text)
        head = text[: front.end] if front else ""
        return head + new_block.replace("\n", newline) + newline + text[len(head) :]
    start, end = spans[0]
    return text[:start] + new_block.replace("\n", newline) + text[end:]


def user_wrote_in(text: str, kind: str) -> bool:
    """Whether an index note holds anything of the user's: text outside our section, or
    properties besides ours. Such a note is never deleted."""
    front = find_front_matter(text)
    if front is not None and (front.data is None or set(front.data) - {"vaultpapers", kind}):
        return True
    rest = text[front.end :] if front else text
    for start, end in reversed(owned_spans(rest)):
        rest = rest[:start] + rest[end:]
    return bool(rest.strip())


def first_sentence(text: str, limit: int = 160) -> str:
    sentence = re.split(r"(?<=[.!?])\s+", " ".join(text.split()), maxsplit=1)[0]
    if len(sentence) <= limit:
        return sentence
    return sentence[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def note_summary(text: str, properties: Mapping[str, object], limit: int = 100) -> str:
    """A user note's short line: its `title` property, else its first heading or line."""
    title = properties.get("title")
    if isinstance(title, str) and title.strip():
        line = title
    else:
        front = find_front_matter(text)
        body = text[front.end :] if front else text
        line = next((ln for ln in body.splitlines() if ln.strip()), "")
        line = re.sub(r"^\s*(?:#+|[-*+>]|\d+[.)])\s*", "", line)
        line = re.sub(r"\[\[([^\]|]+\|)?([^\]]+)\]\]", r"\2", line)
        line = _NOTE_LINK.sub(r"\1", line)  # a link to a note, as we write it for some names
        line = re.sub(r"[*_`]", "", line)
    line = " ".join(line.split())
    return line if len(line) <= limit else line[:limit].rsplit(" ", 1)[0] + "…"


_NOTE_LINK = re.compile(r"\[((?:[^\[\]\\\n]|\\.)*)\]\([^()\s:]*\.md\)")


def _inline(text: str) -> str:
    return escape_inline(text).replace("|", "/")


def _dataview_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
