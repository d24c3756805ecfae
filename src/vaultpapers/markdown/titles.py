"""Papers a note names by their title, without any URL.

Pure and per note, like :mod:`vaultpapers.references`: a :class:`TitleIndex` of the titles the
vault knows (its cache, its paper notes) is asked about one note's text and answers
:class:`~vaultpapers.references.Reference` objects (``by_title=True``), which then count and
get their link exactly as URL references do.

The matching rule, precision before recall (a wrong link is worse than a missing one):

- **Same words.** The written words equal the paper's title after normalising: Unicode NFKC,
  case folded, ``&`` read as ``and``, and every run of punctuation or whitespace between words
  (quotes, dashes, the colon before a subtitle, a hyphen) read as one separator. Typos, a
  changed word, a title cut before its subtitle: no match.
- **A written year must fit.** ``Title(2015)``, ``Title (2015)``, ``Title, 2015``: the
  paper's first version must be within a year of it, else the text is some other paper.
- **Written as a title.** The whole of a line, list item or heading (after a bullet, a number,
  a ``label: ``, ``Authors (2017) - ``), optionally followed by a year, authors or a comment;
  or, inside a line, set apart from the sentence: in quotes, emphasis or parentheses, between
  separators, or as a bibliography entry's title (``Ho, J. (2020). Denoising diffusion
  probabilistic models. NeurIPS``); or written with the paper's own capitalisation (four words
  or more); or at least seven words long. Words that merely run on in a sentence ("language
  models are few-shot learners when prompted") are language, not a citation.
- **Not generic.** One-word titles never match, nor titles of two or three words made only of
  ordinary words ("Generative Adversarial Networks", "Layer Normalization"), however written:
  they name a topic more often than a paper. A short title needs a coined word
  (``Perceiver IO``, ``GPT-4 Technical Report``).
- **One paper or none.** Two papers whose titles (and years) fit the same words: no link.
- **Never in** front matter, code, comments, links, HTML blocks, Dataview fields or our own
  sections. Headings count as citations but get no link (it would change their anchor).
"""

from __future__ import annotations

import bisect
import difflib
import hashlib
import itertools
import re
import unicodedata
import zlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from rapidfuzz.fuzz import ratio as indel_ratio
from rapidfuzz.process import extract

from vaultpapers.arxiv.ids import ArxivId
from vaultpapers.markdown.notelinks import links_at
from vaultpapers.markdown.references import Reference
from vaultpapers.markdown.spans import (
    Span,
    code_spans,
    dataview_field_spans,
    front_matter_span,
    html_block_spans,
    link_constructs,
    merge_spans,
    overlaps,
    table_spans,
    wikilink_spans,
)

# A word: a run of Latin (Greek, Cyrillic) letters and digits, or of letters of another script,
# so that a Korean particle or a Chinese word glued to a title ('Attention Is All You Need에서',
# '论文_Scaling Laws...') is not part of its last or first word. '&' is a word ("and").
_ALPHABETIC = "0-9A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"
_WORD = re.compile(rf"[{_ALPHABETIC}]+|[^\W\d_{_ALPHABETIC}]+|&")
_LIST_MARKER = re.compile(
    r"[ \t]*(?:>[ \t]*)*(?:[-*+•·▪◦‣∙][ \t]+(?:\[[ xX]\][ \t]+)?|\d{1,3}[.)][ \t]+"
    r"|\[\d{1,3}\][ \t]+|\(\d{1,3}\)[ \t]+)?"
)
_HEADING = re.compile(r"[ \t]{0,3}#{1,6}(?:[ \t]|$)")
# What may stand between the line's start (after a bullet) and the title: emphasis, quotes,
# a bracketed tag ('[NLP 논문 리뷰] ').
_OPENING = re.compile(r"""[ \t]*(?:[*_~"'“‘「『(\[][ \t]*|\[[^\]\n]{1,30}\][ \t]+)*""")
# A short label before the title: 'Day 2: ', 'EX09 — ', 'Schulman et al. (2017) - '.
_LABEL = re.compile(r"[^\n:：]{1,40}?(?:[:：]|[ \t][-–—])[ \t]*")
_CLOSING = re.compile(r"""(?:[*_~"'”’」』][ \t]*)*""")
# A year written right after the title: glued '(2015)', ' (2015)', ', 2015', ' 2015'.
_YEAR = re.compile(r"[ \t]*(?:[(\[][ \t]*((?:19|20)\d\d)[ \t]*[)\]]|,?[ \t]*((?:19|20)\d\d)\b)")
# A short comment glued to the title in parentheses: '...io-awareness(tiling)'.
_GLUED_COMMENT = re.compile(r"[ \t]?\([^()\n]{1,40}\)")
# After a title standing alone, a line goes on with a year, authors or a comment: punctuation,
# a bracket, 'by', 'et al', or text in another script; not with a lower-case word of a
# sentence ("Language models are few-shot learners when prompted").
_STANDALONE_AFTER = re.compile(
    r"""[ \t]*(?:$|[(\[{,.;:|/\-–—*_"'”’!?<>）]|by\b|et\b|from\b|\d|[^\x00-\x7f])""",
    re.IGNORECASE,
)
_QUOTED_BEFORE = frozenset("\"'“‘«*_「『《(（")
_QUOTED_AFTER = frozenset("\"'”’»*_」』》)）")
# What ends the text before a title set apart from the sentence around it: a separator (' - ',
# ': ', '| ', ') '), or a bibliography's full stop after a year, a name or an initial ('(2020).
# ', 'Jimmy Ba. ', 'et al., '); a full stop after a lower-case word is prose.
_SET_APART_BEFORE = re.compile(
    r"(?:[:;|\])>：]|[ \t][-–—]|\b(?:(?:19|20)\d\d[a-z]?\)?|[A-Z][\w'\-]*|et al)\.|et al\.,)"
    r"[ \t]+$"
)
_PROSE_MIN_WORDS = 7
_GENERIC_MAX_WORDS = 3
_COINED = re.compile(r"\w*(?:[a-z][A-Z]|[A-Z]{2}|\d)\w*")


