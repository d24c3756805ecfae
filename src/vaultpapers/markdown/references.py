"""Every arXiv reference in a note, with a safe place to insert a link next to it.

One precompiled alternation recognises every form; it runs only around literal anchors found
with ``str.find``, so a note is scanned once at C speed. Everything else is bisection into
spans computed once per note (see :mod:`vaultpapers.markdown.spans`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from vaultpapers.arxiv.ids import OLD_STYLE_ARCHIVES, ArxivId, InvalidArxivId, parse_arxiv_id
from vaultpapers.markdown.spans import (
    LinkConstruct,
    Span,
    code_spans,
    dataview_field_spans,
    front_matter_span,
    html_block_spans,
    link_constructs,
    merge_spans,
    table_spans,
    wikilink_spans,
)


@dataclass(frozen=True)
class Reference:
    """One citation of an arXiv paper.

    ``start``/``end`` delimit the reference as written (the whole URL, or ``arXiv:ID``).
    ``insert_at`` is where a wikilink to the paper note may be inserted without breaking any
    Markdown or YAML construct, or None when there is no such place nearby. ``in_table`` says
    the reference sits in a table row, where an inserted ``[[a|b]]`` must be written
    ``[[a\\|b]]``. ``next_wikilink`` is the target of a wikilink already standing at
    ``insert_at`` (optionally after one space), so a link is never inserted twice.
    ``start``/``end`` of a reference ``by_title`` delimit the title as written.
    """

    arxiv_id: ArxivId
    start: int
    end: int
    line: int
    insert_at: int | None
    in_table: bool
    next_wikilink: str | None
    # Named by its title in the text (see :mod:`vaultpapers.markdown.titles`), not by a URL
    # or an id.
    by_title: bool = False


@dataclass(frozen=True)
class InvalidReference:
    """Text that claims to cite arXiv (an arXiv URL, ``arXiv:...``) with a malformed id."""

    text: str
    line: int
    reason: str


@dataclass(frozen=True)
class ReferenceScan:
    references: tuple[Reference, ...]
    invalid: tuple[InvalidReference, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Canonical ids cited, each once, in order of first citation."""
        return tuple(dict.fromkeys(reference.arxiv_id.key for reference in self.references))


# Loose id shapes: wide enough to catch typos (so they can be reported), never guessed at.
_URL_ID = r"(?:[A-Za-z][A-Za-z-]*(?:\.[A-Za-z][A-Za-z-]*)?/)?\d[0-9A-Za-z.]*"
_PREFIXED_ID = (
    r"(?:[A-Za-z][A-Za-z-]*(?:\.[A-Za-z][A-Za-z-]*)?/\d[0-9A-Za-z.]*|\d+\.\d[0-9A-Za-z.]*)"
)
_ARCHIVES = "|".join(re.escape(name) for name in sorted(OLD_STYLE_ARCHIVES, key=len, reverse=True))

