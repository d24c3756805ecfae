"""Where a Markdown note is not prose: front matter, code, comments, math, links, tables.

Every function here is pure and returns character offsets into the text it was given, as
sorted lists of half-open ``(start, end)`` spans. The scanners are deliberately simpler than a
full CommonMark parser, but they never backtrack badly: each is linear (or close to it) in the
size of the note, so even a note of many megabytes is scanned quickly.

When in doubt a scanner errs towards "this is not prose": a reference wrongly taken for code is
merely left alone, while a link inserted into real code would corrupt it.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Span = tuple[int, int]

# --------------------------------------------------------------------------------------------
# Span helpers


def merge_spans(*span_lists: Iterable[Span]) -> list[Span]:
    """Sort spans and merge the ones that overlap. Spans that merely touch stay apart, so a
    position between two adjacent constructs still counts as outside both."""
    ordered = sorted(span for spans in span_lists for span in spans if span[0] < span[1])
    merged: list[Span] = []
    for start, end in ordered:
        if merged and start < merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _span_at_or_before(pos: int, spans: Sequence[Span]) -> Span | None:
    index = bisect.bisect_right(spans, (pos, float("inf"))) - 1
    return spans[index] if index >= 0 else None


def in_spans(pos: int, spans: Sequence[Span]) -> bool:
    """Whether ``start <= pos < end`` for one of the sorted, non-overlapping ``spans``."""
    span = _span_at_or_before(pos, spans)
    return span is not None and pos < span[1]


def strictly_inside(pos: int, spans: Sequence[Span]) -> bool:
    """Whether ``start < pos < end`` for one of the sorted, non-overlapping ``spans``: text
    inserted at ``pos`` would land inside that span rather than next to it."""
    span = _span_at_or_before(pos, spans)
    return span is not None and span[0] < pos < span[1]


def overlaps(start: int, end: int, spans: Sequence[Span]) -> bool:
    """Whether ``[start, end)`` shares at least one character with one of the sorted,
    non-overlapping ``spans``."""
    span = _span_at_or_before(end - 1, spans)
    return span is not None and span[1] > start


def next_span_start(pos: int, spans: Sequence[Span]) -> int | None:
    """Start of the first span starting at or after ``pos``."""
    index = bisect.bisect_left(spans, (pos, -1))
    return spans[index][0] if index < len(spans) else None


# --------------------------------------------------------------------------------------------
# Lines


class LineIndex:
    """Line numbers for offsets into one text, computed once per text."""

    def __init__(self, text: str) -> None:
        self._starts = [0]
        self._starts.extend(match.end() for match in re.finditer("\n", text))
        self._length = len(text)

    def line_of(self, offset: int) -> int:
        """1-based number of the line holding ``offset`` (an offset at a newline belongs to the
        line that newline ends)."""
        return bisect.bisect_right(self._starts, offset)

    def line_start(self, line: int) -> int:
        return self._starts[line - 1]

    def line_end(self, line: int) -> int:
        """Offset of the newline ending ``line`` (or of the end of the text)."""
        if line < len(self._starts):
            return self._starts[line] - 1
        return self._length

    @property
    def line_count(self) -> int:
        return len(self._starts)


def line_number(text: str, offset: int) -> int:
    """1-based line of ``offset``. For many lookups in one text build a :class:`LineIndex`."""
    return text.count("\n", 0, offset) + 1


# --------------------------------------------------------------------------------------------
# Front matter

_FRONT_MATTER_OPEN = re.compile(r"\ufeff?---[ \t]*\r?\n")
_FRONT_MATTER_CLOSE = re.compile(r"\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)")


def front_matter_span(text: str) -> Span | None:
    """YAML front matter at the very start of the note, from the opening ``---`` through the
    line ending of the closing ``---`` or ``...`` line. A leading BOM is not part of the span.
    Without a closing line there is no front matter (Obsidian shows such a note as prose)."""
    opening = _FRONT_MATTER_OPEN.match(text)
    if not opening:
        return None
    closing = _FRONT_MATTER_CLOSE.search(text, opening.end() - 1)
    if not closing:
        return None
    return (1 if text.startswith("\ufeff") else 0, closing.end())


# --------------------------------------------------------------------------------------------
# Fast scanning


class _LiteralScanner:
    """The next occurrence of any of a few literals.

    ``str.find`` per literal is an order of magnitude faster than a regex alternation, which
    Python's engine tries position by position; each literal's next hit is cached, so scanning
    a text front to back stays linear."""

    def __init__(self, text: str, literals: Iterable[str]) -> None:
        self._text = text
        self._next = dict.fromkeys(literals, -2)

    def find(self, pos: int) -> tuple[int, str] | None:
        best: tuple[int, str] | None = None
        for literal, at in self._next.items():
            if at == -1:
                continue
            if at < pos:
                at = self._text.find(literal, pos)
                self._next[literal] = at
                if at == -1:
                    continue
            if best is None or at < best[0]:
                best = (at, literal)
        return best


def _preceding_backslashes(text: str, pos: int) -> int:
    count = 0
    while pos - count - 1 >= 0 and text[pos - count - 1] == "\\":
        count += 1
    return count


# --------------------------------------------------------------------------------------------
# Code, comments, math


@dataclass(frozen=True)
class _FenceLine:
    line_start: int
    line_end: int
    char: str
    length: int
    quote_depth: int
    info: str


def _fence_line_at(text: str, run_start: int) -> _FenceLine | None:
    """The fence line whose backtick or tilde run starts at ``run_start``, if the run opens its
    line (after indentation and blockquote markers).

    Any indentation is accepted: fences nested in list items sit past CommonMark's three-space
    limit relative to the page, and missing one would expose code to editing."""
    line_start = run_start
    while line_start > 0 and text[line_start - 1] in " \t>":
        line_start -= 1
    if line_start > 0 and text[line_start - 1] != "\n":
        return None
    char = text[run_start]
    run_end = run_start
    while run_end < len(text) and text[run_end] == char:
        run_end += 1
    line_end = text.find("\n", run_end)
    if line_end < 0:
        line_end = len(text)
    return _FenceLine(
        line_start=line_start,
        line_end=line_end,
        char=char,
        length=run_end - run_start,
        quote_depth=text.count(">", line_start, run_start),
        info=text[run_end:line_end],
    )


def _fenced_blocks(text: str, start: int) -> list[Span]:
    """Fenced code blocks from ``start`` on; an unclosed fence runs to the end of the text (or
    of its blockquote)."""
    blocks: list[Span] = []
    scanner = _LiteralScanner(text, ("```", "~~~"))
    pos = start
    while True:
        hit = scanner.find(pos)
        if hit is None:
            return blocks
        run_start = hit[0]
        opening = _fence_line_at(text, run_start)
        if opening is None or (opening.char == "`" and "`" in opening.info):
            # Mid-line, or a backtick in the info string: inline code, not a fence.
            pos = run_start + 3
            while pos < len(text) and text[pos] == hit[1][0]:
                pos += 1
            continue
        if opening.quote_depth == 0:
            end = _fence_end(text, opening)
        else:
            end = _quoted_fence_end(text, opening)
        blocks.append((opening.line_start, end))
        if end >= len(text):
            return blocks
        pos = end


def _is_closing(line: _FenceLine, opening: _FenceLine) -> bool:
    return (
        line.char == opening.char
        and line.length >= opening.length
        and line.quote_depth == opening.quote_depth
        and not line.info.strip()
    )


def _fence_end(text: str, opening: _FenceLine) -> int:
    marker = opening.char * 3
    pos = opening.line_end + 1
    while True:
        run_start = text.find(marker, pos)
        if run_start < 0:
            return len(text)
        line = _fence_line_at(text, run_start)
        if line is not None and _is_closing(line, opening):
            return line.line_end
        pos = text.find("\n", run_start)
        if pos < 0:
            return len(text)


def _quoted_fence_end(text: str, opening: _FenceLine) -> int:
    """End of a fence opened inside a blockquote: at its closing fence, or where the quote
    ends (a code block never continues lazily)."""
    last_end = opening.line_end
    line_start = opening.line_end + 1
    while line_start < len(text):
        newline = text.find("\n", line_start)
        line_end = len(text) if newline < 0 else newline
        line = text[line_start:line_end]
        prefix = _QUOTE_PREFIX.match(line)
        if prefix is None or prefix.group().count(">") < opening.quote_depth:
            return last_end
        body = line[prefix.end() :].lstrip(" \t")
        if body.startswith(opening.char * 3):
            fence = _fence_line_at(text, line_start + len(line) - len(body))
            if fence is not None and _is_closing(fence, opening):
                return line_end
        last_end = line_end
        line_start = line_end + 1
    return len(text)


_QUOTE_PREFIX = re.compile(r"(?:[ \t]*>)*")
# "``*" rather than "`+": only a literal first character lets the engine skip ahead fast.
_BACKTICK_RUN = re.compile(r"``*")
_BLANK = re.compile(r"[ \t]*\r?$", re.MULTILINE)
# Lines that start a new block: an inline code span cannot continue onto them.
_BLOCK_START = re.compile(
    r"[ \t]*(?:#{1,6}(?:[ \t]|\r?$)|[-*+][ \t]|\d{1,9}[.)][ \t]|>|\||`{3,}|~{3,})",
    re.MULTILINE,
)
# Lines that form a block on their own: an inline code span cannot continue past them.
_SINGLE_LINE_BLOCK = re.compile(r"[ \t]*(?:#{1,6}(?:[ \t]|\r?$)|\|)", re.MULTILINE)


class _ParagraphEnds:
    """End of the run of lines an inline code span may stretch over, found lazily.

    Callers ask in increasing order of position, so each line is examined at most once."""

    def __init__(self, text: str, fences: Sequence[Span]) -> None:
        self._text = text
        self._fences = fences
        self._cached_end = -1

    def end_for(self, pos: int) -> int:
        if pos < self._cached_end:
            return self._cached_end
        text = self._text
        fence_start = next_span_start(pos, self._fences)
        limit = len(text) if fence_start is None else fence_start
        line_start = text.rfind("\n", 0, pos) + 1
        while True:
            newline = text.find("\n", line_start, limit)
            if newline < 0:
                end = limit
                break
            next_start = newline + 1
            if (
                _SINGLE_LINE_BLOCK.match(text, line_start, newline)
                or next_start >= limit
                or _BLANK.match(text, next_start, limit)
                or _BLOCK_START.match(text, next_start, limit)
            ):
                end = newline
                break
            line_start = next_start
        self._cached_end = end
        return end


def not_markdown(text: str) -> list[Span]:
    """The front matter and code: where no Markdown block starts."""
    front_matter = front_matter_span(text)
    return merge_spans([front_matter] if front_matter else [], code_spans(text))


# Longer than our other functions on purpose: one pass of one scanner over the text, whose
# branches share its position and the fence cursor; split up, each part would need them all.
@functools.lru_cache(maxsize=4)  # references and tags both ask, for the same text
def code_spans(text: str) -> tuple[Span, ...]:
    """Everything that is code or hidden rather than prose.

    Fenced code blocks (```` ``` ```` or ``~~~``, also inside blockquotes), inline code spans
    (CommonMark backtick runs of equal length, not across a blank line or into another block),
    HTML comments ``<!-- -->``, Obsidian comments ``%% %%`` and math blocks ``$$ $$``. Unclosed
    fences and comments run to the end of the text (that is how they render); an unclosed
    ``$$`` or backtick run is literal text. Front matter is not Markdown and is left out.
    """
    front_matter = front_matter_span(text)
    scan_start = front_matter[1] if front_matter else 0
    fences = _fenced_blocks(text, scan_start)
    spans: list[Span] = list(fences)
    length = len(text)
    runs_by_length: dict[int, list[int]] | None = None
    paragraph_ends = _ParagraphEnds(text, fences)
    scanner = _LiteralScanner(text, ("`", "<!--", "%%", "$$"))
    fence_index = 0
    pos = scan_start
    while pos < length:
        hit = scanner.find(pos)
        if hit is None:
            break
        start, kind = hit
        while fence_index < len(fences) and fences[fence_index][1] <= start:
            fence_index += 1
        if fence_index < len(fences) and fences[fence_index][0] <= start:
            pos = fences[fence_index][1]
            continue
        escaped = _preceding_backslashes(text, start) % 2
        if kind == "`":
            run = _BACKTICK_RUN.match(text, start)
            assert run is not None  # the scanner found a backtick at `start`
            run_end = run.end()
            run_length = run_end - start - escaped
            if run_length == 0:
                pos = run_end
                continue
            if runs_by_length is None:
                runs_by_length = _backtick_runs(text, scan_start)
            closer = _matching_run(
                runs_by_length.get(run_length, ()), run_end, paragraph_ends.end_for(start)
            )
            if closer is None:
                pos = run_end
            else:
                spans.append((start + escaped, closer + run_length))
                pos = closer + run_length
        elif escaped:
            pos = start + 1
        elif kind == "$$":
            close = text.find("$$", start + 2)
            if close < 0:
                pos = start + 2
            else:
                spans.append((start, close + 2))
                pos = close + 2
        else:
            terminator = "-->" if kind == "<!--" else "%%"
            close = text.find(terminator, start + len(kind))
            end = length if close < 0 else close + len(terminator)
            spans.append((start, end))
            pos = end
    return tuple(merge_spans(spans))


def _backtick_runs(text: str, start: int) -> dict[int, list[int]]:
    runs: dict[int, list[int]] = {}
    for run in _BACKTICK_RUN.finditer(text, start):
        runs.setdefault(run.end() - run.start(), []).append(run.start())
    return runs


def _matching_run(starts: Sequence[int], after: int, limit: int) -> int | None:
    index = bisect.bisect_left(starts, after)
    if index < len(starts) and starts[index] < limit:
        return starts[index]
    return None


# --------------------------------------------------------------------------------------------
# Wikilinks

_WIKILINK = re.compile(r"\[\[[^\[\]\n]*\]\]")


@functools.lru_cache(maxsize=4)
def wikilink_spans(text: str) -> tuple[Span, ...]:
    """``[[...]]`` and ``![[...]]`` links (never across a line break).

    ``[[Paper]](https://...)``, the "button" of READMEs and paper lists, is no wikilink: in
    CommonMark it is one inline link whose text is ``[Paper]`` (see :func:`link_constructs`)."""
    spans: list[Span] = []
    for link in _WIKILINK.finditer(text):
        end = link.end()
        if _opens_link_destination(text, end):
            continue
        start = link.start()
        if start > 0 and text[start - 1] == "!":
            start -= 1
        spans.append((start, end))
    return tuple(spans)


# --------------------------------------------------------------------------------------------
# Links and raw HTML

LinkKind = Literal["inline", "autolink", "reference", "definition", "html"]


@dataclass(frozen=True)
class LinkConstruct:
    """A Markdown construct whose inside must not be edited.

    ``inline`` is ``[text](url "title")`` or an image ``![alt](src)``; ``autolink`` is
    ``<https://...>``; ``reference`` is ``[text][label]`` or a shortcut ``[label]`` with a
    definition; ``definition`` is a link reference definition line ``[label]: url``; ``html``
    is a raw HTML tag.
    """

    start: int
    end: int
    kind: LinkKind

    @property
    def insertion_after_allowed(self) -> bool:
        """Whether text may be inserted right after the construct to annotate what it cites.
        After a definition line or a raw HTML tag an inserted link would not render."""
        return self.kind in ("inline", "autolink")


_AUTOLINK = re.compile(r"<[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*>")
_HTML_TAG = re.compile(
    r"</?[A-Za-z][A-Za-z0-9-]*"
    r"(?:\s+[A-Za-z_:][A-Za-z0-9_.:-]*(?:\s*=\s*(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s\"'=<>`]+))?)*"
    r"\s*/?>"
)
_ANCHOR_OPEN = re.compile(r"<[aA][\s>]")
_ANCHOR_CLOSE = re.compile(r"</[aA]\s*>")
_LABEL = re.compile(r"\[((?:[^\[\]\\\n]|\\.){0,999})\]")
_DEFINITION = re.compile(
    r"[ \t]{0,3}(?:>[ \t]?)*[ \t]{0,3}\[(?!\^)(?P<label>(?:[^\[\]\\\n]|\\.){1,999})\]:"
    r"[ \t]*(?:\r?\n[ \t]*)?(?:<[^<>\n]*>|[^\s<>]+)[^\n]*"
)
_BLANK_LINE = re.compile(r"\n[ \t]*\r?\n")


def _nested_destination(depth: int) -> str:
    """A link destination with parentheses balanced up to ``depth`` levels (cmark allows 32;
    real URLs use one or two). Every alternative starts with a different character, so the
    engine never has two ways to match and a failed attempt costs linear time."""
    plain = r"[^\s()\\]|\\\S|\\(?!\S)"
    pattern = f"(?:{plain})*"
    for _ in range(depth):
        pattern = f"(?:{plain}|\\({pattern}\\))*"
    return pattern


_LINE_BREAK_SPACE = r"(?:[ \t]*(?:\r?\n[ \t]*)?)"
_SOME_SPACE = r"(?:[ \t]+(?:\r?\n[ \t]*)?|\r?\n[ \t]*)"
_TITLE = r"(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\))"
# What follows ']' in an inline link: '(' destination, optional title, ')'.
_INLINE_LINK_TAIL = re.compile(
    rf"\({_LINE_BREAK_SPACE}"
    rf"(?:<(?:[^<>\n\\]|\\.)*>|{_nested_destination(3)})"
    rf"(?:{_SOME_SPACE}(?:{_TITLE}{_LINE_BREAK_SPACE})?)?\)",
    re.DOTALL,
)


def _opens_link_destination(text: str, pos: int) -> bool:
    """Whether ``text[pos:]`` starts with ``(destination "title")``, which turns the brackets
    right before it (a wikilink's ``[[…]]`` included) into one inline link."""
    return text.startswith("(", pos) and _INLINE_LINK_TAIL.match(text, pos) is not None


@dataclass(frozen=True)
class _Opener:
    start: int  # where the construct would start: the '[', or the '!' of an image
    text_start: int
    is_image: bool


def _normalize_label(label: str) -> str:
    return " ".join(label.split()).casefold()


def _definitions(text: str, exclude: Sequence[Span]) -> tuple[list[LinkConstruct], set[str]]:
    """Link reference definition lines and their normalized labels."""
    definitions: list[LinkConstruct] = []
    labels: set[str] = set()
    # Every definition line holds ']:'; only lines holding one are tried.
    hint = text.find("]:")
    while hint >= 0:
        line_start = text.rfind("\n", 0, hint) + 1
        definition = _DEFINITION.match(text, line_start)
        if definition and not overlaps(definition.start(), definition.end(), exclude):
            definitions.append(LinkConstruct(definition.start(), definition.end(), "definition"))
            labels.add(_normalize_label(definition["label"]))
        line_end = text.find("\n", hint)
        hint = -1 if line_end < 0 else text.find("]:", line_end)
    return definitions, labels


# Longer than our other functions on purpose: CommonMark's bracket matching is one state
# machine (open brackets, links closed below, the blank-line limit, the next </a>), and every
# branch reads and moves that state; split up, the parts would pass it all back and forth.
def link_constructs(
    text: str, *, exclude: Sequence[Span] | None = None, loose: bool = False
) -> list[LinkConstruct]:
    """Inline links and images, autolinks, reference links, definitions and raw HTML tags,
    sorted by start (an enclosing construct before the ones it contains).

    ``exclude`` (sorted, non-overlapping) is text that is not Markdown prose; by default the
    front matter, :func:`code_spans` and :func:`wikilink_spans`.

    ``loose`` reads the shapes of links CommonMark does not make links, as a reader that pairs
    brackets its own way may: a bracket or ``<`` escaped with a backslash still counts
    (``\\[[Paper]](url)``, ``\\<url>``), links may nest (``[a [b](u)](v)``), and a ``](url)``
    whose ``]`` closes no bracket is a construct from that ``]``. Where text is inserted into
    a user's note, both readings must put it outside every link.
    """
    if exclude is None:
        front_matter = front_matter_span(text)
        exclude = merge_spans(
            [front_matter] if front_matter else [], code_spans(text), wikilink_spans(text)
        )
    constructs, labels = _definitions(text, exclude)
    openers: list[_Opener] = []
    # CommonMark: links do not nest, so once a link forms, no '[' still open below it may
    # become a link (images may). Openers below this stack height are in that state.
    links_closed_below = 0
    scanner = _LiteralScanner(text, ("[", "]", "<"))
    exclude_index = 0
    next_blank = -1  # the next blank line after the last bracket seen
    anchor_close: tuple[int, int] | None = None  # the next '</a>' (start, end); end -1: none
    pos = 0
    while True:
        hit = scanner.find(pos)
        if hit is None:
            break
        at, char = hit
        pos = at + 1
        while exclude_index < len(exclude) and exclude[exclude_index][1] <= at:
            exclude_index += 1
        if exclude_index < len(exclude) and exclude[exclude_index][0] <= at:
            pos = exclude[exclude_index][1]
            continue
        if at > next_blank:
            # Brackets never pair across a blank line.
            openers.clear()
            links_closed_below = 0
            blank = _BLANK_LINE.search(text, at)
            next_blank = blank.start() if blank else len(text)
        if not loose and _preceding_backslashes(text, at) % 2:
            continue
        if char == "<":
            tag = _AUTOLINK.match(text, at)
            kind: LinkKind = "autolink"
            if not tag:
                tag = _HTML_TAG.match(text, at)
                kind = "html"
            if tag:
                constructs.append(LinkConstruct(at, tag.end(), kind))
                pos = tag.end()
                if kind == "html" and _ANCHOR_OPEN.match(text, at):
                    # Text inside <a href="...">...</a> is already a link's: a link inserted
                    # there would nest one link in another. The element is one construct.
                    if anchor_close is None or anchor_close[0] < pos:
                        found = _ANCHOR_CLOSE.search(text, pos)
                        anchor_close = (found.start(), found.end()) if found else (len(text), -1)
                    if anchor_close[1] >= 0 and anchor_close[0] < next_blank:
                        constructs.append(LinkConstruct(at, anchor_close[1], "html"))
            continue
        if char == "[":
            is_image = (
                at > 0 and text[at - 1] == "!" and not _preceding_backslashes(text, at - 1) % 2
            )
            openers.append(_Opener(at - 1 if is_image else at, at + 1, is_image))
            continue
        follower = text[at + 1 : at + 2]
        if not openers:
            tail = _INLINE_LINK_TAIL.match(text, at + 1) if loose and follower == "(" else None
            if tail is not None:
                constructs.append(LinkConstruct(at, tail.end(), "inline"))
                pos = tail.end()
            continue
        opener = openers.pop()
        may_link = loose or opener.is_image or len(openers) >= links_closed_below
        links_closed_below = min(links_closed_below, len(openers))
        if not may_link:
            continue
        end: int | None = None
        kind = "inline"
        if follower == "(":
            tail = _INLINE_LINK_TAIL.match(text, at + 1)
            end = tail.end() if tail else None
        elif follower == "[":
            label = _LABEL.match(text, at + 1)
            if label:
                end, kind = label.end(), "reference"
        elif labels and _normalize_label(text[opener.text_start : at]) in labels:
            end, kind = at + 1, "reference"
        if end is None:
            continue
        constructs.append(LinkConstruct(opener.start, end, kind))
        # '[a][x]' is taken for a reference link whether or not 'x' is defined (no link goes
        # after one); but with 'x' undefined CommonMark reads '[x](url)' in '[a][x](url)' as
        # a link of its own, so the label's brackets are read again.
        pos = at + 1 if follower == "[" else end
        if not opener.is_image:
            links_closed_below = len(openers)
    constructs.sort(key=lambda construct: (construct.start, -construct.end))
    return constructs


# --------------------------------------------------------------------------------------------
# HTML blocks (CommonMark 0.31.2, section 4.6)

_RAW_TEXT_TAGS = ("pre", "script", "style", "textarea")
_BLOCK_TAGS = (
    "address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|"
    "dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h1|h2|h3|h4|h5|"
    "h6|head|header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav|noframes|ol|optgroup|"
    "option|p|param|search|section|summary|table|tbody|td|tfoot|th|thead|title|tr|track|ul"
)
# What may stand before a block's first character on its line: indentation, blockquote markers
# and list markers (one character each way, so a failed match never backtracks far).
_CONTAINER_PREFIX = re.compile(r"(?:[ \t>]|[-*+][ \t]|\d{1,9}[.)][ \t])*")
_LIST_MARKER = re.compile(r"[ \t>]*(?:[-*+]|\d{1,9}[.)])[ \t]")
_HTML_BLOCK_1 = re.compile(rf"<(?:{'|'.join(_RAW_TEXT_TAGS)})(?:[ \t>]|\r?$)", re.I | re.M)
_HTML_BLOCK_1_END = re.compile(rf"</(?:{'|'.join(_RAW_TEXT_TAGS)})>", re.I)
_HTML_BLOCK_6 = re.compile(rf"</?(?:{_BLOCK_TAGS})(?:[ \t>]|/>|\r?$)", re.I | re.M)
_ATTRIBUTE = (
    r"(?:[ \t]+[A-Za-z_:][A-Za-z0-9_.:-]*"
    r"""(?:[ \t]*=[ \t]*(?:"[^"\n]*"|'[^'\n]*'|[^\s"'=<>`]+))?)"""
)
_HTML_BLOCK_7 = re.compile(
    rf"(?:<[A-Za-z][A-Za-z0-9-]*{_ATTRIBUTE}*[ \t]*/?>|</[A-Za-z][A-Za-z0-9-]*[ \t]*>)[ \t]*\r?$",
    re.M,
)
# Kinds 2-5: the literal that opens the block and the one whose line closes it.
_HTML_BLOCK_LITERALS = (("<!--", "-->"), ("<?", "?>"), ("<![CDATA[", "]]>"))
_DECLARATION = re.compile(r"<![A-Za-z]")
_BLANK_OR_QUOTE_BLANK = re.compile(r"\n[ \t>]*\r?(?:\n|\Z)")
_ATX_LINE = re.compile(r"[ \t>]*#{1,6}(?:[ \t]|\r?$)", re.M)


@functools.lru_cache(maxsize=4)  # references and tags both ask, for the same text
def html_block_spans(text: str) -> tuple[Span, ...]:
    """HTML blocks, where Markdown is not rendered: each from the start of its first line
    through the line break ending its last line (or the end of the text).

    The seven kinds of CommonMark: ``<pre>``, ``<script>``, ``<style>``, ``<textarea>`` up to
    the line holding their closing tag; ``<!--``, ``<?``, ``<!X``, ``<![CDATA[`` up to the line
    holding ``-->``, ``?>``, ``>``, ``]]>``; a block-level tag (``<div``, ``<table``, ``<p``, ...)
    or, after a blank line, a line holding nothing but one complete tag, up to a blank line.
    Blocks may sit in blockquotes and list items. None starts in the front matter or in code
    (:func:`not_markdown`), but an HTML comment opening a line does.
    """
    exclude = not_markdown(text)
    blocks: list[Span] = []
    length = len(text)
    pos = 0
    while True:
        at = text.find("<", pos)
        if at < 0:
            return tuple(blocks)
        line_start = text.rfind("\n", 0, at) + 1
        newline = text.find("\n", at)
        line_end = length if newline < 0 else newline
        pos = line_end + 1  # only the first '<' of a line can open a block
        prefix = _CONTAINER_PREFIX.match(text, line_start, at)
        if prefix is None or prefix.end() != at:
            continue
        covering = _span_at_or_before(at, exclude)
        if covering is not None and covering[0] < at < covering[1]:
            continue  # in code, front matter or a comment opened earlier
        end = _html_block_end(text, at, line_start, line_end)
        if end is None:
            continue
        if blocks and blocks[-1][1] >= line_start:
            blocks[-1] = (blocks[-1][0], max(blocks[-1][1], end))
        else:
            blocks.append((line_start, end))
        pos = max(pos, end)
        if pos >= length:
            return tuple(blocks)


def _line_end_after(text: str, pos: int) -> int:
    """Just past the line break ending the line that holds ``pos`` (or the end of the text)."""
    newline = text.find("\n", pos)
    return len(text) if newline < 0 else newline + 1


def _html_block_end(text: str, at: int, line_start: int, line_end: int) -> int | None:
    """End of the HTML block whose first line has its tag at ``at``, or None for no block."""
    if _HTML_BLOCK_1.match(text, at):
        end_tag = _HTML_BLOCK_1_END.search(text, at)
        return len(text) if end_tag is None else _line_end_after(text, end_tag.start())
    for opener, closer in _HTML_BLOCK_LITERALS:
        if text.startswith(opener, at):
            close = text.find(closer, at + len(opener))
            return len(text) if close < 0 else _line_end_after(text, close)
    if _DECLARATION.match(text, at):
        close = text.find(">", at + 2)
        return len(text) if close < 0 else _line_end_after(text, close)
    if _HTML_BLOCK_6.match(text, at):
        pass
    elif _HTML_BLOCK_7.match(text, at, line_end):
        if not _may_interrupt(text, line_start, at):
            return None  # kind 7 cannot interrupt a paragraph
    else:
        return None
    blank = _BLANK_OR_QUOTE_BLANK.search(text, line_end)
    return len(text) if blank is None else blank.start() + 1


def _may_interrupt(text: str, line_start: int, at: int) -> bool:
    """Whether a block may start on this line although kind 7 cannot interrupt a paragraph:
    no line above, a blank (or heading) line above, or the line opens a list item."""
    if line_start == 0 or _LIST_MARKER.match(text, line_start, at):
        return True
    previous_start = text.rfind("\n", 0, line_start - 1) + 1
    previous = text[previous_start : line_start - 1]
    return not previous.strip(" \t>\r") or bool(_ATX_LINE.match(previous))


def html_tag_spans(text: str, *, exclude: Sequence[Span] = ()) -> list[Span]:
    """Raw HTML tags (``<div style="...">``, ``</span>``) outside ``exclude``, in text order."""
    spans: list[Span] = []
    exclude_index = 0
    pos = 0
    while True:
        at = text.find("<", pos)
        if at < 0:
            return spans
        pos = at + 1
        while exclude_index < len(exclude) and exclude[exclude_index][1] <= at:
            exclude_index += 1
        if exclude_index < len(exclude) and exclude[exclude_index][0] <= at:
            pos = exclude[exclude_index][1]
            continue
        if at and text[at - 1] == "\\" and _preceding_backslashes(text, at) % 2:
            continue
        tag = _HTML_TAG.match(text, at)
        if tag:
            spans.append((at, tag.end()))
            pos = tag.end()


# --------------------------------------------------------------------------------------------
# Dataview inline fields (github.com/blacksmithgu/obsidian-dataview, src/data-import)

_FIELD_TOKEN = re.compile(r"\\.|[\[\]()]|::")
_CLOSER = {"]": "[", ")": "("}
_TASK = re.compile(r"[ \t>]*(?:[-*+]|\d{1,9}[.)])[ \t]+\[.\]")
# A full-line field's key, as Dataview reads it: optional leading decoration ('**', '> ', '- '),
# then letters, digits, spaces, '_', '/', '-' or emoji, then optional closing '**', '_', '~', '`'.
_KEY_LEADING = re.compile(r"[^\w]*")
_KEY_BODY = re.compile(r"[\w\s/\-\u2600-\u27bf\U0001f000-\U0001faff\ufe0f\u200d]*")
_KEY_TRAILING = re.compile(r"[_*~`]*")
_DATAVIEW_LINE_LIMIT = 32768  # Dataview does not look for fields in longer lines


def dataview_field_spans(text: str) -> list[Span]:
    """Dataview inline fields, whose values Dataview queries read: a ``Key:: value`` line (the
    whole line, through its line break; in a list item also the item's following lines) and
    ``[key:: value]`` or ``(key:: value)`` inside a line (from bracket to bracket).

    Dataview's own rules: a line holding a bracketed field has no full-line field; the key of
    a full-line field is words (``**Key**``, ``Key with spaces``, ``key-name``), so
    ``e.g. std::vector`` is no field while ``std::vector`` on its own line is one; tasks have
    no full-line fields. None is found in the front matter or in code (:func:`not_markdown`)."""
    if "::" not in text:
        return []
    exclude = not_markdown(text)
    spans: list[Span] = []
    length = len(text)
    pos = 0
    while True:
        separator = text.find("::", pos)
        if separator < 0:
            return merge_spans(spans)
        line_start = text.rfind("\n", 0, separator) + 1
        newline = text.find("\n", separator)
        line_end = length if newline < 0 else newline
        pos = line_end + 1
        if line_end - line_start > _DATAVIEW_LINE_LIMIT or in_spans(separator, exclude):
            continue
        has_brackets = (
            text.find("[", line_start, line_end) >= 0 or text.find("(", line_start, line_end) >= 0
        )
        bracketed = _bracketed_fields(text, line_start, line_end) if has_brackets else None
        if bracketed:
            spans.extend(bracketed)
            continue
        if _is_full_line_field(text, line_start, separator):
            end = _field_end(text, line_start, line_end)
            spans.append((line_start, end))
            pos = max(pos, end)
        if pos >= length:
            return merge_spans(spans)


def _bracketed_fields(text: str, line_start: int, line_end: int) -> list[Span]:
    """``[key:: value]`` and ``(key:: value)`` in one line: a '[' or '(' whose first '::' comes
    before any other bracket, up to its matching closer (nesting counted per bracket kind)."""
    fields: list[Span] = []
    open_at: dict[str, list[int]] = {"[": [], "(": []}
    field_openers: set[int] = set()
    candidate: int | None = None  # the last opener with no bracket and no '::' after it yet
    for token in _FIELD_TOKEN.finditer(text, line_start, line_end):
        value = token.group()
        if value == "::":
            if candidate is not None:
                field_openers.add(candidate)
                candidate = None
        elif value in open_at:
            open_at[value].append(token.start())
            candidate = token.start()
        elif value in _CLOSER:
            candidate = None
            stack = open_at[_CLOSER[value]]
            if stack:
                opener = stack.pop()
                if opener in field_openers:
                    fields.append((opener, token.end()))
    return fields


def _is_full_line_field(text: str, line_start: int, separator: int) -> bool:
    start = line_start
    task_or_item = _LIST_MARKER.match(text, line_start, separator)
    if task_or_item:
        if _TASK.match(text, line_start, separator):
            return False  # Dataview reads no full-line field in a task
        start = task_or_item.end()
    key = text[start:separator].strip()
    at = 0
    for part in (_KEY_LEADING, _KEY_BODY, _KEY_TRAILING):  # each greedy, none backtracks
        match = part.match(key, at)
        at = match.end() if match else at
    return at == len(key)


def _field_end(text: str, line_start: int, line_end: int) -> int:
    """Just past the line break ending a full-line field: its line, and in a list item the
    item's continuation lines (Dataview reads the item's lines as one)."""
    end = line_end
    if _LIST_MARKER.match(text, line_start, line_end):
        while end < len(text):
            next_start = end + 1
            if (
                next_start >= len(text)
                or _BLANK.match(text, next_start)
                or _BLOCK_START.match(text, next_start)
            ):
                break
            newline = text.find("\n", next_start)
            end = len(text) if newline < 0 else newline
    return min(len(text), end + 1)


# --------------------------------------------------------------------------------------------
# Tables

_DELIMITER_CELL = re.compile(r"[ \t]*:?-+:?[ \t]*")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_TABLE_END = re.compile(r"[ \t]*(?:\r?$|>|#{1,6}(?:[ \t]|\r?$)|`{3,}|~{3,})", re.MULTILINE)


def _cells(line: str) -> list[str]:
    row = line.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return _UNESCAPED_PIPE.split(row)


def _delimiter_cell_count(line: str) -> int | None:
    if len(line) - len(line.lstrip(" \t")) > 3:
        return None
    cells = _cells(line)
    if all(_DELIMITER_CELL.fullmatch(cell) for cell in cells):
        return len(cells)
    return None


def table_spans(text: str, *, exclude: Sequence[Span] | None = None) -> list[Span]:
    """GFM pipe tables, each from the start of its header row to the end of its last row.

    A table needs a header row directly above a delimiter row (``|---|:--:|``) with the same
    number of cells; it runs until a blank line or the start of another block. ``exclude``
    defaults to :func:`code_spans`.
    """
    if exclude is None:
        exclude = code_spans(text)
    tables: list[Span] = []
    pos = 0
    while True:
        pipe = text.find("|", pos)
        if pipe < 0:
            return tables
        row_start = text.rfind("\n", 0, pipe) + 1
        row_end = text.find("\n", pipe)
        if row_end < 0:
            row_end = len(text)
        pos = row_end + 1
        if row_start == 0 or in_spans(row_start, exclude):
            continue
        cell_count = _delimiter_cell_count(text[row_start:row_end].rstrip("\r"))
        if cell_count is None:
            continue
        header_start = text.rfind("\n", 0, row_start - 1) + 1
        header = text[header_start : row_start - 1].rstrip("\r")
        if "|" not in header or in_spans(header_start, exclude):
            continue
        if len(_cells(header)) != cell_count:
            continue
        end = row_end
        while end < len(text):
            next_start = end + 1
            if next_start >= len(text) or _TABLE_END.match(text, next_start):
                break
            newline = text.find("\n", next_start)
            end = len(text) if newline < 0 else newline
        if tables and tables[-1][1] >= header_start:
            continue
        tables.append((header_start, end))
        pos = end + 1


# A label sits inside [[...|label]] in someone's line: brackets and pipes would end or split the
# link, and ` $ %% <!-- would pair with the line's own and turn its text into code or maths.
_LABEL_SAFE = {"[": "(", "]": ")", "|": "/", "`": "'", "$": "", "%%": "%", "<!--": "‹!--"}
_LABEL_UNSAFE = re.compile(r"[\[\]|`$\n\r]|%%+|<!--")  # '%%%' must not leave '%%'


def link_label(text: str) -> str:
    """`text` made safe as the shown part of a wikilink: '[[target|label]]'."""
    # Until nothing changes: dropping '$' from '%$%' makes a new '%%'.
    while (safe := _LABEL_UNSAFE.sub(_label_char, text)) != text:
        text = safe
    return text.strip()


def _label_char(unsafe: re.Match[str]) -> str:
    return _LABEL_SAFE.get(_label_key(unsafe.group()), " ")


def _label_key(unsafe: str) -> str:
    return "%%" if unsafe[0] == "%" else unsafe
