"""arXiv identifiers: strict parsing into a canonical key plus an optional version.

The grammar follows arXiv's own rules (https://info.arxiv.org/help/arxiv_identifier.html):

* new style, from April 2007: ``YYMM.NNNN`` (0704-1412) or ``YYMM.NNNNN`` (from 1501);
* old style, 1991 to March 2007: ``archive/YYMMNNN`` or ``archive.SC/YYMMNNN``;
* either may carry ``vN`` with N >= 1.

Nothing is guessed: a malformed id is rejected with a reason a user can act on, because a wrong
guess would silently link a note to somebody else's paper.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import total_ordering

# Every archive that ever issued old-style ids, plus the few later archives users attach to
# old-looking ids. Unknown names are rejected so that paths such as ``images/1234567`` are not
# mistaken for papers.
OLD_STYLE_ARCHIVES: frozenset[str] = frozenset(
    {
        "acc-phys",
        "adap-org",
        "alg-geom",
        "ao-sci",
        "astro-ph",
        "atom-ph",
        "bayes-an",
        "chao-dyn",
        "chem-ph",
        "cmp-lg",
        "comp-gas",
        "cond-mat",
        "cs",
        "dg-ga",
        "funct-an",
        "gr-qc",
        "hep-ex",
        "hep-lat",
        "hep-ph",
        "hep-th",
        "math",
        "math-ph",
        "mtrl-th",
        "nlin",
        "nucl-ex",
        "nucl-th",
        "patt-sol",
        "physics",
        "plasm-ph",
        "q-alg",
        "q-bio",
        "q-fin",
        "quant-ph",
        "solv-int",
        "stat",
        "supr-con",
    }
)

_NEW_STYLE = re.compile(r"(?P<yymm>\d+)\.(?P<number>\d+)(?:v(?P<version>\d+))?")
_OLD_STYLE = re.compile(
    r"(?P<archive>[A-Za-z][A-Za-z-]*)(?:\.(?P<subject>[A-Za-z][A-Za-z-]*))?"
    r"/(?P<number>\d+)(?:v(?P<version>\d+))?"
)
_PREFIX = re.compile(r"arxiv:\s*", re.IGNORECASE)
_FILE_SUFFIXES = (".gz", ".ps", ".pdf")

FIRST_NEW_STYLE_YYMM = 704
# Five-digit sequence numbers start at 1501; no valid month lies between 1412 and 1501.
LAST_FOUR_DIGIT_YYMM = 1412


class InvalidArxivId(ValueError):
    """Text that is not an arXiv identifier; ``reason`` says why in one short sentence."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"{text!r} is not a valid arXiv id: {reason}")
        self.text = text
        self.reason = reason


@total_ordering
@dataclass(frozen=True)
class ArxivId:
    """A parsed arXiv identifier.

    ``key`` is the canonical unversioned id (old style without subject class); ``version`` is
    None when the reference named no version. Ordering is by key, then version, with an
    unversioned id sorting before its versions (plain ``order=True`` would raise comparing
    None with an int).
    """

    key: str
    version: int | None = None

    @property
    def versioned(self) -> str:
        return self.key if self.version is None else f"{self.key}v{self.version}"

    @property
    def filename_part(self) -> str:
        # Old-style keys contain '/', which no file name may hold; '_' never occurs in a key,
        # so the mapping stays reversible.
        return self.key.replace("/", "_")

    def unversioned(self) -> ArxivId:
        return ArxivId(self.key)

    def _sort_key(self) -> tuple[str, int]:
        return (self.key, 0 if self.version is None else self.version)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ArxivId):
            return NotImplemented
        return self._sort_key() < other._sort_key()

    def __str__(self) -> str:
        return self.versioned


