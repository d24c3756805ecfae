"""Scanning one note: what kind it is, what it cites, which tags it carries.

Pure and per note. A scan holds everything planning needs without the note's text (which links
already follow each reference, the related-papers section of a paper note), so a scan kept
from an earlier run stands in for a note that has not changed, and the text is read only for
the few notes that will actually be written.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any

from vaultpapers.arxiv.ids import ArxivId, InvalidArxivId, parse_arxiv_id
from vaultpapers.markdown.notelinks import end_of_links_at, links_at
from vaultpapers.markdown.properties import FrontMatter, find_front_matter
from vaultpapers.markdown.references import Reference, find_references
from vaultpapers.markdown.spans import Span, code_spans, front_matter_span, merge_spans
from vaultpapers.markdown.tags import body_tags, front_matter_tags
from vaultpapers.markdown.titles import (
    TitleIndex,
    TitleMatch,
    find_titles,
    mask_from_bytes,
    mask_to_bytes,
    near_misses,
    normal_words,
    pair_mask,
    title_candidates,
    word_pairs,
)
from vaultpapers.model import FileState, Note, Problem
from vaultpapers.notes.citekeys import pandoc_citekeys
from vaultpapers.notes.index_notes import INDEX_KINDS, note_summary
from vaultpapers.notes.paper_note import PAPER_KIND, owned_spans, section_text, without_sections
from vaultpapers.notes.related import PaperRelations

SCAN_FORMAT = 12  # bump whenever what a scan holds, or how it is stored, changes
USER_KIND = "user"
OPAQUE_KIND = "opaque"  # a note we could not scan: it keeps its name, nothing else
# A file another Obsidian plugin keeps for its own use, not the user's prose: an Excalidraw or
# tldraw drawing, whose body is the drawing's data (its text elements, its JSON), rewritten by
# the plugin at every save. Never read for references or tags, never written, never listed.
PLUGIN_KIND = "plugin"
_PLUGIN_SUFFIXES = (".excalidraw.md",)  # Excalidraw's own naming, whatever the front matter
_PLUGIN_KEYS = ("excalidraw-plugin", "tldraw-file")  # front matter they mark their files with
_PLUGIN_KEY_LINE = re.compile(r"^(?:excalidraw-plugin|tldraw-file)\s*:", re.MULTILINE)
# The properties planning reads; kept small and JSON-safe so scans can be stored.
KEPT_PROPERTIES = ("title", "related", "unrelated")
_PAPER_KIND_LINE = re.compile(rf"^vaultpapers:\s*['\"]?{PAPER_KIND}['\"]?\s*$", re.MULTILINE)
_CLAIMED_PAPER = re.compile(r"^arxiv_id:\s*['\"]?([^'\"\s]+)", re.MULTILINE)
# Properties in which researchers keep the paper a note of theirs is about (paper-note templates,
# obsidian-scholar, Zotero exports), compared case-insensitively.
PAPER_PROPERTIES = frozenset(
    ("source", "url", "link", "arxiv", "arxiv_id", "arxiv-id", "arxiv_url", "paper", "pdf")
)
_NO = ("false", "no", "off")  # `vaultpapers: false`, as YAML 1.1 spells it
# `key: value` on one line, read from front matter YAML cannot parse.
_PROPERTY_LINE = re.compile(r"^([A-Za-z_-]+):[ \t]*['\"]?([^'\"\s]+)['\"]?[ \t]*\r?$", re.MULTILINE)

log = logging.getLogger("vaultpapers")


@dataclass(eq=False)  # not frozen: a vault has tens of thousands, and frozen ones build slowly
class NoteScan:
    """One note as the planner sees it. `note.text` is None for a scan kept from a run
    before: the note is unchanged, and its text is read only if it has to be written.

    References are kept encoded (`_references`) and decoded only when asked for: most runs
    need just the ids a note cites (`cited`), and a vault has tens of thousands of references.
    """

    note: Note
    kind: str  # "user", "paper", an index kind ("tag", "series"), or "opaque"
    cited: tuple[str, ...] = ()  # the arXiv keys cited, each once, in order
    problems: tuple[Problem, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)
    paper_key: str | None = None  # paper notes: the arxiv_id in the front matter
    index_name: str | None = None  # index notes: the tag or series they list
    tags: tuple[str, ...] = ()
    summary: str = ""
    related_section: str | None = None  # paper notes: our "Related papers" section as it is
    # A user's note naming exactly one paper in its properties (`source: <arXiv URL>`): the
    # paper it is about. Whether it becomes that paper's note is the planner's call.
    names_paper: str | None = None
    # The `citekey` property of a paper note, or of a user's note naming a paper: the user's
    # (or ours, set once) and kept.
    citekey: str | None = None
    # The citekeys a user's note cites in Pandoc's syntax (`[@jaegle2021perceiver]`).
    cites: tuple[str, ...] = ()
    # A user's note: the `pair_mask` of its words, to tell whether it may name a title the
    # vault learns later (None: not worked out, as when titles are off).
    words: int | None = None
    # A user's note: the titles it writes like a paper's that no known title matched (their
    # `TitleCandidate.phrase`), to look up on arXiv (`titles: search`).
    title_candidates: tuple[str, ...] = ()
    _references: tuple[tuple[Any, ...], ...] = ()  # see _encode_reference

    @cached_property
    def references(self) -> tuple[Reference, ...]:
        return tuple(_decode_reference(row) for row in self._references)

    @cached_property
    def links_after(self) -> tuple[tuple[str, ...], ...]:
        """The link targets already standing at each reference's insertion point."""
        return tuple(tuple(row[-1]) for row in self._references)

    @cached_property
    def said(self) -> PaperRelations | None:
        """A paper note's related parts as they stand (None for any other note)."""
        if self.paper_key is None:
            return None
        return PaperRelations.read(self.paper_key, self.properties, self.related_section)

    @cached_property
    def speaks(self) -> bool:
        """Whether a paper note's related parts hold a word of the user's. Kept with the
        scan: every run asks it of every paper note, and rarely anything else of them."""
        return self.said is not None and self.said.speaks