# A note's pairs of neighbouring words as a Bloom filter of MASK_BITS bits, kept with its scan:
# a title whose pairs are not all set in it is not in the note, so a title the vault learns is
# matched against the few notes that may hold it without reading the others. Pairs rather than
# words: a title's words often all occur in a note that does not name it, its pairs seldom.
# A pair of two words too common to tell notes apart is left out of both sides.
MASK_BITS = 2048
_MASK_BYTES = MASK_BITS // 8
_COMMON = "a an and are as at by for from in is of on or the to via with"
_UNMASKED = frozenset(_COMMON.split())
_SPREAD = 0x9E3779B1  # (an odd constant: a pair's two words land on different bits)

# Each word's hash, once per process: a vault's notes share most of their words. A common
# word's is -1.
_HASHES: dict[str, int] = dict.fromkeys(_UNMASKED, -1)
_HASHES_KEPT = 200_000


def _hash(word: str) -> int:
    if len(_HASHES) > _HASHES_KEPT:  # a watcher runs for weeks: its vocabulary is bounded
        _HASHES.clear()
        _HASHES.update(dict.fromkeys(_UNMASKED, -1))
    value = _HASHES[word] = zlib.crc32(word.encode())
    return value


def pair_mask(words: Sequence[str]) -> int:
    """The bits of `words`' pairs of neighbouring words (see MASK_BITS)."""
    known = _HASHES.get
    looked_up = [known(word) for word in words]
    if None in looked_up:
        hashes = [_HASHES[word] if word in _HASHES else _hash(word) for word in words]
    else:
        hashes = cast(list[int], looked_up)
    bits = bytearray(_MASK_BYTES)  # (OR-ing into a 2,048-bit int would copy it every pair)
    for first, second in set(itertools.pairwise(hashes)):
        if first < 0 and second < 0:
            continue
        bit = (first * _SPREAD ^ second) & (MASK_BITS - 1)
        bits[bit >> 3] |= 1 << (bit & 7)
    return int.from_bytes(bits, "little")


def mask_to_bytes(mask: int) -> bytes:
    return mask.to_bytes(_MASK_BYTES, "little")


def mask_from_bytes(data: bytes) -> int:
    return int.from_bytes(data, "little")


def normal_words(text: str) -> list[str]:
    """The title's words as compared: NFKC, case folded, '&' as 'and', punctuation dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return ["and" if word == "&" else word for word in _WORD.findall(folded)]


def word_pairs(words: list[str]) -> set[tuple[str, str]]:
    """Each two words standing next to each other: where a known title may start or end."""
    return set(itertools.pairwise(words))


@dataclass(frozen=True)
class KnownTitle:
    key: str  # the paper's canonical arXiv id
    title: str  # as arXiv writes it
    year: int | None
    words: tuple[str, ...]
    ordinary: bool  # no coined word ('BERT', 'YOLOv4', 'GPT-3')
    cased: tuple[str, ...]  # the title's words with their case, for matches in prose

    @property
    def word_set(self) -> frozenset[str]:
        words = self.__dict__.get("_word_set")
        if words is None:
            words = frozenset(self.words)
            object.__setattr__(self, "_word_set", words)
        return words

    @property
    def mask(self) -> int:
        """The bits a note's `pair_mask` has set if it holds this title."""
        mask = self.__dict__.get("_mask")
        if mask is None:
            mask = pair_mask(self.words)
            object.__setattr__(self, "_mask", mask)
        return mask


def known_title(key: str, title: str, year: int | None) -> KnownTitle | None:
    """The title as the index keeps it, or None for a title that can never be matched (one
    word, or a few ordinary ones: a topic's name)."""
    title = " ".join(title.split())
    words = tuple(normal_words(title))
    if len(words) < 2:
        return None
    coined = any(_COINED.fullmatch(word) for word in re.findall(r"\w+", title))
    if not coined and len(words) <= _GENERIC_MAX_WORDS:
        return None  # "Layer Normalization", "Generative Adversarial Networks": a topic
    cased = tuple(_WORD.findall(unicodedata.normalize("NFKC", title)))
    return KnownTitle(key, title, year, words, not coined, cased)


def _longest_first(entry: KnownTitle) -> tuple[int, str]:
    return (-len(entry.words), entry.key)


def _remove(
    index: dict[tuple[str, ...], list[KnownTitle]], at: tuple[str, ...], entry: KnownTitle
) -> bool:
    """`entry` out of `index[at]`; True if none is left there (and `at` is gone)."""
    index[at].remove(entry)
    if index[at]:
        return False
    del index[at]
    return True


