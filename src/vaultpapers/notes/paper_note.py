"""Paper notes: their file names, the properties and body sections vaultpapers owns in them.

A paper note belongs to the user as much as to us. We own a fixed set of properties, the
entries we add to `aliases` and `tags`, and the body sections between our markers:

    <!-- vaultpapers:begin NAME -->  ...  <!-- vaultpapers:end NAME -->

Everything else in the note is the user's and is kept byte for byte.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from vaultpapers.arxiv.ids import arxiv_categories, parse_arxiv_id
from vaultpapers.arxiv.papers import Paper
from vaultpapers.config import Settings
from vaultpapers.markdown.notelinks import note_link
from vaultpapers.markdown.properties import (
    PropertiesError,
    dump_properties,
    edit_properties,
    find_front_matter,
)
from vaultpapers.markdown.spans import code_spans, strictly_inside
from vaultpapers.markdown.tags import category_tag
from vaultpapers.notes.citekeys import base_citekey
from vaultpapers.notes.related import RelatedList, render_related_section
from vaultpapers.relations.series import NameFinding, find_name

PAPER_KIND = "paper"
PENDING = "pending"
OWNED_PROPERTIES = (
    "vaultpapers",
    "arxiv_id",
    "citekey",
    "version",
    "title",
    "authors",
    "published",
    "updated",
    "primary_category",
    "categories",
    "url",
    "pdf",
    "doi",
    "journal_ref",
    "comment",
    "metadata",
    "series",
)
RELATION_PROPERTIES = ("related", "unrelated")
# What vaultpapers adds to a user's own note on a paper, each only where the note has no
# property of that meaning yet (names compared case-insensitively). Nothing that changes with a
# new version (`version`, `updated`): in the user's note we only ever insert, never update.
ADOPTED_PROPERTIES: Mapping[str, frozenset[str]] = {
    "title": frozenset({"title"}),
    "authors": frozenset({"authors", "author"}),
    "published": frozenset({"published", "year"}),
    "categories": frozenset({"categories"}),
    "doi": frozenset({"doi"}),
    "journal_ref": frozenset({"journal_ref", "journal", "venue"}),
    "citekey": frozenset({"citekey"}),
}
SECTION_ORDER = ("paper", "related", "mentions")
_MARKER = re.compile(r"<!-- vaultpapers:(?:begin|end) [a-z]+ -->")
_BEGIN = re.compile(r"<!-- vaultpapers:begin ([a-z]+) -->")
OWNED_MARKERS = ("<!-- vaultpapers:begin {} -->", "<!-- vaultpapers:end {} -->")
# Not in file names: what Windows forbids, what breaks [[links]], and what would open code,
# maths or a comment in the line a link to the note stands in (` $ %).
_UNSAFE_IN_NAME = re.compile(r'[\\/:*?"<>|#^\[\]`$%\x00-\x1f\x7f]')
_MAX_NAME_BYTES = 180  # far below the 255-byte limit, leaving room for " 2.md" and sync suffixes


class NoteError(ValueError):
    """A paper note we must not edit as it stands; the message tells the user what to fix."""


@dataclass(frozen=True)
class Mention:
    """A note that cites a paper, as it appears in the paper's "Mentioned in" list."""

    link: str  # the wikilink target, unique in the vault


@dataclass(frozen=True)
class PaperNoteContent:
    """Everything a paper note shows that is ours to write."""

    key: str
    paper: Paper | None
    mentions: Sequence[Mention] = ()
    related: RelatedList | None = None
    series: str | None = None
    series_link: str | None = None  # wikilink target of the series index note
    citekey: str | None = None  # the note's own, if it has one; else the one made for it


def short_title(title: str) -> str:
    """The name a paper goes by: 'Perceiver: General ...' -> 'Perceiver'."""
    head, colon, _ = title.partition(":")
    if colon and 2 <= len(head.strip()) <= 60:
        return head.strip()
    if len(title) <= 60:
        return title.strip()
    cut = title[:60].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;-") + "…"


def citation_label(paper: Paper, finding: NameFinding | None = None) -> str:
    """How a researcher would name the paper in a sentence: 'Perceiver', 'BERT', or, for a
    title with no short name, 'Vaswani et al. 2017'. `finding` is `find_name` of the title,
    when the caller has it already."""
    if name := (finding or find_name(paper.title)).name:
        return name
    head, colon, _ = paper.title.partition(":")
    if colon and len(head.strip()) <= 40:
        return head.strip()
    if not colon and len(paper.title) <= 30:
        return paper.title.strip()
    surnames: list[str] = []  # the first three tell: one, two, or "et al." (of hundreds)
    for author in paper.authors:
        if words := author.split():
            surnames.append(words[-1])
            if len(surnames) == 3:
                break
    year = paper.published.year
    if not surnames:
        return short_title(paper.title)
    if len(surnames) == 1:
        return f"{surnames[0]} {year}"
    if len(surnames) == 2:
        return f"{surnames[0]} & {surnames[1]} {year}"
    return f"{surnames[0]} et al. {year}"