def _encode_reference(ref: Reference, links_after: list[str]) -> tuple[Any, ...]:
    return (
        ref.arxiv_id.key,
        ref.arxiv_id.version,
        ref.start,
        ref.end,
        ref.line,
        ref.insert_at,
        ref.in_table,
        ref.next_wikilink,
        ref.by_title,
        links_after,
    )


def _decode_reference(row: tuple[Any, ...] | list[Any]) -> Reference:
    key, version, start, end, line, insert_at, in_table, next_wikilink, by_title, _ = row
    return Reference(
        ArxivId(key, version), start, end, line, insert_at, in_table, next_wikilink, by_title
    )


# A user's note's lines written like a paper title, as its scan found them: the phrases to
# look up (`NoteScan.title_candidates`) and the near misses (problems), and its word mask.
# Links inserted into a note change none of them: they go where the note cites, these lines
# cite nothing, and no title counts inside a link.
TitleLines = tuple[tuple[str, ...], tuple["Problem", ...], int | None]
NEAR_MISS = "looks like a paper title: "  # how a near miss's problem starts


def title_lines_of(scan: NoteScan) -> TitleLines:
    """What `scan` found of the note's lines written like a title (see `TitleLines`)."""
    misses = tuple(p for p in scan.problems if p.message.startswith(NEAR_MISS))
    return scan.title_candidates, misses, scan.words