class TitleIndex:
    """Known titles keyed on their first two normalised words: a note is looked up word pair
    by word pair, never compared against every title."""

    def __init__(self, titles: Iterable[KnownTitle] = ()) -> None:
        self.by_start: dict[tuple[str, ...], list[KnownTitle]] = {}
        # The same titles by all their words, and the lengths of those starting with two
        # words: a place in a note is checked with one lookup per length, not per title.
        self.by_words: dict[tuple[str, ...], list[KnownTitle]] = {}
        self.lengths: dict[tuple[str, ...], list[int]] = {}
        self.keys: set[str] = set()
        for title in titles:
            self.add(title, keep_order=False)
        self._order()

    @classmethod
    def of(cls, papers: Iterable[tuple[str, str, int | None]]) -> TitleIndex:
        """From (key, title, year) rows."""
        index = cls()
        for key, title, year in papers:
            known = known_title(key, title, year)
            if known is not None:
                index.add(known, keep_order=False)
        index._order()
        return index

    def add(self, title: KnownTitle, *, keep_order: bool = True) -> None:
        same = self.by_words.setdefault(title.words, [])
        if any(entry.key == title.key for entry in same):
            return
        same.append(title)
        self.by_start.setdefault(title.words[:2], []).append(title)
        lengths = self.lengths.setdefault(title.words[:2], [])
        if len(title.words) not in lengths:
            lengths.append(len(title.words))
        self.keys.add(title.key)
        by_key = self.__dict__.get("_by_key")
        if by_key is not None:
            by_key.setdefault(title.key, []).append(title)
        self._changed()
        if keep_order:  # (only the lists this title went into)
            self.by_start[title.words[:2]].sort(key=_longest_first)
            lengths.sort(reverse=True)

    def replace(self, key: str, title: KnownTitle | None) -> None:
        """The paper's title as it is now, in place of the one indexed (None: a title that
        can never match, see `known_title`)."""
        for entry in self._entries_by_key().pop(key, []):
            _remove(self.by_words, entry.words, entry)
            if _remove(self.by_start, entry.words[:2], entry):
                del self.lengths[entry.words[:2]]
        self.keys.discard(key)
        self._changed()
        if title is not None:
            self.add(title)

    def _changed(self) -> None:
        for derived in ("_digest", "_by_end", "_near"):
            self.__dict__.pop(derived, None)

    def _entries_by_key(self) -> dict[str, list[KnownTitle]]:
        by_key = self.__dict__.get("_by_key")
        if by_key is None:
            by_key = {}
            for entry in self.entries():
                by_key.setdefault(entry.key, []).append(entry)
            self.__dict__["_by_key"] = by_key
        return by_key

    def extend(self, titles: Iterable[KnownTitle]) -> None:
        for title in titles:
            self.add(title, keep_order=False)
        self._order()

    def _order(self) -> None:
        """Longest titles first (then by id): what is tried first, and the same everywhere."""
        for entries in self.by_start.values():
            entries.sort(key=_longest_first)
        for lengths in self.lengths.values():
            lengths.sort(reverse=True)

    def entries(self) -> list[KnownTitle]:
        return [entry for entries in self.by_start.values() for entry in entries]

    def __len__(self) -> int:
        return sum(len(entries) for entries in self.by_start.values())

    def __bool__(self) -> bool:
        return bool(self.by_start)

    def digest(self) -> str:
        digest = self.__dict__.get("_digest")
        if digest is None:
            rows = sorted(f"{e.key}\t{' '.join(e.words)}\t{e.year}" for e in self.entries())
            digest = hashlib.blake2b("\n".join(rows).encode(), digest_size=12).hexdigest()
            self.__dict__["_digest"] = digest
        return digest

    def to_json(self) -> list[list[object]]:
        """The titles as `from_json` takes them: kept, they spare working each title's words
        out again (at 5,000 titles, most of the index's cost)."""
        return [
            [e.key, e.title, e.year, " ".join(e.words), e.ordinary, " ".join(e.cased)]
            for e in self.entries()
        ]

    @classmethod
    def from_json(cls, rows: list[list[Any]]) -> TitleIndex:
        """The index `to_json` gave (a word holds no space). Raises on anything else."""
        return cls(
            KnownTitle(
                key, title, year, tuple(words.split(" ")), bool(ordinary), tuple(cased.split(" "))
            )
            for key, title, year, words, ordinary, cased in rows
        )

    def rows(self) -> tuple[tuple[str, str, int | None], ...]:
        """What `TitleIndex.of` builds this index from again."""
        return tuple((entry.key, entry.title, entry.year) for entry in self.entries())

    def rows_like(self, keys: Iterable[str]) -> tuple[tuple[str, str, int | None], ...]:
        """The rows (see `rows`) of these papers' titles and of every title with the same
        words: all that can match where these titles were found."""
        by_key = self._entries_by_key()
        words = {entry.words for key in keys for entry in by_key.get(key, ())}
        return tuple(
            (entry.key, entry.title, entry.year)
            for same in sorted(words)
            for entry in self.by_words[same]
        )

    def only(self, keys: Iterable[str]) -> TitleIndex:
        """The titles of these papers alone."""
        wanted = set(keys)
        return TitleIndex(entry for entry in self.entries() if entry.key in wanted)

    @property
    def by_end(self) -> dict[tuple[str, ...], list[KnownTitle]]:
        """The titles keyed on their last two words: a near miss with a typo in its first
        words is found by its end."""
        index = self.__dict__.get("_by_end")
        if index is None:
            index = {}
            for entry in self.entries():
                index.setdefault(entry.words[-2:], []).append(entry)
            self.__dict__["_by_end"] = index
        return index

    def near(self, pair: tuple[str, ...], length: int) -> list[tuple[str, KnownTitle]]:
        """The titles starting or ending with `pair` whose words, joined by spaces, are close
        enough in length to `length` characters for a near miss (a similarity of 0.75 needs
        the shorter text to be 0.6 of the longer at least): each with its joined words."""
        near = self.__dict__.get("_near")
        if near is None:
            near = {}
            for entries in (self.by_start, self.by_end):
                for key, titles in entries.items():
                    near.setdefault(key, []).extend((" ".join(t.words), t) for t in titles)
            for rows in near.values():
                rows.sort(key=lambda row: len(row[0]))
            self.__dict__["_near"] = near
        rows = near.get(pair, ())
        lo = bisect.bisect_left(rows, 0.6 * length, key=lambda row: len(row[0]))
        hi = bisect.bisect_right(rows, length / 0.6, key=lambda row: len(row[0]))
        return rows[lo:hi]

    def may_be_named_in(self, text: str) -> bool:
        """Whether all the words of one of these titles stand in `text` in a row: what any
        way of citing it needs (a cheaper test than matching, and a stronger one than
        `may_occur_in`, for the few titles a run learns)."""
        lowered = _lowered(text)
        if lowered is not None and not _starts(text, lowered, self.by_start.keys()):
            # Where no title's first two words stand, as `find_titles` looks for them, no
            # title is matched: most notes a new title's words all occur in are told so
            # without being split into words.
            return False
        written = f" {' '.join(normal_words(text))} "
        return any(f" {' '.join(entry.words)} " in written for entry in self.entries())

    def may_occur_in(self, text: str) -> bool:
        """Whether any title's first two words stand next to each other in `text`: a cheap
        test at C speed that spares most notes the matching proper."""
        words = normal_words(text)
        return not self.by_start.keys().isdisjoint(itertools.pairwise(words))


