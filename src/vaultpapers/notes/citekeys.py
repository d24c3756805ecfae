"""Citekeys: the names papers are cited by in Pandoc, LaTeX and the Citations plugin.

Pure. A paper note's `citekey` is set once and then belongs to the note: whatever it holds
(ours, or one the user typed) is kept. New papers get one made from a pattern, shaped by
default like Better BibTeX's (`jaegle2021perceiver`: first author's last name in ASCII, the
year, the title's first significant word). Two new papers wanting the same key are told apart
in arXiv-id order with a letter (`...perceivera`), so every machine making them from the same
notes makes the same keys, whatever order it met the papers in.
"""

from __future__ import annotations

import bisect
import re
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from anyascii import anyascii

from vaultpapers.arxiv.papers import Paper

DEFAULT_PATTERN = "{author}{year}{title}"
FIELDS = ("author", "year", "title", "id")
# Better BibTeX's skip words (its `skipWords` preference), so that keys look like its keys.
SKIP_WORDS = frozenset(
    [
        "a",
        "ab",
        "aboard",
        "about",
        "above",
        "across",
        "after",
        "against",
        "al",
        "along",
        "amid",
        "among",
        "an",
        "and",
        "anti",
        "around",
        "as",
        "at",
        "before",
        "behind",
        "below",
        "beneath",
        "beside",
        "besides",
        "between",
        "beyond",
        "but",
        "by",
        "d",
        "da",
        "das",
        "de",
        "del",
        "dell",
        "dello",
        "dei",
        "degli",
        "della",
        "delle",
        "dem",
        "den",
        "der",
        "des",
        "despite",
        "die",
        "do",
        "down",
        "du",
        "during",
        "ein",
        "eine",
        "einem",
        "einen",
        "einer",
        "eines",
        "el",
        "en",
        "et",
        "except",
        "for",
        "from",
        "gli",
        "i",
        "il",
        "in",
        "inside",
        "into",
        "is",
        "l",
        "la",
        "las",
        "le",
        "les",
        "like",
        "lo",
        "los",
        "near",
        "nor",
        "of",
        "off",
        "on",
        "onto",
        "or",
        "over",
        "past",
        "per",
        "plus",
        "round",
        "save",
        "since",
        "so",
        "some",
        "sur",
        "than",
        "the",
        "through",
        "to",
        "toward",
        "towards",
        "un",
        "una",
        "unas",
        "under",
        "underneath",
        "une",
        "unlike",
        "uno",
        "unos",
        "until",
        "up",
        "upon",
        "versus",
        "via",
        "von",
        "while",
        "with",
        "within",
        "without",
        "yet",
        "zu",
        "zum",
    ]
)
_NAME_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})
_WORD = re.compile(r"[A-Za-z0-9]+")
_MATH = re.compile(r"\$[^$]*\$")
# What Pandoc allows inside a citekey after its first character; a key we make holds less.
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_:.#$%&+?<>~/-]")


# Pandoc's citekey grammar: a letter, digit or `_`, then those, with single punctuation marks
# of `:.#$%&-+?<>~/` between them. A `.bib` entry under any other key (`smith 2020`, `@mixer`)
# makes Pandoc refuse the whole file.
_PANDOC_KEY = re.compile(r"\w(?:[:.#$%&+?<>~/-]?\w)*")


def citekey_problem(citekey: str) -> str | None:
    """Why Pandoc cannot cite `citekey` (a user's), or None when it can."""
    if _PANDOC_KEY.fullmatch(citekey):
        return None
    return (
        f"citekey {citekey!r} cannot be cited with Pandoc (a citekey starts with a letter, "
        "digit or _, and holds only those and single : . # $ % & - + ? < > ~ / between them); "
        "vaultpapers keeps it but leaves the paper out of the bibliography until you change it"
    )


@dataclass(frozen=True)
class Collision:
    """Several papers' notes holding the same citekey (compared as BibTeX does: ignoring case)."""

    citekey: str
    keys: tuple[str, ...]  # the papers, in arXiv-id order; the first one keeps it in exports


def last_name(author: str) -> str:
    """'Juan M. Maldacena' -> 'Maldacena'; 'Martin Luther King Jr.' -> 'King'."""
    words = author.replace(",", " ").split()
    while len(words) > 1 and words[-1].lower() in _NAME_SUFFIXES:
        words.pop()
    return words[-1] if words else ""


def _ascii_words(text: str) -> list[str]:
    # Apostrophes and hyphens join a word ("Pre-training" -> "pretraining", "Hawkes'" stays one).
    return _WORD.findall(re.sub(r"['’\-‐]", "", anyascii(text)))