def scan_note(
    note: Note,
    front_matter: Mapping[str, Any] | None = None,
    titles: TitleIndex | None = None,
    title_lines: TitleLines | None = None,
) -> NoteScan:
    """`front_matter`: what the note's YAML holds, when the caller wrote it (spares a parse).
    `titles`: the paper titles the vault knows, looked for in the user's notes. `title_lines`:
    what an earlier scan found of its lines written like a title, when only links were
    inserted since (they are not looked for again)."""
    assert note.text is not None
    if note.path.lower().endswith(_PLUGIN_SUFFIXES):
        return NoteScan(note, PLUGIN_KIND)
    front = find_front_matter(note.text, front_matter)
    data: Mapping[str, Any] = {}
    if front is not None and front.data is None:
        if _PLUGIN_KEY_LINE.search(note.text, front.yaml_start, front.yaml_end):
            return NoteScan(note, PLUGIN_KIND)
        return _scan_unreadable(note, front, titles, title_lines)
    if front is not None and front.data is not None:
        data = front.data
        if any(data.get(key) for key in _PLUGIN_KEYS):
            return NoteScan(note, PLUGIN_KIND)
    kind = data.get("vaultpapers")
    if kind in INDEX_KINDS and isinstance(data.get(kind), str):
        return NoteScan(note, kind, index_name=data[kind])
    if kind == PAPER_KIND:
        raw_id = data.get("arxiv_id")
        try:
            paper_key = parse_arxiv_id(raw_id).key if isinstance(raw_id, str) else None
        except InvalidArxivId:
            paper_key = None
        if paper_key is not None:
            return _scan_content(note, PAPER_KIND, data, paper_key, [])
        problem = Problem(
            note.path,
            1,
            f"paper note with an unusable arxiv_id {raw_id!r} "
            "(write it quoted, e.g. arxiv_id: '2103.03206'); treated as your own note",
            "paper-note-bad-id",
        )
        return _scan_content(
            note, USER_KIND, data, None, [problem], titles=titles, title_lines=title_lines
        )
    return _scan_content(note, USER_KIND, data, None, [], titles=titles, title_lines=title_lines)


def _scan_unreadable(
    note: Note,
    front: FrontMatter,
    titles: TitleIndex | None,
    title_lines: TitleLines | None,
) -> NoteScan:
    """A note whose front matter is not YAML we can read."""
    assert note.text is not None
    # Unreadable front matter: the note is left exactly as it is (no links go in). If it
    # still says it is a paper note, it keeps its paper: no duplicate is made.
    message = f"front matter not read: {front.error}; left untouched"
    problem = Problem(note.path, 1, message, "front-matter-invalid")
    raw = note.text[front.yaml_start : front.yaml_end]
    claimed = _CLAIMED_PAPER.search(raw) if _PAPER_KIND_LINE.search(raw) else None
    paper_key = None
    if claimed is not None:
        try:
            paper_key = parse_arxiv_id(claimed.group(1)).key
        except InvalidArxivId:
            paper_key = None
    scan_kind = PAPER_KIND if paper_key else USER_KIND
    scan = _scan_content(
        note,
        scan_kind,
        {},
        paper_key,
        [problem],
        insertable=False,
        titles=titles,
        title_lines=title_lines,
    )
    # `title: A: B` unquoted (clippers write it) breaks the YAML, not a `source:` line.
    lines = {m[1]: m[2] for m in _PROPERTY_LINE.finditer(raw)}
    if not paper_key and lines.get("vaultpapers", "").lower() not in _NO:
        scan.names_paper = named_paper(lines)
    return scan


def scan_or_report(
    note: Note,
    front_matter: Mapping[str, Any] | None = None,
    titles: TitleIndex | None = None,
    title_lines: TitleLines | None = None,
) -> NoteScan:
    """`scan_note`, except that a failure costs only this note: it is then treated as text
    we do not touch, with a problem saying so."""
    try:
        return scan_note(note, front_matter, titles, title_lines)
    except Exception as exc:  # a bug must cost one note, never the whole vault
        message = (
            f"not scanned: vaultpapers failed on it ({type(exc).__name__}: {exc}); "
            "please report this"
        )
        problem = Problem(note.path, None, message, "scan-failed")
        return NoteScan(note, OPAQUE_KIND, problems=(problem,))