@dataclass(frozen=True)
class TitleMatch:
    """A known title written in a note, with what the rule made of it."""

    title: KnownTitle
    start: int
    end: int  # end of the title as written
    line: int
    insert_at: int | None
    in_table: bool
    next_wikilink: str | None

    def reference(self) -> Reference:
        return Reference(
            arxiv_id=ArxivId(self.title.key, None),
            start=self.start,
            end=self.end,
            line=self.line,
            insert_at=self.insert_at,
            in_table=self.in_table,
            next_wikilink=self.next_wikilink,
            by_title=True,
        )


_FEW_STARTS = 16


def find_titles(
    text: str,
    index: TitleIndex,
    *,
    skip_spans: Sequence[Span] = (),
    own: str | None = None,
    pairs: Collection[tuple[str, str]] | None = None,
) -> list[TitleMatch]:
    """Every known title `text` cites by its words, in text order (`own`: the paper this note
    is about, which it does not cite; `pairs`: its `word_pairs`, when the caller has them)."""
    if not index:
        return []
    by_start = index.by_start
    hits: Collection[tuple[str, ...]]
    if pairs is None and len(by_start) <= _FEW_STARTS:
        # A handful of titles: their starts are looked for directly, the note not tokenised.
        hits = by_start.keys()
    else:
        if pairs is None:
            pairs = word_pairs(normal_words(text))
        hits = {pair for pair in pairs if pair in by_start}
    if not hits:
        return []
    # Words are read (with their offsets) only from where a title may start: a vault's notes
    # hold thousands of words each, and a few of them start a known title.
    context = _Context(text, skip_spans)
    matches: list[TitleMatch] = []
    resume = 0
    for at in _starts(text, _lowered(text), hits):
        if at < resume:
            continue
        found = _match_at(text, index, at, context)
        if found is None or found is _AMBIGUOUS:
            continue
        resume = found.end
        if found.title.key != own:
            matches.append(found)
    return matches


