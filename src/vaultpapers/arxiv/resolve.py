"""Where paper metadata comes from: the cache first, then (only if needed) a source such as
arXiv. Kept apart from `arxiv_source` so that a run which fetches nothing never even imports
the HTTP and XML stack."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from vaultpapers.arxiv.cache import DecodedPapers, PaperCache
from vaultpapers.arxiv.papers import Resolution

if TYPE_CHECKING:
    from vaultpapers.arxiv.papers import FetchResult

NOT_FOUND_MAX_AGE = timedelta(days=7)  # arXiv's "no such paper" is asked again after this


class Source(Protocol):
    @property
    def cache(self) -> PaperCache | None: ...  # read only: a source with a cache satisfies it

    def fetch(
        self, keys: Iterable[str], *, progress: Callable[[int, int], None] | None = None
    ) -> FetchResult: ...


def resolve(
    keys: Iterable[str],
    cache: PaperCache,
    source: Source | None,
    *,
    progress: Callable[[int, int], None] | None = None,
    known: DecodedPapers | None = None,
    fetching: Collection[str] = (),
) -> Resolution:
    """Metadata for ``keys``: cached papers first, recent "not found" answers trusted, the rest
    fetched (or left pending as 'offline' when there is no source). `known`: papers decoded
    by earlier calls (see `PaperCache.get_many`). `fetching`: keys the source is fetching
    already (it was asked ahead), not looked up first."""
    wanted = sorted(set(keys))
    papers = cache.get_many([key for key in wanted if key not in fetching], known=known)
    uncached = [key for key in wanted if key not in papers]
    asked = [key for key in uncached if key not in fetching]
    not_found = cache.not_found(asked, max_age=NOT_FOUND_MAX_AGE)
    to_fetch = [key for key in uncached if key not in not_found]
    pending: dict[str, str] = {}
    requests = 0
    if to_fetch and source is None:
        pending = dict.fromkeys(to_fetch, "offline")
    elif to_fetch and source is not None:
        result = source.fetch(to_fetch, progress=progress)
        if source.cache is not cache:
            cache.put_many(result.papers.values())
            cache.mark_not_found(result.not_found)
        papers.update(result.papers)
        not_found |= result.not_found
        pending = dict(result.failed)
        requests = result.requests
    return Resolution(
        papers=papers, not_found=frozenset(not_found), pending=pending, requests=requests
    )