def _scan_content(
    note: Note,
    kind: str,
    data: Mapping[str, Any],
    paper_key: str | None,
    problems: list[Problem],
    *,
    insertable: bool = True,
    titles: TitleIndex | None = None,
    title_lines: TitleLines | None = None,
) -> NoteScan:
    """What `note` holds that planning needs: references (by URL, id and title), tags,
    citations, its summary; `insertable`: whether links may go into it at all."""
    text = note.text
    assert text is not None
    front, names, skip = _whose(text, kind, data)
    found = find_references(text, skip_spans=skip)
    references = _outside_links_after(
        text, tuple(r for r in found.references if r.arxiv_id.key != paper_key)
    )
    named, mask, candidates = _titles_named(
        note,
        titles if kind == USER_KIND else None,
        title_lines,
        skip,
        names,
        lambda: {r.line for r in found.references} | {b.line for b in found.invalid},
        problems,
    )
    references = _with_title_references(text, references, named)
    problems += [
        Problem(note.path, bad.line, f"{bad.text}: {bad.reason}", "invalid-arxiv-id")
        for bad in found.invalid
    ]
    tags = front_matter_tags(data.get("tags", data.get("tag")))
    tags += body_tags(text, skip_spans=skip)
    properties = _kept(data)
    visible = without_sections(text) if skip else text
    cites, citekey = _citekeys(note, kind, data, front, skip, names, problems)
    return NoteScan(
        note,
        kind,
        cited=tuple(dict.fromkeys(r.arxiv_id.key for r in references)),
        problems=tuple(problems),
        properties=properties,
        paper_key=paper_key,
        tags=_unique(tags),
        summary="" if kind == PAPER_KIND else note_summary(visible, properties),
        related_section=section_text(text, "related") if kind == PAPER_KIND else None,
        names_paper=names,
        citekey=citekey,
        cites=cites,
        words=mask,
        title_candidates=candidates,
        _references=_encoded(text, references, insertable),
    )


def _whose(
    text: str, kind: str, data: Mapping[str, Any]
) -> tuple[Span | None, str | None, list[Span]]:
    """The note's front matter, the paper a user's note is about (its own note on the paper),
    and the sections that are ours in it: in our paper notes and in the user's own notes on
    papers, those are not the user's text."""
    front = front_matter_span(text)
    names = None
    if kind == USER_KIND and data.get("vaultpapers") is not False:
        names = named_paper(data, text[: front[1]] if front else "")
    skip = owned_spans(text) if kind == PAPER_KIND or names is not None else []
    return front, names, skip


def _with_title_references(
    text: str, references: tuple[Reference, ...], named: list[TitleMatch]
) -> tuple[Reference, ...]:
    """The references by URL and id with those by title among them, in the text's order."""
    if not named:
        return references
    by_title = _outside_links_after(text, tuple(m.reference() for m in named))
    return tuple(sorted(references + by_title, key=lambda r: r.start))


def _citekeys(
    note: Note,
    kind: str,
    data: Mapping[str, Any],
    front: Span | None,
    skip: list[Span],
    names: str | None,
    problems: list[Problem],
) -> tuple[tuple[str, ...], str | None]:
    """The Pandoc citekeys a user's note cites (`[@key]`), and the citekey a paper note (or
    the user's own note on a paper) gives its paper; an unusable one goes to `problems`."""
    text = note.text
    assert text is not None
    cites: tuple[str, ...] = ()
    if kind == USER_KIND and "@" in text:
        cites = pandoc_citekeys(text, merge_spans([front] if front else [], code_spans(text), skip))
    citekey = None
    if kind == PAPER_KIND or names is not None:
        citekey = _citekey(data.get("citekey"), text[: front[1]] if front else "")
    if citekey == UNUSABLE_CITEKEY:
        problems.append(Problem(note.path, None, _UNUSABLE_CITEKEY_PROBLEM, "citekey-not-text"))
    return cites, citekey


def _encoded(text: str, references: tuple[Reference, ...], insertable: bool) -> tuple[Any, ...]:
    """The references as a scan keeps them, each with the links standing after it."""
    return tuple(
        _encode_reference(
            r if insertable else replace(r, insert_at=None),
            links_at(text, r.insert_at) if r.insert_at is not None else [],
        )
        for r in references
    )