_REFERENCE = re.compile(
    rf"""
    (?P<url>(?<![A-Za-z0-9.\-])(?:(?i:https?)://)?
      (?:
         (?i:(?:www\.|export\.|browse\.)?arxiv\.org)/(?:abs|pdf|html|ps|format)/
       | (?i:(?:dx\.)?doi\.org)/10\.48550/(?i:arxiv)\.
       | (?i:(?:www\.)?alphaxiv\.org)/(?:abs|overview)/
       | (?i:(?:www\.)?huggingface\.co)/papers/
       | (?i:ar5iv(?:\.labs)?\.arxiv\.org)/(?:abs|html)/
       | (?i:ar5iv\.org)/(?:abs|html)/
       | (?i:(?:www\.)?arxiv-vanity\.com)/papers/
       | (?i:papers\.cool)/arxiv/
       | (?i:(?:www\.)?semanticscholar\.org)/arxiv/
      )
      (?P<url_id>{_URL_ID})
    )
    | (?P<prefixed>(?<![A-Za-z0-9])(?i:arxiv)(?:\*\*)?[:\uff1a](?:\*\*)?[ ]?
        (?P<prefixed_id>{_PREFIXED_ID}))
    | (?P<spaced>(?<![A-Za-z0-9])(?i:arxiv)[ ](?P<spaced_id>\d{{4}}\.\d{{4,5}}(?:v\d+)?)
        (?![0-9A-Za-z]))
    | (?P<doi>(?<![A-Za-z0-9/.])10\.48550/(?i:arxiv)\.(?P<doi_id>{_PREFIXED_ID}))
    | (?<![A-Za-z0-9/.\-])
      (?P<old_id>(?:{_ARCHIVES})(?:\.[A-Za-z][A-Za-z-]{{0,15}})?/\d{{7}}(?:v\d+)?)
      (?![A-Za-z0-9/])
    """,
    re.VERBOSE,
)
# Every form above contains one of these (in the usual spellings: 'arXiv.ORG' with mixed case
# is not looked for). Python's regex engine tries an alternation at every position of the
# text, which is slow on a large note; ``str.find`` for a few literals is an order of magnitude
# faster, and the alternation then only runs in a window around each hit. The word
# "arXiv" in prose is deliberately not an anchor: notes about papers say it all the time.
_ANCHOR_LITERALS = (
    "iv:",  # arXiv:, arxiv:
    "IV:",  # ARXIV:
    "iv.org/",  # arxiv.org, alphaxiv.org, ar5iv.org, ar5iv.labs.arxiv.org
    "IV.org/",
    "IV.ORG/",
    "10.48550/",  # arXiv's DOI prefix
    "/papers/",  # huggingface.co, arxiv-vanity.com
    "/arxiv/",  # papers.cool, semanticscholar.org
)
# Anchors tried only where a test on the text around them passes: 'arXiv 2402.17152' without a
# colon ('arXiv ' is everywhere in notes about papers: only hits followed by a digit), 'arXiv：'
# as CJK keyboards type it and '**arXiv**:' (the colon is common: only hits after 'iv').
_SPACED_ANCHOR_LITERALS = ("iv ", "IV ")
_COLON_AFTER_IV_LITERALS = ("\uff1a", "**:")
_OLD_STYLE_ANCHOR = re.compile(r"/\d{7}")
# Longest text a match can hold before its anchor ('https://dx.doi.org/10.48550/arXiv.' and
# 'cond-mat.<16-letter subject class>/'), and a window wide enough for any real id after it.
_BEFORE_ANCHOR = 48
_MATCH_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z1]")
_AFTER_ANCHOR = 512

# RFC 3986 characters; '[' ']' (IPv6 hosts only) and '|' (a table cell boundary) end a URL.
_URL_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#@!$&'()*+,;=%"
)
# What GFM leaves out of the end of an autolink (';' and quote included, as they end sentences).
_TRAILING_PUNCTUATION = frozenset(".,;:!?'*_~")
_URL_RUN = re.compile(r"[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%]*")
_URL_SCHEME = re.compile(r"(?i:https?://|www\.)")
_URL_SCAN_LIMIT = 8192
_NEXT_WIKILINK = re.compile(r" ?\[\[([^\[\]\n]*)\]\]")


