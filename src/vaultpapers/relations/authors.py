"""Who wrote a paper, compared the way names are written differently: "Hervé Jégou" and
"Herve Jegou", "Mark M. Botvinick" and "Mark M Botvinick" are one author."""

from __future__ import annotations

import functools
import unicodedata

from vaultpapers.arxiv.papers import Paper


@functools.lru_cache(maxsize=1 << 17)
def _author_key(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(text.casefold().replace(".", " ").split())


@functools.lru_cache(maxsize=1 << 17)  # each paper's list is compared with many others
def author_keys(authors: tuple[str, ...]) -> frozenset[str]:
    return frozenset(_author_key(name) for name in authors)


def shared_authors(one: Paper, other: Paper) -> tuple[str, ...]:
    """The authors of `one` who also wrote `other`, as `one` spells them."""
    theirs = author_keys(other.authors)
    if not theirs or author_keys(one.authors).isdisjoint(theirs):
        return ()
    return tuple(name for name in one.authors if _author_key(name) in theirs)


def authors_unknown(*papers: Paper) -> bool:
    """True when some paper lists no authors: then authors can neither join nor part them."""
    return any(not paper.authors for paper in papers)