def first_title_word(title: str) -> str:
    """The title's first word that is not a skip word ('Attention Is All You Need' ->
    'attention'), in lowercase ASCII; maths (`$...$`) is skipped."""
    words = _ascii_words(_MATH.sub(" ", title))
    for word in words:
        if word.lower() not in SKIP_WORDS:
            return word.lower()
    return words[0].lower() if words else ""


def base_citekey(key: str, paper: Paper, pattern: str = DEFAULT_PATTERN) -> str:
    """The citekey `pattern` makes for a paper, before collisions are told apart."""
    author = "".join(_ascii_words(last_name(paper.authors[0]))) if paper.authors else ""
    values = {
        "author": author.lower() or "anon",
        "year": str(paper.published.year),
        "title": first_title_word(paper.title),
        "id": key.replace("/", "_"),
    }
    made = _KEY_UNSAFE.sub("", pattern.format(**values))
    return made if made[:1].isalnum() else f"arxiv{made}"


def check_pattern(pattern: str) -> str | None:
    """Why `pattern` cannot make citekeys, or None if it can."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    except ValueError as exc:
        return str(exc)
    if unknown := names - set(FIELDS):
        return f"unknown field {{{sorted(unknown)[0]}}}; use {', '.join(FIELDS)}"
    if not names:
        return f"must contain at least one field of {', '.join(FIELDS)}"
    return None


def _suffixes() -> Iterator[str]:
    """'a' ... 'z', 'aa' ... 'zz', ...: Better BibTeX's way of telling keys apart."""
    letters = string.ascii_lowercase
    length = 1
    while True:
        stack = [""]
        for _ in range(length):
            stack = [s + c for s in stack for c in letters]
        yield from stack
        length += 1


def assign_citekeys(
    papers: Mapping[str, Paper],
    kept: Mapping[str, str],
    pattern: str = DEFAULT_PATTERN,
) -> tuple[dict[str, str], list[Collision]]:
    """A citekey for every paper in `papers` (key -> metadata) and `kept` (key -> the citekey
    its note holds already, which stays). New ones never take a key already held, ignoring
    case (BibTeX does). Returns the keys and the citekeys held by more than one paper."""
    assigned = dict(kept)
    holders: dict[str, list[str]] = {}
    for key in sorted(kept):
        holders.setdefault(kept[key].casefold(), []).append(key)
    taken = set(holders)
    # Per base, where the search for a free suffix stopped: a thousand papers wanting one key
    # cost a thousand steps, not half a million.
    suffixes: dict[str, Iterator[str]] = {}
    for key in sorted(papers.keys() - kept.keys()):
        base = base_citekey(key, papers[key], pattern)
        citekey = base
        if citekey.casefold() in taken:
            left = suffixes.setdefault(base.casefold(), _suffixes())
            citekey = next(base + s for s in left if (base + s).casefold() not in taken)
        taken.add(citekey.casefold())
        assigned[key] = citekey
    collisions = [
        Collision(kept[keys[0]], tuple(keys)) for keys in holders.values() if len(keys) > 1
    ]
    return assigned, sorted(collisions, key=lambda c: c.citekey)


# -- Pandoc citations in a note ------------------------------------------------------------
# `@key`, `[@key]`, `[see @a, p. 3; @b]`, `[-@key]`, `@{key}`: Pandoc's citation syntax. A key
# starts with a letter, digit or `_` and may hold internal punctuation; trailing punctuation
# ends it ("as @smith2020 says." cites `smith2020`). An `@` right after a letter or digit is an
# e-mail address or a handle, not a citation.
_PANDOC_CITATION = re.compile(
    r"(?<![\w@\\])@(?:\{([^{}\s]+)\}|([\w](?:[\w:.#$%&\-+?<>~/]*[\w])?))", re.UNICODE
)


def pandoc_citekeys(text: str, skip: Iterable[tuple[int, int]] = ()) -> tuple[str, ...]:
    """The citekeys `text` cites in Pandoc's syntax, each once, in order, outside the `skip`
    spans (code, front matter, our sections)."""
    spans = sorted(skip)
    starts = [start for start, _ in spans]
    found: dict[str, None] = {}
    for match in _PANDOC_CITATION.finditer(text):
        at = match.start()
        inside = bisect.bisect_right(starts, at) - 1
        if inside >= 0 and at < spans[inside][1]:
            continue
        found.setdefault(match.group(1) or match.group(2))
    return tuple(found)