def _titles_named(
    note: Note,
    titles: TitleIndex | None,
    title_lines: TitleLines | None,
    skip: list[Span],
    names: str | None,
    cited_lines: Callable[[], set[int]],
    problems: list[Problem],
) -> tuple[list[TitleMatch], int | None, tuple[str, ...]]:
    """The known titles a user's note names, its word mask and the titles it writes to look
    up; its near misses go to `problems` (none of them without `titles`). `title_lines`: what
    an earlier scan found of its lines written like a title, when only links were inserted
    since."""
    text = note.text
    assert text is not None
    if titles is None:
        return [], None, ()
    if title_lines is not None:
        # The words the note held before the links went in: words in a link name no title.
        candidates, misses, mask = title_lines
        problems += [replace(problem, path=note.path) for problem in misses]
        return find_titles(text, titles, skip_spans=skip, own=names), mask, candidates
    words = normal_words(text)
    pairs = word_pairs(words)
    named = find_titles(text, titles, skip_spans=skip, own=names, pairs=pairs)
    cited = cited_lines()
    problems += [
        Problem(
            note.path,
            miss.line,
            f'{NEAR_MISS}"{miss.written}"; the closest known is '
            f'"{miss.title.title}" ({miss.title.key}); not linked',
            "title-near-miss",
        )
        for miss in near_misses(
            text, titles, named, skip_spans=skip, pairs=pairs, cited_lines=cited
        )
    ]
    to_look_up = title_candidates(text, named, skip_spans=skip, cited_lines=cited, index=titles)
    return named, pair_mask(words), tuple(dict.fromkeys(c.phrase for c in to_look_up))


def with_titles(scan: NoteScan, text: str, titles: TitleIndex) -> NoteScan | None:
    """What `scan_note` makes of a user's note with `titles`, from its `scan` made without
    titles (`text`: the note as that scan read it): the title references, near misses, lines
    to look up and word mask added, the rest kept, since nothing else a scan holds depends on
    titles. Spares a first run scanning its notes twice over. None where the scan cannot tell
    (not a user's note, already matched, front matter unread): scan the note anew."""
    if scan.kind != USER_KIND or scan.words is not None:
        return None
    if any(problem.code == "front-matter-invalid" for problem in scan.problems):
        return None
    note = replace(scan.note, text=text)
    names = scan.names_paper
    skip = owned_spans(text) if names is not None else []
    references = scan.references
    # As `_scan_content` orders them: a paper note's unusable id first, then near misses.
    first = [p for p in scan.problems if p.code == "paper-note-bad-id"]
    problems = list(first)
    invalid = {p.line for p in scan.problems if p.code == "invalid-arxiv-id" and p.line}
    named, mask, candidates = _titles_named(
        note, titles, None, skip, names, lambda: {r.line for r in references} | invalid, problems
    )
    problems += [p for p in scan.problems if p.code != "paper-note-bad-id"]
    references = _with_title_references(text, references, named)
    kept = {f.name: getattr(scan, f.name) for f in fields(NoteScan)}
    return NoteScan(
        **{
            **kept,
            "note": note,
            "cited": tuple(dict.fromkeys(r.arxiv_id.key for r in references)),
            "problems": tuple(problems),
            "words": mask,
            "title_candidates": candidates,
            "_references": _encoded(text, references, True),
        }
    )


# What a scan holds for a note whose `citekey` is no key at all (a list, a mapping): the note
# has one, which is the user's, so none is made for it, and none is used.
UNUSABLE_CITEKEY = ""
_UNUSABLE_CITEKEY_PROBLEM = (
    "citekey is a list or a mapping, not one key: left as it is; the paper is left out of "
    "the bibliography until it holds one"
)