def _lowered(text: str) -> str | None:
    """The text in lower case, if lowering kept every offset (a letter such as 'İ' lowers to
    two characters: then the words are read one by one)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else None


def _starts(text: str, lowered: str | None, hits: Collection[tuple[str, ...]]) -> list[int]:
    """Where one of these pairs of words stands in the text, in order (the first two words
    of a known title, say); with str.find in the `lowered` text, when there is one."""
    if lowered is None:
        tokens = [(m.start(), _folded(m.group())) for m in _WORD.finditer(text)]
        return [a[0] for a, b in itertools.pairwise(tokens) if (a[1], b[1]) in hits]
    seconds: dict[str, set[str]] = {}
    for first, second in hits:
        seconds.setdefault(first, set()).add(second)
    found: list[int] = []
    for first, following in seconds.items():
        at = lowered.find(first)
        while at >= 0:
            end = at + len(first)
            if not (at and lowered[at - 1].isalnum()) and not lowered[end : end + 1].isalnum():
                next_word = _WORD.search(lowered, end, end + 80)
                if next_word is not None and _folded(next_word.group()) in following:
                    found.append(at)
            at = lowered.find(first, end)
    found.sort()
    return found


class _Context:
    """What is known of one note's text, worked out only once a title is found in it."""

    def __init__(self, text: str, skip_spans: Sequence[Span]) -> None:
        self.text = text
        self.skip_spans = skip_spans
        self._excluded: list[Span] | None = None
        self._tables: list[Span] | None = None

    def _work_out(self) -> None:
        text = self.text
        front = front_matter_span(text)
        code = code_spans(text)
        not_prose = merge_spans(
            [front] if front else [],
            code,
            wikilink_spans(text),
            html_block_spans(text),
            dataview_field_spans(text),
            self.skip_spans,
        )
        # Both readings of the note's brackets: text that only looks like a link's
        # ('\\[Title](url)') is no place for a title's link either.
        constructs = [
            (c.start, c.end)
            for loose in (False, True)
            for c in link_constructs(text, exclude=not_prose, loose=loose)
        ]
        self._excluded = merge_spans(not_prose, constructs)
        self._tables = table_spans(text, exclude=code)

    @property
    def excluded(self) -> list[Span]:
        if self._excluded is None:
            self._work_out()
        assert self._excluded is not None
        return self._excluded

    @property
    def tables(self) -> list[Span]:
        if self._tables is None:
            self._work_out()
        assert self._tables is not None
        return self._tables


def _match_at(text: str, index: TitleIndex, at: int, context: _Context) -> TitleMatch | None:
    """The title written from `at` on, if one is (see the module's rule)."""
    line_end = text.find("\n", at)
    line_end = len(text) if line_end < 0 else line_end
    words = _WORD.finditer(text, at, line_end)
    tokens = [(m.start(), m.end(), _folded(m.group())) for m in itertools.islice(words, 2)]
    if len(tokens) < 2:
        return None
    lengths = index.lengths.get((tokens[0][2], tokens[1][2]))
    if not lengths:
        return None
    tokens += [
        (m.start(), m.end(), _folded(m.group())) for m in itertools.islice(words, lengths[0] - 2)
    ]
    written = tuple(token[2] for token in tokens)
    for n in lengths:  # longest first
        candidates = index.by_words.get(written[:n]) if n <= len(written) else None
        if not candidates:
            continue
        start, end = tokens[0][0], tokens[n - 1][1]
        if overlaps(start, end, context.excluded):
            continue
        found: TitleMatch | None = None
        for title in candidates:
            judged = _judge(text, title, start, end, context.tables, tokens)
            if judged is None:
                continue
            if found is not None and found.title.key != judged.title.key:
                return _AMBIGUOUS  # two papers with these words (and year): no guess
            found = judged
        if found is not None:
            return found
    return None


def _folded(word: str) -> str:
    if word == "&":
        return "and"
    if word.isascii():
        return word.lower()
    return unicodedata.normalize("NFKC", word).casefold()