def _reference_matches(text: str) -> list[re.Match[str]]:
    """What ``_REFERENCE.finditer(text)`` yields, found through cheap literal anchors.

    A match holding an anchor starts at most ``_BEFORE_ANCHOR`` characters before it, at a
    position not preceded by an ASCII letter or digit (every alternative has that lookbehind;
    '_' and Korean text may come right before a reference). Each such start is tried once, so
    even a note made only of ``arXiv:`` stays linear."""
    anchors: set[int] = set()
    for literal in _ANCHOR_LITERALS:
        at = text.find(literal)
        while at >= 0:
            anchors.add(at)
            at = text.find(literal, at + 1)
    for literal in _SPACED_ANCHOR_LITERALS:
        at = text.find(literal)
        while at >= 0:
            if text[at + 3 : at + 4].isdigit():
                anchors.add(at)
            at = text.find(literal, at + 1)
    for literal in _COLON_AFTER_IV_LITERALS:
        at = text.find(literal)
        while at >= 0:
            if text[at - 2 : at].lower() == "iv":
                anchors.add(at)
            at = text.find(literal, at + 1)
    anchors.update(anchor.start() for anchor in _OLD_STYLE_ANCHOR.finditer(text))
    matches: list[re.Match[str]] = []
    next_start = 0  # starts before this are inside a match or already tried
    for anchor in sorted(anchors):
        if anchor < next_start:
            continue
        window_end = min(len(text), anchor + _AFTER_ANCHOR)
        first = max(next_start, anchor - _BEFORE_ANCHOR)
        # No form holds whitespace before its anchor: start after the last space.
        before = text[first:anchor]
        first += 1 + max(before.rfind(" "), before.rfind("\n"), before.rfind("\t"))
        for candidate in _MATCH_START.finditer(text, first, anchor + 1):
            match = _REFERENCE.match(text, candidate.start(), window_end)
            if match is not None:
                matches.append(match)
                next_start = match.end()
                break
        else:
            next_start = anchor + 1
    return matches


_ATX_HEADING = re.compile(r"[ ]{0,3}#{1,6}(?:[ \t]|$)", re.MULTILINE)


def find_references(text: str, *, skip_spans: Sequence[Span] = ()) -> ReferenceScan:
    """Find every arXiv reference in ``text``.

    Nothing is found inside ``skip_spans``, code (see :func:`vaultpapers.markdown.spans.code_spans`)
    or wikilinks. References in the front matter, in HTML blocks (where Markdown is not
    rendered) and in Dataview inline fields (whose values queries read) are found but get
    ``insert_at=None``. A link to one entry of a paper's bibliography (``#bib.bib39`` on its
    HTML page) cites some other paper, and is no reference. References sharing one insertion
    point (a link whose text and URL cite the same paper) are reported once.
    """
    matches = _reference_matches(text)
    if not matches:
        return ReferenceScan((), ())
    found = [_Match(match) for match in matches]
    if skip_spans:
        skipped = _SpanIndex(merge_spans(skip_spans))
        if all(skipped.overlaps(match.start, match.id_end) for match in found):
            return ReferenceScan((), ())  # a paper note's own links, all in generated text
    front_matter = front_matter_span(text)
    code = code_spans(text)
    excluded = merge_spans(code, wikilink_spans(text), skip_spans)
    html_blocks = html_block_spans(text)
    not_prose = merge_spans([front_matter] if front_matter else [], excluded, html_blocks)
    context = _Context(
        text=text,
        front_matter=front_matter,
        excluded=_SpanIndex(excluded),
        no_insertion=_SpanIndex(merge_spans(html_blocks, dataview_field_spans(text))),
        constructs=_outermost(
            link_constructs(text, exclude=not_prose)
            + link_constructs(text, exclude=not_prose, loose=True)
        ),
        tables=_SpanIndex(table_spans(text, exclude=code)),
    )
    context.matched = _SpanIndex([(match.start, match.id_end) for match in found])
    references: list[Reference] = []
    invalid: list[InvalidReference] = []
    seen: set[tuple[str, int]] = set()
    for match in found:
        result = context.examine(match)
        if result is None:
            continue
        if isinstance(result, InvalidReference):
            invalid.append(result)
            continue
        if result.insert_at is not None:
            if (result.arxiv_id.key, result.insert_at) in seen:
                continue
            seen.add((result.arxiv_id.key, result.insert_at))
        references.append(result)
    return ReferenceScan(tuple(references), tuple(invalid))


class _Match:
    """One regex match, reduced to what the checks need."""

    __slots__ = ("form", "id_end", "raw_id", "start")

    def __init__(self, match: re.Match[str]) -> None:
        # The named group that closed last tells the form apart: url, prefixed, doi or old_id.
        self.form = match.lastgroup or ""
        group = self.form if self.form == "old_id" else f"{self.form}_id"
        self.raw_id = match[group].rstrip(".")  # a sentence's full stop is not part of the id
        self.start = match.start()
        self.id_end = match.start(group) + len(self.raw_id)