def _citekey(value: Any, yaml_text: str) -> str | None:
    """The citekey a note's `citekey` property holds: text as it is; any other scalar as
    written (`citekey: 2021` is the key `2021`, not a missing one to be made)."""
    if value is None or isinstance(value, str):
        return value.strip() if value and value.strip() else None
    if isinstance(value, (list, dict)):
        return UNUSABLE_CITEKEY
    if isinstance(value, float):  # `citekey: 2021.10` as written, not 2021.1
        return _as_written("citekey", yaml_text) or str(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def named_paper(data: Mapping[str, Any], yaml_text: str = "") -> str | None:
    """The one arXiv paper a user's note names in its paper properties (`source`, `url`,
    `arxiv`, ...), or None when they name none or several: then the note is about no single
    paper, and guessing which would put someone's reading log in a paper's place.
    `yaml_text`: the front matter as written, for ids YAML read as numbers."""
    keys: set[str] = set()
    for name, value in data.items():
        if not isinstance(name, str) or name.casefold() not in PAPER_PROPERTIES:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, float):  # `arxiv: 1412.6980` unquoted: YAML read 1412.698
                item = _as_written(name, yaml_text)
            if isinstance(item, str):
                keys.update(_papers_in(item))
    return keys.pop() if len(keys) == 1 else None


def _as_written(name: str, yaml_text: str) -> str | None:
    written = re.search(rf"^{re.escape(name)}:[ \t]*([0-9.]+)[ \t]*\r?$", yaml_text, re.M)
    return written.group(1) if written else None


def _papers_in(value: str) -> set[str]:
    found = {ref.arxiv_id.key for ref in find_references(value).references}
    if not found:
        with contextlib.suppress(InvalidArxivId):  # a bare id: `arxiv: '2103.03206'`
            found.add(parse_arxiv_id(value.strip()).key)
    return found


def _outside_links_after(text: str, references: tuple[Reference, ...]) -> tuple[Reference, ...]:
    """The references, but those in the label of a link standing right after a reference: a
    Markdown link we inserted there ('[arXiv:2103.03206](...)') is our link, not a citation,
    as a wikilink is."""
    if "](" not in text:
        return references
    starts = sorted({r.insert_at for r in references if r.insert_at is not None})
    ends = [end_of_links_at(text, start) for start in starts]

    def in_links(pos: int) -> bool:
        at = bisect.bisect_right(starts, pos) - 1
        return at >= 0 and pos < ends[at]

    return tuple(ref for ref in references if not in_links(ref.start))