def safe_file_stem(text: str) -> str:
    """A file name (without .md) valid on Windows, macOS and Linux and inside Obsidian links."""
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"\s*:\s*", " - ", text)
    text = _UNSAFE_IN_NAME.sub(" ", text)
    # Invisible and control characters (U+200B, U+0080): a wikilink must hold the name as is.
    text = "".join(" " if unicodedata.category(char)[0] == "C" else char for char in text)
    text = re.sub(r"\s+", " ", text)
    text = text.lstrip(". ").rstrip(". ")  # a leading dot hides the note; a trailing one, Windows
    while text[-3:].lower() == ".md":  # '[[notes.md]]' would name the note 'notes'
        text = text[:-3].rstrip(". ")
    while len(text.encode("utf-8")) > _MAX_NAME_BYTES:
        text = text[:-1].rstrip(". ")
    return text or "paper"


def paper_file_stem(key: str, paper: Paper | None, pattern: str) -> str:
    arxiv_id = parse_arxiv_id(key)
    if paper is None:
        return safe_file_stem(f"arXiv {arxiv_id.filename_part}")
    first_author = (paper.authors[0].split() or [""])[-1] if paper.authors else ""
    id_part = arxiv_id.filename_part
    fields = {
        "title": paper.title,
        "short_title": short_title(paper.title),
        "id": id_part,
        "year": str(paper.published.year),
        "first_author": first_author,
    }
    stem = safe_file_stem(pattern.format(**fields))
    if id_part not in stem:
        # Truncation ate the id; the id must survive, the title gives way.
        rest = pattern.format(**{**fields, "title": "", "short_title": ""})
        room = _MAX_NAME_BYTES - len(safe_file_stem(rest).encode("utf-8")) - 4
        title = paper.title.encode("utf-8")[: max(room, 0)].decode("utf-8", "ignore")
        stem = safe_file_stem(pattern.format(**{**fields, "title": title, "short_title": title}))
    if id_part not in stem:
        # Other fields are long too (a 300-character author name): keep what fits, then the id.
        suffix = f" ({id_part})"
        room = _MAX_NAME_BYTES - len(suffix.encode("utf-8"))
        head = stem.encode("utf-8")[:room].decode("utf-8", "ignore")
        stem = safe_file_stem(head.rstrip() + suffix)
    return stem


def tool_aliases(title: str | None, citekey: str | None = None) -> list[str]:
    """The aliases we add: the paper's title, and `@citekey` when `citekey_aliases` is on
    (the caller passes `citekey` only then)."""
    return ([title] if title else []) + ([f"@{citekey}"] if citekey else [])


def tool_tags(categories: Sequence[str], settings: Settings) -> list[str]:
    return list(_tool_tags(tuple(categories), settings.paper_tags))


@lru_cache(maxsize=4096)
def _tool_tags(categories: tuple[str, ...], paper_tags: tuple[str, ...]) -> tuple[str, ...]:
    tags = [tag.lstrip("#") for tag in paper_tags]
    for category in arxiv_categories(categories):  # papers cached before they were told apart
        tag = category_tag(category)
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)


def paper_properties(content: PaperNoteContent) -> dict[str, Any]:
    """The owned properties, in the order a new note lists them."""
    key, paper = content.key, content.paper
    if paper is None:
        return {
            "vaultpapers": PAPER_KIND,
            "arxiv_id": key,
            **({"citekey": content.citekey} if content.citekey else {}),
            "url": f"https://arxiv.org/abs/{key}",
            "pdf": f"https://arxiv.org/pdf/{key}",
            "metadata": PENDING,
        }
    values: dict[str, Any] = {
        "vaultpapers": PAPER_KIND,
        "arxiv_id": key,
        **({"citekey": content.citekey} if content.citekey else {}),
        "version": paper.version,
        "title": paper.title,
        "authors": list(paper.authors),
        "published": paper.published_date,
        "updated": paper.updated_date,
        "primary_category": paper.primary_category,
        "categories": list(arxiv_categories(paper.categories)),
        "url": paper.url,
        "pdf": paper.pdf,
    }
    for optional in ("doi", "journal_ref", "comment"):
        value = getattr(paper, optional)
        if value:
            values[optional] = value
    if content.series:
        values["series"] = content.series
    return values