class _SpanIndex:
    """Sorted, non-overlapping spans with bisection over plain integers."""

    __slots__ = ("ends", "starts")

    def __init__(self, spans: Sequence[Span]) -> None:
        self.starts = [start for start, _ in spans]
        self.ends = [end for _, end in spans]

    def index_containing(self, pos: int) -> int:
        """Index of the span with ``start <= pos < end``, or -1."""
        index = bisect.bisect_right(self.starts, pos) - 1
        return index if index >= 0 and pos < self.ends[index] else -1

    def strictly_inside(self, pos: int) -> int:
        """Index of the span with ``start < pos < end``, or -1."""
        index = bisect.bisect_left(self.starts, pos) - 1
        return index if index >= 0 and pos < self.ends[index] else -1

    def overlaps(self, start: int, end: int) -> bool:
        index = bisect.bisect_left(self.starts, end) - 1
        return index >= 0 and self.ends[index] > start

    def next_start(self, pos: int) -> int | None:
        index = bisect.bisect_left(self.starts, pos)
        return self.starts[index] if index < len(self.starts) else None


@dataclass(frozen=True)
class _Whole:
    """Text no link goes inside: one construct, or constructs the two readings of a note's
    brackets (CommonMark's and a loose one) pair differently, taken together."""

    start: int
    end: int
    link_may_follow: bool


def _outermost(constructs: list[LinkConstruct]) -> list[_Whole]:
    """The constructs not contained in another, in text order; constructs that overlap
    without one containing the other are one, after which a link may follow only if it may
    follow each of them."""
    outermost: list[_Whole] = []
    for construct in sorted(constructs, key=lambda construct: (construct.start, -construct.end)):
        allowed = construct.insertion_after_allowed
        if outermost and construct.start < outermost[-1].end:
            last = outermost[-1]
            if construct.end > last.end:
                outermost[-1] = _Whole(last.start, construct.end, last.link_may_follow and allowed)
            continue
        outermost.append(_Whole(construct.start, construct.end, allowed))
    return outermost