def _kept(data: Mapping[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key in KEPT_PROPERTIES:
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, list):
            kept[key] = [item if isinstance(item, str) else str(item) for item in value]
        elif value is None or isinstance(value, str):
            kept[key] = value
        else:
            kept[key] = str(value)
    return kept


def _unique(tags: list[str]) -> tuple[str, ...]:
    """Obsidian compares tags case-insensitively; the first spelling wins."""
    seen: set[str] = set()
    unique = []
    for tag in tags:
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            unique.append(tag)
    return tuple(unique)


# -- keeping scans between runs ------------------------------------------------------------
# A kept scan is a row of plain values (`ScanRow`, one per `SCAN_COLUMNS`), stored as they are
# in the state's columns: what every run needs of every note (its file, kind, citations, tags)
# without a JSON parse, and the rest (`body`: properties, summary, related section, references)
# as one JSON text decoded only if asked for. Most runs never ask for most notes' body.

SCAN_COLUMNS = (
    "bom",
    "mtime_ns",
    "size",
    "digest",
    "kind",
    "paper_key",
    "index_name",
    "speaks",
    "names_paper",
    "citekey",
    "cites",
    "cited",
    "tags",
    "words",
    "title_candidates",
    "problems",
    "body",
)
ScanRow = tuple[Any, ...]
Rescan = Callable[[Note], "NoteScan | None"]


def scan_to_row(scan: NoteScan) -> ScanRow:
    note = scan.note
    problems = [[p.line, p.message, p.code] for p in scan.problems]
    # A kept scan's body as it was read, unless it was decoded: not decoded to be encoded again.
    body = scan.__dict__.get("_body") if "_references" not in scan.__dict__ else None
    if not isinstance(body, str):
        body = json.dumps(
            [scan.properties, scan.summary, scan.related_section, scan._references],
            ensure_ascii=False,
        )
    return (
        int(note.bom),
        note.state.mtime_ns,
        note.state.size,
        note.state.digest,
        scan.kind,
        scan.paper_key,
        scan.index_name,
        int(scan.speaks),
        scan.names_paper,
        scan.citekey,
        " ".join(scan.cites),  # Pandoc's citekeys hold no whitespace
        " ".join(scan.cited),  # arXiv keys hold no space, tags no whitespace
        " ".join(scan.tags),
        None if scan.words is None else mask_to_bytes(scan.words),
        "\n".join(scan.title_candidates) or None,  # a phrase holds no newline
        json.dumps(problems, ensure_ascii=False) if problems else None,
        body,
    )


def with_state(row: ScanRow, state: FileState) -> ScanRow:
    """The kept scan of a note whose file is now in `state` (its text the one scanned)."""
    return (row[0], state.mtime_ns, state.size, state.digest, *row[4:])


def scan_from_row(path: str, stat: str, row: ScanRow, rescan: Rescan | None = None) -> NoteScan:
    """The scan kept for `path`; its note has no text (read it only when needed). `rescan`
    works the body out again from the note itself, should the kept one be unreadable."""
    (
        bom,
        mtime_ns,
        size,
        digest,
        kind,
        paper_key,
        index_name,
        speaks,
        names_paper,
        citekey,
        cites,
        cited,
        tags,
        words,
        candidates,
        problems,
        body,
    ) = row
    if not (
        isinstance(kind, str)
        and isinstance(cited, str)
        and isinstance(cites, str)
        and isinstance(tags, str)
        and isinstance(body, str)
        and isinstance(digest, str)
    ):
        raise TypeError("a kept scan with a column of the wrong type")
    # Built without the dataclasses' `__init__`: a vault's worth of them is decoded per run,
    # and frozen ones set every field through `object.__setattr__`. Every field is set here.
    state = object.__new__(FileState)
    state.__dict__.update(mtime_ns=mtime_ns, size=size, digest=digest)
    note = object.__new__(Note)
    note.__dict__.update(path=path, text=None, bom=bool(bom), state=state, stat=stat)
    scan = object.__new__(KeptScan)
    scan.__dict__.update(
        note=note,
        kind=kind,
        cited=tuple(cited.split(" ")) if cited else (),
        problems=_problems_from(path, problems) if problems else (),
        paper_key=paper_key,
        index_name=index_name,
        speaks=bool(speaks),
        names_paper=names_paper,
        citekey=citekey,
        cites=tuple(cites.split(" ")) if cites else (),
        tags=tuple(tags.split(" ")) if tags else (),
        words=mask_from_bytes(words) if isinstance(words, bytes) else None,
        title_candidates=tuple(candidates.split("\n")) if isinstance(candidates, str) else (),
        _body=body,
        _rescan=rescan,
    )
    return scan


def _problems_from(path: str, problems: str) -> tuple[Problem, ...]:
    """A kept scan's problems column decoded. Few notes have problems: most rows hold None
    and never come here."""
    return tuple(Problem(path, line, message, code) for line, message, code in json.loads(problems))


class _InBody:
    """A field of a kept scan's body: the first one asked for decodes them all."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, scan: KeptScan | None, owner: type) -> Any:
        if scan is None:
            return self
        scan._decode_body()
        return scan.__dict__[self.name]


class KeptScan(NoteScan):
    """A scan kept from an earlier run (see `scan_from_row`)."""

    properties = _InBody()
    summary = _InBody()
    related_section = _InBody()
    _references = _InBody()

    def _decode_body(self) -> None:
        fields = self.__dict__
        try:
            properties, summary, related_section, references = json.loads(fields["_body"])
            if not (isinstance(properties, dict) and isinstance(summary, str)):
                raise TypeError("not a scan's body")
        except (ValueError, TypeError) as exc:
            rescan = fields["_rescan"]
            again = rescan(self.note) if rescan is not None else None
            outcome = "read again" if again is not None else "left for the run after it changed"
            log.warning("%s: kept scan unreadable (%s); %s", self.note.path, exc, outcome)
            properties, summary, related_section, references = (
                (again.properties, again.summary, again.related_section, again._references)
                if again is not None
                else ({}, "", None, ())
            )
        fields.update(
            properties=properties,
            summary=summary,
            related_section=related_section,
            _references=references,
        )