def _relation_properties(content: PaperNoteContent, existing: Mapping[str, Any]) -> dict[str, Any]:
    """`related` and `unrelated`, written only when they have entries or already exist."""
    values: dict[str, Any] = {}
    related = content.related
    for name in RELATION_PROPERTIES:
        entries = getattr(related, name) if related else []
        if entries or name in existing:
            values[name] = list(entries)
    return values


def _merge_list(existing: Any, old_tool: Sequence[str], new_tool: Sequence[str]) -> list[str]:
    """Keep the user's entries; replace the ones we derived from the old metadata."""
    if isinstance(existing, str):
        existing = [existing]
    if not isinstance(existing, list):
        existing = []
    # Entries can be anything YAML reads, e.g. `[[Mixer]]` unquoted is a nested list: keep them.
    stale = set(old_tool) - set(new_tool)
    merged = [item for item in existing if not (isinstance(item, str) and item in stale)]
    merged.extend(item for item in new_tool if item not in merged)
    return merged


def render_sections(content: PaperNoteContent) -> dict[str, str]:
    sections = {"paper": _paper_section(content.key, content.paper)}
    if content.related is not None and (content.related.entries or content.series_link):
        sections["related"] = render_related_section(content.related.entries, content.series_link)
    sections["mentions"] = _mentions_section(content.mentions)
    return sections


def _paper_section(key: str, paper: Paper | None) -> str:
    if paper is None:
        return (
            f"# arXiv {key}\n\n"
            "Metadata not fetched yet: vaultpapers completes this note on its next run "
            "with network access.\n\n"
            f"- **Links:** [arXiv](https://arxiv.org/abs/{key}) · [PDF](https://arxiv.org/pdf/{key})\n"
        )
    categories = arxiv_categories(paper.categories)
    # A list, not consecutive lines: strict CommonMark renderers would merge those into one.
    lines = [
        f"# {escape_inline(paper.title)}",
        "",
        f"- **Authors:** {escape_inline(', '.join(paper.authors))}",
        f"- **Published:** {paper.published_date.isoformat()} · "
        f"**Updated:** {paper.updated_date.isoformat()} (v{paper.version})",
        f"- **Categories:** {', '.join(categories) or paper.primary_category}",
        f"- **Links:** [arXiv]({paper.url}) · [PDF]({paper.pdf})"
        # A DOI may hold anything (`)`, `<!--`, spaces): percent-encoded, it stays one link.
        + (f" · [DOI](https://doi.org/{quote(paper.doi, safe='/:;')})" if paper.doi else ""),
    ]
    if paper.journal_ref:
        lines.append(f"- **Journal:** {escape_inline(paper.journal_ref)}")
    if paper.comment:
        lines.append(f"- **Comment:** {escape_inline(paper.comment)}")
    lines += ["", "## Abstract", "", _escape_block(paper.summary.strip())]
    return "\n".join(lines) + "\n"


def _mentions_section(mentions: Sequence[Mention]) -> str:
    if not mentions:
        return "## Mentioned in\n\n_No note cites this paper any more._\n"
    items = "\n".join(f"- {note_link(mention.link)}" for mention in mentions)
    return f"## Mentioned in\n\n{items}\n"


def escape_inline(text: str) -> str:
    # Titles and abstracts are data, not Markdown: neutralise what would turn into links,
    # embeds, comments or markers; keep `$...$` maths readable.
    return (
        text.replace("\n", " ")
        .replace("[[", "[\u200b[")
        .replace("]]", "]\u200b]")
        .replace("<!--", "&lt;!--")
        .replace("%%", "%\u200b%")
    )


def _escape_block(text: str) -> str:
    escaped = escape_inline(re.sub(r"\s*\n\s*", " ", text))
    if escaped.lstrip().startswith(("#", "---", ">", "-", "*", "+", "=")):
        escaped = "\\" + escaped.lstrip()
    return escaped


def wrap_section(name: str, content: str) -> str:
    begin, end = OWNED_MARKERS
    return f"{begin.format(name)}\n{content}{end.format(name)}"


def new_paper_note(content: PaperNoteContent, settings: Settings) -> str:
    return render_new_paper_note(content, settings)[0]