def _judge(
    text: str,
    title: KnownTitle,
    start: int,
    end: int,
    tables: Sequence[Span],
    tokens: list[tuple[int, int, str]],
) -> TitleMatch | None:
    """The match, if where and how the title is written makes it a citation (see the module's
    rule), with where its link goes."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    heading = _HEADING.match(text, line_start) is not None
    year = _YEAR.match(text, end, line_end)
    after = end
    if year is not None:
        written = int(year.group(1) or year.group(2))
        if title.year is not None and abs(written - title.year) > 1:
            return None  # another paper with these words, or not a paper at all
        after = year.end()
    standalone = _stands_alone(text, line_start, start, after, line_end, heading)
    if not standalone and (
        heading or not _set_apart(text, title, line_start, start, end, after, line_end, tokens)
    ):
        return None
    insert_at: int | None = None
    if not heading:
        insert_at = _insertion_point(text, after, line_end)
    in_table = any(s <= start < e for s, e in tables)
    return TitleMatch(
        title=title,
        start=start,
        end=end,
        line=text.count("\n", 0, start) + 1,
        insert_at=insert_at,
        in_table=in_table,
        next_wikilink=_wikilink_at(text, insert_at),
    )


def _stands_alone(
    text: str, line_start: int, start: int, after: int, line_end: int, heading: bool
) -> bool:
    """Whether the title is what its line (or list item) holds, with at most a bullet, a short
    label and emphasis before it, and a year, authors or a comment after it."""
    pos = _HEADING.match(text, line_start).end() if heading else line_start  # type: ignore[union-attr]
    pos = _LIST_MARKER.match(text, pos).end()  # type: ignore[union-attr]
    pos = _OPENING.match(text, pos).end()  # type: ignore[union-attr]
    if pos != start:
        label = _LABEL.match(text, pos, start)
        if label is None or text[label.end() : start].strip(" *_\"'“‘「『"):
            return False
    closing = _CLOSING.match(text, after, line_end).end()  # type: ignore[union-attr]
    return _STANDALONE_AFTER.match(text, closing, line_end) is not None


def _set_apart(
    text: str,
    title: KnownTitle,
    line_start: int,
    start: int,
    end: int,
    after: int,
    line_end: int,
    tokens: list[tuple[int, int, str]],
) -> bool:
    """Whether a title inside a line is written as a title rather than as words of a
    sentence: in quotes, emphasis or parentheses; between separators or as a bibliography
    entry's title ('Ho, J. (2020). Denoising diffusion probabilistic models. NeurIPS');
    or with its own capitalisation; or simply long."""
    if _quoted(text, start, end, after, line_end):
        return True
    closing = _CLOSING.match(text, after, line_end).end()  # type: ignore[union-attr]
    if _SET_APART_BEFORE.search(text, max(line_start, start - 60), start) and (
        _STANDALONE_AFTER.match(text, closing, line_end) is not None
    ):
        return True
    if len(title.words) >= 4 and _as_cased(text, title, tokens):
        return True
    return len(title.words) >= _PROSE_MIN_WORDS


def _quoted(text: str, start: int, end: int, after: int, line_end: int) -> bool:
    """In quotes, emphasis or parentheses (a year or a comment may stand inside them)."""
    if start == 0 or text[start - 1] not in _QUOTED_BEFORE:
        return False
    for pos in (end, after):
        if text[pos : pos + 1] in _QUOTED_AFTER or (
            text[pos : pos + 1] in (".", ",") and text[pos + 1 : pos + 2] in _QUOTED_AFTER
        ):
            return True
    comment = _GLUED_COMMENT.match(text, after, line_end)
    return comment is not None and text[comment.end() : comment.end() + 1] in _QUOTED_AFTER


def _as_cased(text: str, title: KnownTitle, tokens: list[tuple[int, int, str]]) -> bool:
    """Whether the words are written with the title's own capitalisation (and the title has
    some capitals to tell it from a sentence)."""
    if all(word.islower() or not word.isalpha() for word in title.cased[1:]):
        return False
    written = [text[s:e] for s, e, _ in tokens[: len(title.words)]]
    return len(written) == len(title.cased) and all(
        a == b for a, b in zip(written, title.cased, strict=True)
    )


def _insertion_point(text: str, after: int, line_end: int) -> int | None:
    """Where the link goes: right after the title (and its year); after a short comment glued
    on in parentheses, since no link goes right before a '(' (it could read as a Markdown
    link's destination)."""
    pos = after
    comment = _GLUED_COMMENT.match(text, pos, line_end)
    if comment is not None:
        pos = comment.end()
    pos = _CLOSING.match(text, pos, line_end).end()  # type: ignore[union-attr]
    while pos > after and text[pos - 1] in " \t":
        pos -= 1
    if text.startswith("(", pos) or (text.startswith("[", pos) and not text.startswith("[[", pos)):
        return None
    return pos


def _wikilink_at(text: str, pos: int | None) -> str | None:
    if pos is None:
        return None
    targets = links_at(text, pos)
    return targets[0] if targets else None


@dataclass(frozen=True)
class NearMiss:
    """A line written like a paper title that is almost, not exactly, a known one."""

    line: int
    written: str
    title: KnownTitle


# A near miss: the line (after its bullet or label, before a glued comment, a year or a
# separator) against the known titles that share its first or its last two words.
_NEAR_END = re.compile(r"[ \t]*(?:[(\[|]|[ \t][-–—][ \t]|[:：][ \t]|\*\*|$)")
_COLON_LABEL = re.compile(r"[^\n:：]{1,40}[:：][ \t]+")
NEAR_MISS_RATIO = 0.75
_NEAR_MIN_WORDS = 3
_NEAR_MAX_WORDS = 30


def near_misses(
    text: str,
    index: TitleIndex,
    found: Sequence[TitleMatch],
    *,
    skip_spans: Sequence[Span] = (),
    pairs: Collection[tuple[str, str]] | None = None,
    cited_lines: Collection[int] = (),
) -> list[NearMiss]:
    """Lines of `text` that stand alone like a title and come close to a known title without
    being it (a typo, a changed word, a title cut short): each with the closest title. These
    are never linked: offline, a mistyped title and another paper's title cannot be told
    apart, so the user is told and decides. `cited_lines`: lines that cite by a URL or an
    id, and so are no near miss."""
    if not index:
        return []
    if pairs is None:
        pairs = word_pairs(normal_words(text))
    by_start, by_end = index.by_start, index.by_end
    if not any(pair in by_start or pair in by_end for pair in pairs):
        return []
    excluded: list[Span] | None = None  # worked out at the first near miss: most notes have none
    matched_lines = {match.line for match in found}
    matched_lines.update(cited_lines)
    misses: list[NearMiss] = []
    line_start = 0
    for number, line in enumerate(text.split("\n"), start=1):
        start, line_start = line_start, line_start + len(line) + 1
        if (
            number in matched_lines
            or not 10 <= len(line) <= 200
            or _is_sentence(line)
            or not _may_be_near(line, index)
        ):
            continue
        miss = _near_miss(line, index)
        if miss is None:
            continue
        if excluded is None:
            front = front_matter_span(text)
            excluded = merge_spans(
                [front] if front else [],
                code_spans(text),
                wikilink_spans(text),
                html_block_spans(text),
                dataview_field_spans(text),
                skip_spans,
            )
        if not overlaps(start, start + len(line), excluded):
            misses.append(NearMiss(number, miss[0], miss[1]))
    return misses


def _is_sentence(line: str) -> bool:
    """A line of eight words or more ending with a lower-case word and a full stop: a
    sentence, not a title written alone (which ends with its last word, a year, a comment,
    a venue or 'et al.'). Told with string methods: it spares most of a note's lines the
    word-by-word look of near misses and title candidates."""
    end = line.rstrip(" \t*_\"'”’")
    return (
        end.endswith(".")
        and end[-2:-1].islower()
        and not end.endswith((" al.", " etc."))  # 'by Tom B. Brown et al.': authors
        and line.count(" ", 0, len(end)) >= 7
    )


_SPLIT = re.compile(r"[\s\-–—/:]+")
_PUNCTUATION = "\"'“”‘’*_-–—:：,.;()[]<>•·#|!?"


def _may_be_near(line: str, index: TitleIndex) -> bool:
    """A cheap first look: a short line with two of its first or last words starting or
    ending a known title."""
    if not 10 <= len(line) <= 200 or "://" in line or "arxiv" in line.lower():
        return False  # (a line with a URL or an arXiv id cites by those)
    raw = [word.strip(_PUNCTUATION) for word in _SPLIT.split(line.lower())]
    raw = [word for word in raw if word]
    if len(raw) < _NEAR_MIN_WORDS:
        return False
    by_start, by_end = index.by_start, index.by_end
    return any(pair in by_start for pair in itertools.pairwise(raw[:6])) or any(
        pair in by_end for pair in itertools.pairwise(raw[-6:])
    )


def _near_miss(line: str, index: TitleIndex) -> tuple[str, KnownTitle] | None:
    pos = _HEADING.match(line).end() if _HEADING.match(line) else 0  # type: ignore[union-attr]
    pos = _LIST_MARKER.match(line, pos).end()  # type: ignore[union-attr]
    pos = _OPENING.match(line, pos).end()  # type: ignore[union-attr]
    label = _COLON_LABEL.match(line, pos)
    if label is not None and len(normal_words(line[label.end() :])) >= _NEAR_MIN_WORDS:
        pos = label.end()
    end = _NEAR_END.search(line, pos)
    written = line[pos : end.start() if end else len(line)].strip(" *_\"'“”‘’")
    words = normal_words(written)
    if not _NEAR_MIN_WORDS <= len(words) <= _NEAR_MAX_WORDS or "[" in written or "](" in line:
        return None
    joined = " ".join(words)
    candidates = {
        entry.key: (other, entry)
        for pair in (tuple(words[:2]), tuple(words[-2:]))
        for other, entry in index.near(pair, len(joined))
    }
    # rapidfuzz's ratio counts the longest common subsequence, which difflib's matching
    # blocks never exceed: a title below the threshold there is below it here, and rapidfuzz
    # tells at C speed. difflib still decides, as it did before this shortcut.
    close = extract(
        joined,
        {key: other for key, (other, _) in candidates.items()},
        scorer=indel_ratio,
        score_cutoff=100 * NEAR_MISS_RATIO - 0.01,
        limit=None,
    )
    best: tuple[float, KnownTitle] | None = None
    written_set = set(words)
    for _, _, key in close:
        other, entry = candidates[key]
        if entry.words == tuple(words):
            return None  # the title itself, somewhere the rule does not count it
        # Half the words in common at least.
        if 2 * len(written_set & entry.word_set) < max(len(written_set), len(entry.words)):
            continue
        ratio = difflib.SequenceMatcher(None, joined, other).ratio()
        if ratio >= NEAR_MISS_RATIO and (best is None or ratio > best[0]):
            best = (ratio, entry)
    return (written, best[1]) if best is not None else None


# Two papers whose titles (and years) fit the same words: the text cannot tell which.
_AMBIGUOUS = TitleMatch(KnownTitle("", "", None, ("", ""), True, ()), 0, 0, 0, None, False, None)


# -- titles the vault does not know yet ------------------------------------------------------
# A line (or list item) written like a paper title is a candidate to look up on arXiv by its
# title. Each candidate costs a request the first time it is seen, so only lines that are
# mostly one title-like run of words are taken, never prose, and never what the known titles
# already matched. What links is decided afterwards by `find_titles` alone, once the papers
# arXiv returns are known titles: a candidate never links by itself.
CANDIDATE_MIN_WORDS = 4
CANDIDATE_MAX_WORDS = 25
# The run of words ends before a year, a bracket, a separator, a comma, 'by' or 'et al.'.
_RUN_END = re.compile(
    r"[ \t]*(?:[(\[（|]|[ \t][-–—][ \t]|,|\*\*|__|[ \t]by[ \t]|[ \t]et[ \t]al\b"
    r"|(?<=\w)[ \t]+(?:19|20)\d\d\b|$)"
)
_LEADING_COLON = re.compile(r"[ \t]*[:：][ \t]*")
_SMALL = "a an and are as at be by for from in into is of on or over the to via vs with without"
_SMALL_WORDS = frozenset(_SMALL.split())
_LATIN_WORD = re.compile(r"[0-9A-Za-z\u00c0-\u024f]+")
_YEAR_ANYWHERE = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
# After a title a comma brings authors, a venue or a year: capitalised, or numbers. Two
# lower-case words after it go on with a sentence ("They tune the learning rate per method,
# which is fair", "Connection to sparse encoders: same idea, different notation.").
_CLAUSE_AFTER = re.compile(r"[ \t]*,[ \t]*(?!et[ \t]+al\b)[a-z]+[ \t]+[a-z]+\b")
_SENTENCE_END = re.compile(r"[.?!。？！]$|[.?!][ \t]+[A-Z]")


@dataclass(frozen=True)
class TitleCandidate:
    """A line of a note written like the title of a paper the vault may not know."""

    line: int
    words: tuple[str, ...]  # normal_words of the written title
    year: int | None  # the year written after it, if any

    @property
    def phrase(self) -> str:
        """The title as looked up: its words, lower case, separated by spaces."""
        return " ".join(self.words)


def title_candidates(
    text: str,
    found: Sequence[TitleMatch],
    *,
    skip_spans: Sequence[Span] = (),
    cited_lines: Collection[int] = (),
    index: TitleIndex | None = None,
) -> list[TitleCandidate]:
    """The lines of `text` that stand alone like a paper title and hold no known title
    (`found`): a line or list item (after a bullet, a number, a `label: `, an
    `Authors (2017) - `), the title then optionally followed by a year, authors or a short
    comment. The title is 4 to 25 words, every one Latin, not a sentence or a question, with
    some evidence of being a title: a year on the line, a subtitle colon, a coined word
    (`GPT-3`, `BERTology`), Title Case (five words or more), or seven words or more; and
    starting with a capital (prose wrapped onto a line of its own need not).
    Headings are not taken: a heading names a section far more often than a paper, and gets
    no link anyway. Lines with a URL, a link, code, a table row or an arXiv id are not taken
    either: they are in the excluded spans or cite by those (`cited_lines`: the lines holding
    a reference, an old-style id such as `gr-qc/0006594` too). Nor is a title the `index`
    knows already (two papers of that title, or one whose year is not the one written): arXiv
    would only answer with what the known-title rule has judged."""
    matched_lines = {match.line for match in found}
    matched_lines.update(cited_lines)
    context: _Context | None = None
    candidates: list[TitleCandidate] = []
    line_start = 0
    for number, line in enumerate(text.split("\n"), start=1):
        start, line_start = line_start, line_start + len(line) + 1
        if number in matched_lines or not 16 <= len(line) <= 300:
            continue
        if "://" in line or "arxiv" in line.lower() or "[[" in line or "`" in line:
            continue
        if _HEADING.match(line) or line.lstrip().startswith("|") or _is_sentence(line):
            continue
        written = _candidate_in(line)
        if written is None:
            continue
        if context is None:
            context = _Context(text, skip_spans)
        if overlaps(start, start + len(line), context.excluded) or any(
            s <= start < e for s, e in context.tables
        ):
            continue
        if index is not None and _known_already(index, *written):
            continue
        candidates.append(TitleCandidate(number, *written))
    return candidates


def _known_already(index: TitleIndex, words: tuple[str, ...], year: int | None) -> bool:
    """Whether the words are a known title whose paper fits the year written (if any)."""
    return any(
        year is None or title.year is None or abs(year - title.year) <= 1
        for title in index.by_words.get(words, ())
    )


def _candidate_in(line: str) -> tuple[tuple[str, ...], int | None] | None:
    """The title-like run of words `line` holds, with the year written after it."""
    pos = _LIST_MARKER.match(line).end()  # type: ignore[union-attr]
    pos = _OPENING.match(line, pos).end()  # type: ignore[union-attr]
    colon = _LEADING_COLON.match(line, pos)
    if colon is not None:
        pos = colon.end()
    # A label ('Day 2: ', 'Schulman et al. (2017) - '): what follows is the title, unless
    # the 'label' is the title's own first part ('Flashattention: fast and ...'), which has
    # a single word before its colon.
    label = _LABEL.match(line, pos)
    if label is not None and len(_WORD.findall(line[pos : label.end()])) > 1:
        pos = _OPENING.match(line, label.end()).end()  # type: ignore[union-attr]
    end = _RUN_END.search(line, pos)
    assert end is not None
    run = line[pos : end.start()].rstrip(" \t*_\"'”’:：;")
    # The cheapest tests first: most lines a note holds are prose, and fail one of them.
    if "a" <= run[:1] <= "z":
        return None  # a title starts with a capital, even typed in haste; prose need not
    latin = _LATIN_WORD.findall(run)
    if len(latin) < CANDIDATE_MIN_WORDS or len(latin) != len(_WORD.findall(run)):
        return None  # too short, or in another script
    if not (latin[0][0].isupper() or latin[0][0].isdigit()) or _SENTENCE_END.search(run):
        return None  # (as above) or a sentence
    rest = line[end.start() :]
    if len(_LATIN_WORD.findall(rest)) > len(latin):
        return None  # the line goes on longer than the title: prose
    if _CLAUSE_AFTER.match(rest):
        return None  # a sentence going on after a comma
    words = normal_words(run)
    if not CANDIDATE_MIN_WORDS <= len(words) <= CANDIDATE_MAX_WORDS:
        return None
    year_match = _YEAR.match(line, end.start())
    year = int(year_match.group(1) or year_match.group(2)) if year_match else None
    dated = year is not None or _YEAR_ANYWHERE.search(line) is not None
    if not _looks_titled(run, latin, dated):
        return None
    return tuple(words), year


def _looks_titled(run: str, latin: list[str], dated: bool) -> bool:
    if dated or len(latin) >= _PROSE_MIN_WORDS:
        return True
    if re.search(r"\w[:：][ \t]+\w", run) or any(_COINED.fullmatch(w) for w in latin):
        return True
    significant = [w for w in latin if w.lower() not in _SMALL_WORDS]
    return len(latin) >= 5 and all(w[0].isupper() or w[0].isdigit() for w in significant)
