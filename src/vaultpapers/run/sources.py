"""Where a run gets papers' metadata: the cache, the arXiv source built on demand, a
helper process fetching ahead, and asking again about papers that fell due."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaultpapers.arxiv import refresh
from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.arxiv.papers import FetchResult, Paper, Resolution
from vaultpapers.arxiv.resolve import NOT_FOUND_MAX_AGE
from vaultpapers.config import STATE_DIR, Settings
from vaultpapers.run.report import RunReport
from vaultpapers.scan.note import NoteScan

if TYPE_CHECKING:
    from vaultpapers.arxiv.client import ArxivSource
    from vaultpapers.arxiv.prefetch import Prefetch

log = logging.getLogger("vaultpapers")


CACHE_FILE = "cache.sqlite"


def cache_path(vault: Path) -> Path:
    return vault / STATE_DIR / CACHE_FILE


def open_cache(vault: Path, *, in_memory: bool = False) -> PaperCache:
    """`in_memory`: the cache only read, into memory (a dry run writes nothing in the vault)."""
    path = cache_path(vault)
    if not in_memory:
        path.parent.mkdir(exist_ok=True)
    return PaperCache(path, in_memory=in_memory)


def make_source(
    settings: Settings, cache: PaperCache, *, sleep: Callable[[float], None] = time.sleep
) -> ArxivSource:
    """`sleep` is where pacing and backoff wait: the watcher passes one that wakes on stop."""
    from vaultpapers.arxiv.client import (
        ArxivSource,  # the HTTP and XML stack, only once it is needed
    )

    return ArxivSource(**source_options(settings), cache=cache, sleep=sleep)


def refresh_source(
    settings: Settings, cache: PaperCache, *, sleep: Callable[[float], None] = time.sleep
) -> ArxivSource:
    """The source that asks again about papers already cached: one try per request, a short
    timeout. The cached record serves meanwhile, so a run never waits on an unreachable arXiv
    for what it already has (`refresh.RETRY_AFTER` decides when to try again)."""
    from vaultpapers.arxiv.client import ArxivSource

    options = source_options(settings)
    options.update(max_retries=0, timeout=min(options["timeout"], REFRESH_TIMEOUT))
    return ArxivSource(**options, cache=cache, sleep=sleep)


REFRESH_TIMEOUT = 10.0


def source_options(settings: Settings) -> dict[str, Any]:
    """The arXiv source's settings, as plain values (a helper process gets them too)."""
    arxiv = settings.arxiv
    return {
        "api_url": arxiv.api_url,
        "delay": arxiv.delay,
        "timeout": arxiv.timeout,
        "batch_size": arxiv.batch_size,
        "max_retries": arxiv.max_retries,
    }


def refresh_due(
    cache: PaperCache,
    settings: Settings,
    resolution: Resolution,
    report: RunReport,
    forced: Collection[str] | None,
) -> tuple[Resolution, float | None]:
    """The resolution with the papers due (or `forced`) asked about again; the changes are
    told in `report.refreshed`. Returns when the next paper falls due (None: never)."""
    papers = resolution.papers
    policy = settings.refresh
    now = time.time()
    fetched = cache.fetched_times(papers)
    if forced is not None:
        wanted = sorted(set(forced) & papers.keys())
    elif policy.max_requests:
        limit = policy.max_requests * settings.arxiv.batch_size
        wanted = refresh.due(papers, fetched, now, policy)[:limit]
    else:
        return resolution, None
    if wanted:
        result = refresh_source(settings, cache).fetch(wanted)
        report.rechecked = len(result.papers)
        if result.failed:
            failed = sorted(result.failed)
            later = refresh.postponed(papers, failed, now, policy)
            cache.set_fetched_times(later)
            fetched.update(later)
            reasons = "; ".join(sorted(set(result.failed.values())))
            report.not_rechecked = (
                f"could not ask arXiv again about {len(failed)} paper(s) ({reasons}); "
                "their notes stay as they are, and they are asked again in a day"
            )
        for key in sorted(result.papers):
            fetched[key] = now
            if result.papers[key] != papers[key]:
                report.refreshed.append(refresh.describe(papers[key], result.papers[key]))
        resolution = replace(
            resolution,
            papers={**papers, **result.papers},
            requests=resolution.requests + result.requests,
        )
    if not policy.max_requests:
        return resolution, None
    return resolution, refresh.next_due(resolution.papers, fetched, now, policy)


def fetch_ahead(
    vault: Path, settings: Settings, started: list[Prefetch]
) -> Callable[[list[NoteScan]], None]:
    """What `scan_vault` calls with the notes it read: if they cite papers neither cached nor
    known to be missing, a helper process starts fetching them (appended to `started`)."""

    def start(scans: list[NoteScan]) -> None:
        cited = sorted({key for scan in scans for key in scan.cited})
        if not cited:
            return
        with open_cache(vault) as cache:
            cached = cache.get_many(cited)
            uncached = [key for key in cited if key not in cached]
            missing = cache.not_found(uncached, max_age=NOT_FOUND_MAX_AGE)
        keys = [key for key in uncached if key not in missing]
        if keys:
            from vaultpapers.arxiv.prefetch import Prefetch

            log.debug("fetching %d paper(s) ahead in a helper process", len(keys))
            started.append(Prefetch.start(cache_path(vault), keys, source_options(settings)))

    return start


class SourceOnDemand:
    """The arXiv source, built on the first fetch: most runs have nothing to fetch. What a
    helper fetched ahead (`prefetch`) is taken from the cache; the rest is fetched here."""

    def __init__(
        self, settings: Settings, cache: PaperCache, prefetch: Prefetch | None = None
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.prefetch = prefetch
        self.fetched = 0  # papers whose metadata came from arXiv (here or ahead)

    def fetch(
        self, keys: Iterable[str], *, progress: Callable[[int, int], None] | None = None
    ) -> FetchResult:
        rest = sorted(set(keys))
        papers: dict[str, Paper] = {}
        not_found: set[str] = set()
        failed: dict[str, str] = {}
        requests = 0
        if self.prefetch is not None:
            done = self.prefetch.result()
            papers = self.cache.get_many([key for key in rest if key in done.found])
            not_found = {key for key in rest if key in done.not_found}
            failed = {key: done.failed[key] for key in rest if key in done.failed}
            requests = done.requests
            settled = papers.keys() | not_found | failed.keys()
            rest = [key for key in rest if key not in settled]
        if rest:
            result = make_source(self.settings, self.cache).fetch(rest, progress=progress)
            papers.update(result.papers)
            not_found |= result.not_found
            failed.update(result.failed)
            requests += result.requests
        self.fetched += len(papers)
        return FetchResult(papers, frozenset(not_found), failed, requests)