def render_new_paper_note(
    content: PaperNoteContent, settings: Settings
) -> tuple[str, dict[str, Any]]:
    """The note's text, and the properties its front matter holds (what reading its YAML
    gives back: the emitter round-trips every value it writes)."""
    paper = content.paper
    # The order an update puts them in, so notes made at once or over several runs agree.
    properties = paper_properties(content)
    properties.update(_relation_properties(content, {}))
    at = content.citekey if settings.citekey_aliases else None
    properties["aliases"] = tool_aliases(paper.title if paper else None, at)
    properties["tags"] = tool_tags(paper.categories if paper else (), settings)
    sections = render_sections(content)
    body = "\n\n".join(
        wrap_section(name, sections[name]) for name in SECTION_ORDER if name in sections
    )
    return f"---\n{dump_properties(properties)}---\n{body}\n", properties


def _made_key_aliases(aliases: Any, content: PaperNoteContent, settings: Settings) -> list[str]:
    """The `@` aliases this paper's note holds for a citekey we made for it (the pattern's key,
    with or without a collision suffix) that is no longer its citekey: the user changed the
    citekey, so the alias we added for the old one goes."""
    assert content.paper is not None
    made = base_citekey(content.key, content.paper, settings.citekey_pattern)
    ours = re.compile(rf"@{re.escape(made)}[a-z]*")
    return [
        alias
        for alias in (aliases if isinstance(aliases, list) else [])
        if isinstance(alias, str) and ours.fullmatch(alias) and alias != f"@{content.citekey}"
    ]


def update_paper_note(text: str, content: PaperNoteContent, settings: Settings) -> str:
    """The note with our properties and sections brought up to date, the rest untouched."""
    newline = "\r\n" if "\r\n" in text else "\n"
    front = find_front_matter(text)
    if front is None or front.data is None:
        raise NoteError("its front matter is missing or invalid, so its arxiv_id cannot be trusted")
    old = front.data
    desired = paper_properties(content)
    if old.get("citekey") is not None and not isinstance(old["citekey"], str):
        # The user's, kept as written: `citekey: 2021` (the key "2021") or a list we cannot use.
        desired["citekey"] = old["citekey"]
    desired.update(_relation_properties(content, old))
    old_categories = [c for c in old.get("categories") or [] if isinstance(c, str)]
    old_citekey = old.get("citekey") if isinstance(old.get("citekey"), str) else None
    # A paper's old title stays among the aliases when arXiv's changes: links to the note by
    # that name keep resolving. Only the `@citekey` alias we added for a citekey the user
    # since changed is taken out (with `citekey_aliases` off, no `@` alias is ours).
    at = content.citekey if settings.citekey_aliases else None
    ours_before = tool_aliases(None, old_citekey if at else None)
    if at and content.paper is not None:
        ours_before += _made_key_aliases(old.get("aliases"), content, settings)
    desired["aliases"] = _merge_list(
        old.get("aliases"),
        ours_before,
        tool_aliases(desired.get("title"), at),
    )
    desired["tags"] = _merge_list(
        old.get("tags"),
        tool_tags(old_categories, settings),
        tool_tags(desired.get("categories", ()), settings),
    )
    owned = (*OWNED_PROPERTIES, *RELATION_PROPERTIES, "aliases", "tags")
    yaml_text = text[front.yaml_start : front.yaml_end]
    try:
        new_yaml = edit_properties(yaml_text, desired, owned, newline=newline)
    except PropertiesError as exc:
        raise NoteError(str(exc)) from exc
    body = text[front.end :]
    body = replace_sections(body, render_sections(content), newline)
    return text[: front.yaml_start] + new_yaml + text[front.yaml_end : front.end] + body