class _Context:
    """Everything known about one note, asked about its matches in text order."""

    def __init__(
        self,
        *,
        text: str,
        front_matter: Span | None,
        excluded: _SpanIndex,
        no_insertion: _SpanIndex,
        constructs: list[_Whole],
        tables: _SpanIndex,
    ) -> None:
        self.text = text
        self.front_matter_end = front_matter[1] if front_matter else -1
        self.excluded = excluded
        self.no_insertion = no_insertion
        self.constructs = _SpanIndex([(construct.start, construct.end) for construct in constructs])
        self.link_may_follow = [construct.link_may_follow for construct in constructs]
        self.tables = tables
        self.matched = _SpanIndex([])
        # Matches arrive in text order, so lines are counted incrementally.
        self._line = 1
        self._line_counted_to = 0

    def _line_of(self, pos: int) -> int:
        self._line += self.text.count("\n", self._line_counted_to, pos)
        self._line_counted_to = pos
        return self._line

    def examine(self, match: _Match) -> Reference | InvalidReference | None:
        start, id_end = match.start, match.id_end
        if self.excluded.overlaps(start, id_end):
            return None
        url_end = self._enclosing_url_end(start, id_end, is_url=match.form == "url")
        end = url_end if match.form == "url" and url_end is not None else id_end
        if match.form == "url" and self.text.startswith("#bib.bib", id_end, end):
            return None  # one entry of the paper's bibliography: some other paper
        try:
            arxiv_id = parse_arxiv_id(match.raw_id)
        except InvalidArxivId as error:
            if match.form in ("old_id", "spaced"):
                # A bare old-style id, or one after 'arXiv ' without a colon, is only a
                # reference when valid; otherwise it is a path or a number in prose.
                return None
            return InvalidReference(self.text[start:end], self._line_of(start), error.reason)
        insert_at = self._insert_at(start, id_end, url_end)
        return Reference(
            arxiv_id=arxiv_id,
            start=start,
            end=end,
            line=self._line_of(start),
            insert_at=insert_at,
            in_table=self.tables.index_containing(start) >= 0,
            next_wikilink=None if insert_at is None else _wikilink_target_at(self.text, insert_at),
        )

    def _insert_at(self, start: int, id_end: int, url_end: int | None) -> int | None:
        if start < self.front_matter_end or self.no_insertion.index_containing(start) >= 0:
            return None
        # Text added to a heading changes its anchor and breaks [[Note#Heading]] links to it.
        line_start = self.text.rfind("\n", 0, start) + 1
        if _ATX_HEADING.match(self.text, line_start):
            return None
        construct = self.constructs.index_containing(start)
        if construct >= 0:
            if not self.link_may_follow[construct]:
                return None
            position = self.constructs.ends[construct]
            # '[[Paper](url)]', as awesome lists write it: the brackets around the link are
            # text, and a link inserted inside them would read as part of that text.
            opened = self.constructs.starts[construct] - 1
            if opened >= 0 and self.text[opened] == "[" and self.text.startswith("]", position):
                position += 1
        else:
            position = id_end if url_end is None else url_end
        # A URL glued to the next reference ('...01601(arXiv: 2106.12345') may end inside it;
        # a link inserted there would split that reference, so go past it instead.
        split = self.matched.strictly_inside(position)
        if split >= 0:
            position = self.matched.ends[split]
        # Constructs never straddle code by design, but a stray '%%' or '<!--' inside a URL can
        # still open a comment that runs past the construct's end.
        if self.excluded.strictly_inside(position) >= 0:
            return None
        # The end of an HTML block's or a full-line field's last line is still inside it.
        if self.no_insertion.index_containing(position) >= 0:
            return None
        # '[[Note]](url)' reads as one Markdown link, no wikilink: a link inserted right before
        # a '(' could turn into one. (Whether the '(' opens a link destination can change when
        # a link is inserted inside the parentheses, so none goes before any '('.)
        if self.text.startswith("(", position):
            return None
        return position

    def _enclosing_url_end(self, start: int, id_end: int, *, is_url: bool) -> int | None:
        """End of the URL the reference at ``start`` belongs to: a URL that began earlier in
        the same run of URL characters and still runs past the id (a Wayback or search link),
        else the reference itself when it is a URL; None outside any URL."""
        text = self.text
        floor = max(0, start - _URL_SCAN_LIMIT)
        token_start = start
        while token_start > floor and text[token_start - 1] in _URL_CHARS:
            token_start -= 1
        for scheme in _URL_SCHEME.finditer(text, token_start, start):
            end = self._url_end(scheme.start())
            if end >= id_end:
                return end
        if is_url:
            return max(self._url_end(start), id_end)
        return None

    def _url_end(self, url_start: int) -> int:
        """End of the URL starting at ``url_start`` as GFM delimits an autolink (ASCII URL
        characters, balanced parentheses, no trailing punctuation), never past the start of
        code or a wikilink."""
        text = self.text
        next_excluded = self.excluded.next_start(url_start)
        limit = min(
            len(text),
            url_start + _URL_SCAN_LIMIT,
            len(text) if next_excluded is None else next_excluded,
        )
        run = _URL_RUN.match(text, url_start, limit)
        assert run is not None  # `*`: it matches, if only the empty string
        end = run.end()
        if ")" in text[url_start:end]:
            end = _balanced_url_end(text, url_start, end)
        while end > url_start and text[end - 1] in _TRAILING_PUNCTUATION:
            end -= 1
        return end


def _balanced_url_end(text: str, start: int, end: int) -> int:
    """Where the URL ``text[start:end]`` stops at its first unbalanced ')'."""
    depth = 0
    for pos in range(start, end):
        char = text[pos]
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                return pos
            depth -= 1
    return end


def _wikilink_target_at(text: str, pos: int) -> str | None:
    link = _NEXT_WIKILINK.match(text, pos)
    if not link:
        return None
    target = link.group(1).split("|", 1)[0]
    if target.endswith("\\"):
        target = target[:-1]
    target = target.split("#", 1)[0].split("^", 1)[0].strip()
    return target or None