def parse_arxiv_id(text: str) -> ArxivId:
    """Parse one identifier as users write it.

    Accepts a leading ``arXiv:`` in any case and a trailing ``.pdf``, ``.ps`` or ``.gz``, as
    arXiv's own parser does. Raises :class:`InvalidArxivId` with the reason otherwise.
    """
    candidate = text.strip()
    prefix = _PREFIX.match(candidate)
    if prefix:
        candidate = candidate[prefix.end() :]
    for suffix in _FILE_SUFFIXES:
        if candidate.lower().endswith(suffix):
            candidate = candidate[: -len(suffix)]
    if not candidate:
        raise InvalidArxivId(text, "empty identifier")

    new_style = _NEW_STYLE.fullmatch(candidate)
    if new_style:
        return _parse_new_style(text, new_style)
    old_style = _OLD_STYLE.fullmatch(candidate)
    if old_style:
        return _parse_old_style(text, old_style)
    raise InvalidArxivId(
        text,
        "not shaped like an arXiv id (YYMM.NNNNN or archive/YYMMNNN, optionally followed by vN)",
    )


def _parse_version(text: str, digits: str | None) -> int | None:
    if digits is None:
        return None
    if int(digits) == 0:
        raise InvalidArxivId(text, f"version v{digits} does not exist; versions start at v1")
    if digits.startswith("0"):
        raise InvalidArxivId(text, f"version v{digits} has a leading zero")
    return int(digits)


def _parse_new_style(text: str, match: re.Match[str]) -> ArxivId:
    yymm, number = match["yymm"], match["number"]
    if len(yymm) != 4:
        raise InvalidArxivId(
            text, f"{len(yymm)} digits before the dot; new-style ids start with 4 (YYMM)"
        )
    month = int(yymm[2:])
    if not 1 <= month <= 12:
        raise InvalidArxivId(text, f"month {yymm[2:]} does not exist (YYMM {yymm})")
    yymm_value = int(yymm)
    if yymm_value < FIRST_NEW_STYLE_YYMM:
        raise InvalidArxivId(text, f"new-style ids start at 0704 (April 2007); {yymm} is earlier")
    expected = 4 if yymm_value <= LAST_FOUR_DIGIT_YYMM else 5
    if len(number) != expected:
        raise InvalidArxivId(
            text,
            f"{len(number)} digits after the dot; new-style ids have 4 (0704-1412) "
            "or 5 (from 1501)",
        )
    if int(number) == 0:
        raise InvalidArxivId(text, f"sequence number {number} does not exist")
    return ArxivId(f"{yymm}.{number}", _parse_version(text, match["version"]))


def _parse_old_style(text: str, match: re.Match[str]) -> ArxivId:
    archive, number = match["archive"].lower(), match["number"]
    if archive not in OLD_STYLE_ARCHIVES:
        raise InvalidArxivId(text, f"unknown arXiv archive {match['archive']!r}")
    if len(number) != 7:
        raise InvalidArxivId(
            text, f"{len(number)} digits after the slash; old-style ids have 7 (YYMMNNN)"
        )
    year, month, sequence = number[:2], int(number[2:4]), number[4:]
    if not (91 <= int(year) <= 99 or 0 <= int(year) <= 7):
        raise InvalidArxivId(text, f"year {year} is outside the old scheme (1991 to March 2007)")
    if not 1 <= month <= 12:
        raise InvalidArxivId(text, f"month {number[2:4]} does not exist (YYMM {number[:4]})")
    if year == "07" and month > 3:
        raise InvalidArxivId(
            text, f"the old scheme ended in March 2007; {number[:4]} needs a new-style id"
        )
    if sequence == "000":
        raise InvalidArxivId(text, "sequence number 000 does not exist")
    return ArxivId(f"{archive}/{number}", _parse_version(text, match["version"]))


# An arXiv category id: an archive ('cs', 'hep-th', 'q-bio'), optionally a subject class
# ('cs.LG', 'astro-ph.CO', 'cond-mat.str-el').
_CATEGORY = re.compile(r"[a-z]+(?:-[a-z]+)?(?:\.[A-Za-z]+(?:-[A-Za-z]+)?)?")


def arxiv_categories(values: Iterable[str]) -> tuple[str, ...]:
    """The arXiv categories among what the API lists as a paper's categories: it also lists
    the MSC and ACM classes authors give ('68T05', 'I.2.7; H.3.3'), which are not arXiv's and
    would become tags such as `arxiv/68T05`."""
    return tuple(value for value in values if _CATEGORY.fullmatch(value))