def update_adopted_note(text: str, content: PaperNoteContent) -> str:
    """A user's own note on a paper with what vaultpapers knows inserted: the paper's
    properties it lacks (`ADOPTED_PROPERTIES`), appended to its front matter, and our related
    papers and "Mentioned in" sections (between our markers, which we own). Nothing of the
    user's is changed: their properties, `related` included, and their text stay as written."""
    newline = "\r\n" if "\r\n" in text else "\n"
    front = find_front_matter(text)
    if front is None or front.data is None:
        raise NoteError("its front matter is missing or invalid")
    has = {name.casefold() for name in front.data if isinstance(name, str)}
    values = paper_properties(content) if content.paper is not None else {}
    wanted = {
        name: values[name]
        for name, meanings in ADOPTED_PROPERTIES.items()
        if name in values and not has & meanings
    }
    yaml_text = text[front.yaml_start : front.yaml_end]
    if wanted:
        try:
            yaml_text = edit_properties(yaml_text, wanted, tuple(wanted), newline=newline)
        except PropertiesError as exc:
            raise NoteError(str(exc)) from exc
    body = text[front.end :]
    # (A marker is a comment, which code_spans counts too: inside one means inside another.)
    code = code_spans(body) if "<!-- vaultpapers:" in body else ()
    if any(strictly_inside(marker.start(), code) for marker in _MARKER.finditer(body)):
        # A marker of ours quoted in the user's code: which sections are ours is unclear.
        raise NoteError("it quotes a vaultpapers marker in code; its sections are left alone")
    present = {name for _, _, name in _sections(body)}
    rendered = render_sections(content)
    # Sections of ours already there are brought up to date, never taken out (a related list
    # that emptied says so); new ones go at the end, after everything the user wrote.
    if "related" in present and "related" not in rendered:
        rendered["related"] = render_related_section([], content.series_link)
    sections = {
        n: rendered[n] for n in SECTION_ORDER if n in rendered and (n != "paper" or n in present)
    }
    body = replace_sections(body, {n: sections[n] for n in present if n in sections}, newline)
    for name in SECTION_ORDER:
        if name in sections and name not in present:
            block = wrap_section(name, sections[name]).replace("\n", newline)
            if body:
                gap = newline if body.endswith("\n") else newline * 2
            else:  # right after the front matter, whose closing line may lack its line break
                gap = "" if text[: front.end].endswith("\n") else newline
            body += gap + block + newline
    return text[: front.yaml_start] + yaml_text + text[front.yaml_end : front.end] + body


def replace_sections(body: str, sections: Mapping[str, str], newline: str) -> str:
    """Swap each owned section for its new content, drop the ones no longer wanted, and add
    missing ones next to their neighbours in SECTION_ORDER."""
    found = _sections(body)
    if len(_MARKER.findall(body)) != 2 * len(found):
        raise NoteError(
            "a vaultpapers begin/end marker is missing or damaged; restore it or delete the "
            "section with both markers, and it will be regenerated"
        )

    def block(name: str) -> str:
        return wrap_section(name, sections[name]).replace("\n", newline)

    for start, end, name in reversed(found):
        before, after = body[:start], body[end:]
        if name in sections:
            body = before + block(name) + after
        elif name in SECTION_ORDER:
            gap = newline * 2 if before.strip() and after.strip() else ""
            body = before.rstrip("\r\n") + gap + after.lstrip("\r\n")
            if not before.strip() and not after.strip():
                body = ""
    for name in (n for n in SECTION_ORDER if n in sections):
        if f"<!-- vaultpapers:begin {name} -->" in body:
            continue
        body = _insert_section(body, name, block(name), newline)
    return body


def _insert_section(body: str, name: str, block: str, newline: str) -> str:
    order = list(SECTION_ORDER)
    earlier = [n for n in order[: order.index(name)] if f"vaultpapers:end {n} -->" in body]
    later = [n for n in order[order.index(name) + 1 :] if f"vaultpapers:begin {n} -->" in body]
    if earlier:
        anchor = body.index(f"<!-- vaultpapers:end {earlier[-1]} -->")
        anchor += len(f"<!-- vaultpapers:end {earlier[-1]} -->")
        return body[:anchor] + newline + newline + block + body[anchor:]
    if later:
        anchor = body.index(f"<!-- vaultpapers:begin {later[0]} -->")
        return body[:anchor] + block + newline + newline + body[anchor:]
    if not body.strip():
        return block + newline
    if name == order[0]:
        return block + newline + newline + body.lstrip("\r\n")
    return body.rstrip("\r\n") + newline + newline + block + newline


def without_sections(text: str) -> str:
    """The text without our sections: what of a note is the user's own."""
    for start, end in reversed(owned_spans(text)):
        text = text[:start] + text[end:]
    return text


def section_text(text: str, name: str) -> str | None:
    return next((text[start:end] for start, end, n in _sections(text) if n == name), None)


def owned_spans(text: str) -> list[tuple[int, int]]:
    """Where our generated sections sit, so nothing inside them counts as the user's."""
    return [(start, end) for start, end, _ in _sections(text)]


def _sections(text: str) -> list[tuple[int, int, str]]:
    """Each generated section as (start, end, name): a begin marker and the first end marker
    of the same name after it; a begin marker never closed is not one. Found by looking for
    the markers alone (a pattern with a lazy `.*?` steps through every character, and an index
    note's section can be thousands of lines long)."""
    found = []
    at = 0
    while (begin := _BEGIN.search(text, at)) is not None:
        name = begin.group(1)
        end_marker = f"<!-- vaultpapers:end {name} -->"
        end = text.find(end_marker, begin.end())
        if end < 0:
            at = begin.start() + 1  # unclosed: a later begin marker may still open one
            continue
        found.append((begin.start(), end + len(end_marker), name))
        at = end + len(end_marker)
    return found
