"""Fetching metadata in the background while the watcher runs.

The watcher's worker never waits for the network: it asks this fetcher for the papers it has
no metadata for, keeps planning with what the cache holds, and is woken when papers arrive.
A failed fetch is retried with backoff; while a paper's first fetch is under way no stub note
is created for it (it would only be renamed a second later). Between fetches it asks arXiv
again about the papers due (`refresh`), at start and then every `REFRESH_EVERY` seconds, within
the run budget `link` has; the worker learns what changed from `take_refreshed`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from vaultpapers.arxiv import refresh
from vaultpapers.config import Settings
from vaultpapers.run.sources import make_source, open_cache, refresh_source

if TYPE_CHECKING:
    from vaultpapers.arxiv.cache import PaperCache
    from vaultpapers.arxiv.client import ArxivSource, FetchResult

log = logging.getLogger("vaultpapers.watch")

REFRESH_EVERY = 3600.0  # seconds between two looks for papers due to be asked about again


class _Stopped(Exception):
    """Raised inside a fetch when the watcher stops, to abandon a backoff wait."""


@dataclass
class _Retry:
    attempts: int
    due: float
    reason: str
    at_wall: str


class MetadataFetcher:
    """Fetches uncached papers on its own thread; the worker never waits for the network."""

    def __init__(
        self,
        vault: Path,
        settings: Settings,
        stopping: threading.Event,
        on_change: Callable[[], None],
        backoff: tuple[float, float],
    ) -> None:
        self._vault = vault
        self._settings = settings
        self._stopping = stopping
        self._on_change = on_change
        self._backoff = backoff
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._queued: set[str] = set()  # asked for, first attempt not made yet
        self._fetching: set[str] = set()
        self._fetching_first: set[str] = set()
        self._retries: dict[str, _Retry] = {}
        self._refresh_at = time.monotonic()  # at start, then every REFRESH_EVERY
        self._refreshed: list[str] = []  # what changed upstream, not yet planned by the worker
        self.requests = 0
        self._thread = threading.Thread(target=self._loop, name="vaultpapers-fetch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def request(self, keys: Iterable[str]) -> None:
        with self._lock:
            new = set(keys) - self._queued - self._fetching - set(self._retries)
            if not new:
                return
            self._queued |= new
        log.info("fetching metadata for %d paper(s) from arXiv: %s", len(new), few(new))
        self._wake.set()

    def known(self) -> set[str]:
        with self._lock:
            return self._queued | self._fetching | set(self._retries)

    def deferred(self) -> frozenset[str]:
        """Papers on their first trip to arXiv: no stub note for them yet."""
        with self._lock:
            return frozenset(self._queued | self._fetching_first)

    def busy(self) -> bool:
        with self._lock:
            return bool(self._queued or self._fetching)

    def reasons(self) -> dict[str, str]:
        with self._lock:
            reasons = dict.fromkeys(self._queued | self._fetching, "fetching metadata from arXiv")
            for key, retry in self._retries.items():
                if key not in self._fetching:
                    reasons[key] = f"{retry.reason}; retrying at {retry.at_wall}"
        return reasons

    def outage(self) -> str | None:
        """Why arXiv cannot be reached, while papers wait to be asked again (None: it can)."""
        with self._lock:
            waiting = [retry for retry in self._retries.values() if retry.attempts]
            if not waiting:
                return None
            latest = max(waiting, key=lambda retry: retry.due)
            return f"arXiv cannot be reached ({latest.reason}); retrying at {latest.at_wall}"

    def refreshed(self) -> list[str]:
        """What changed in the papers asked about again, since `take_refreshed` last took it."""
        with self._lock:
            return list(self._refreshed)

    def take_refreshed(self, count: int) -> None:
        """The worker planned the first `count` changes: forget them."""
        with self._lock:
            del self._refreshed[:count]

    def _sleep(self, seconds: float) -> None:
        if self._stopping.wait(seconds):
            raise _Stopped

    def _next_batch(self) -> list[str] | None:
        while not self._stopping.is_set():
            with self._lock:
                now = time.monotonic()
                due = {key for key, retry in self._retries.items() if retry.due <= now}
                batch = self._queued | due
                if batch:
                    self._fetching_first = set(self._queued)
                    self._fetching = batch
                    self._queued = set()
                    return sorted(batch)
                if now >= self._refresh_at:
                    self._refresh_at = now + REFRESH_EVERY
                    return []  # no paper waits: time to look for papers due again
                wait = min((r.due for r in self._retries.values()), default=now + 60) - now
                wait = min(wait, self._refresh_at - now)
            self._wake.wait(max(0.0, min(wait, 60.0)))
            self._wake.clear()
        return None

    def _loop(self) -> None:
        try:
            cache = open_cache(self._vault)
        except Exception as exc:
            log.error("cannot fetch metadata: %s", exc)
            return
        source = make_source(self._settings, cache, sleep=self._sleep)
        asking_again = refresh_source(self._settings, cache, sleep=self._sleep)
        with cache:
            while (batch := self._next_batch()) is not None:
                if not batch:
                    try:
                        self._refresh(cache, asking_again)
                    except _Stopped:
                        return
                    except Exception:
                        log.exception("asking arXiv again about papers due failed")
                    continue
                try:
                    result = source.fetch(batch, progress=self._batch_done)
                except _Stopped:
                    return
                except Exception as exc:
                    log.exception("fetching metadata failed")
                    from vaultpapers.arxiv.client import FetchResult

                    result = FetchResult({}, frozenset(), dict.fromkeys(batch, str(exc)), 0)
                self._record(batch, result)

    def _refresh(self, cache: PaperCache, source: ArxivSource) -> None:
        """Asks arXiv again about the papers due, as a `link` run would."""
        policy = self._settings.refresh
        if not policy.max_requests:
            return
        fetched = cache.fetched_times(None)
        papers = cache.get_many(fetched)
        limit = policy.max_requests * self._settings.arxiv.batch_size
        wanted = refresh.due(papers, fetched, time.time(), policy)[:limit]
        if not wanted:
            return
        result = source.fetch(wanted)
        if result.failed:
            failed = sorted(result.failed)
            cache.set_fetched_times(refresh.postponed(papers, failed, time.time(), policy))
        changes = [
            refresh.describe(papers[key], paper)
            for key, paper in sorted(result.papers.items())
            if paper != papers.get(key, paper)
        ]
        log.info(
            "asked arXiv again about %d paper(s): %s",
            len(result.papers),
            "; ".join(changes) if changes else "none changed",
        )
        with self._lock:
            self.requests += result.requests
            self._refreshed += changes
            if changes:
                self._on_change()

    def _batch_done(self, done: int, total: int) -> None:
        # Each batch is cached as it arrives: a long fetch lets the worker use it at once.
        if done < total:
            self._on_change()

    def _record(self, batch: list[str], result: FetchResult) -> None:
        with self._lock:
            self.requests += result.requests
            now = time.monotonic()
            for key in batch:
                if key not in result.failed:
                    self._retries.pop(key, None)
                    continue
                attempts = self._retries[key].attempts + 1 if key in self._retries else 1
                first, longest = self._backoff
                wait = min(longest, first * 2 ** (attempts - 1))
                at_wall = datetime.fromtimestamp(time.time() + wait).strftime("%H:%M:%S")
                self._retries[key] = _Retry(attempts, now + wait, result.failed[key], at_wall)
            self._fetching = set()
            self._fetching_first = set()
            # Still under the lock: whoever sees this fetcher idle also sees the news.
            self._on_change()
        if result.failed:
            log.warning(
                "could not fetch %d paper(s) (%s); their notes are made as pending and "
                "completed when arXiv answers",
                len(result.failed),
                next(iter(result.failed.values())),
            )


def few(keys: Iterable[str], limit: int = 5) -> str:
    ordered = sorted(keys)
    shown = ", ".join(ordered[:limit])
    return shown + (f" and {len(ordered) - limit} more" if len(ordered) > limit else "")
