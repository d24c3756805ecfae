"""Fetching paper metadata from arXiv's API, respectfully, through the ``arxiv`` package.

``arxiv`` 4.0.2 is used for what it does well (building queries, parsing Atom into ``Result``);
what it lacks is added around it: a request timeout, chunking into batches, spacing requests
across processes, backoff that honours ``Retry-After``, detection of truncated bodies it would
silently read as "no results", and isolation of the ids arXiv rejects (HTTP 400).
"""

from __future__ import annotations

import email.utils
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import arxiv
import requests
from lxml import etree

from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.arxiv.ids import InvalidArxivId, arxiv_categories, parse_arxiv_id
from vaultpapers.arxiv.papers import FetchResult, Paper, Resolution
from vaultpapers.markdown.titles import normal_words

__all__ = [
    "DEFAULT_API_URL",
    "ArxivSource",
    "FetchResult",
    "MalformedResponseError",
    "Resolution",
    "TitleSearch",
    "canonical_key",
    "paper_from_result",
]

logger = logging.getLogger("vaultpapers.arxiv")

DEFAULT_API_URL = "https://export.arxiv.org/api/query"

_ATOM_FEED = "{http://www.w3.org/2005/Atom}feed"
_ATOM_ENTRY_ID = "{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}id"
_REJECTED_ID_MARKER = "incorrect_id_format_for_"


class MalformedResponseError(Exception):
    """arXiv answered 200 with a body that is not a well-formed Atom feed."""


def canonical_key(arxiv_id: str) -> tuple[str, int | None]:
    """``('2103.03206', 2)`` for ``2103.03206v2``; old-style ids lose their subject class
    (``math.GT/0309136v1`` -> ``('math/0309136', 1)``). Ids arXiv itself returns are valid;
    anything else is passed through unchanged rather than guessed at."""
    try:
        parsed = parse_arxiv_id(arxiv_id)
    except InvalidArxivId:
        return arxiv_id, None
    return parsed.key, parsed.version


def _single_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _optional_line(text: str | None) -> str | None:
    return _single_line(text) or None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def paper_from_result(result: arxiv.Result) -> Paper:
    key, version = canonical_key(result.get_short_id())
    return Paper(
        arxiv_id=key,
        version=version if version is not None else 1,
        title=_single_line(result.title),
        authors=tuple(_single_line(author.name) for author in result.authors),
        # The legacy feed wraps abstracts at 80 columns; keep the abstract's own spacing otherwise.
        summary=re.sub(r"[ \t]*\n\s*", " ", result.summary.strip()),
        published=_utc(result.published),
        updated=_utc(result.updated),
        primary_category=result.primary_category,
        categories=arxiv_categories(result.categories),
        doi=_optional_line(result.doi),
        journal_ref=_optional_line(result.journal_ref),
        comment=_optional_line(result.comment),
    )


def _check_atom_feed(body: bytes) -> None:
    # arxiv 4.0.2 parses with recover=True: a truncated body becomes a shorter, valid-looking
    # feed, and the papers cut off would be reported as nonexistent.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise MalformedResponseError(f"not well-formed XML: {exc}") from exc
    if root is None or root.tag != _ATOM_FEED:
        raise MalformedResponseError("not an Atom feed")


def _rejected_ids(body: bytes) -> set[str]:
    """The ids an HTTP 400 error feed names as malformed (``incorrect_id_format_for_X``)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError:
        return set()
    if root is None:
        return set()
    rejected = set()
    for element in root.iterfind(_ATOM_ENTRY_ID):
        text = element.text or ""
        if _REJECTED_ID_MARKER in text:
            rejected.add(text.split(_REJECTED_ID_MARKER, 1)[1].strip())
    return rejected


def _retry_after_seconds(response: requests.Response | None) -> float | None:
    value = response.headers.get("Retry-After", "").strip() if response is not None else ""
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class _PoliteSession(requests.Session):
    """The session handed to ``arxiv.Client``: every HTTP request it makes, including pages the
    client requests on its own, is spaced, counted, bounded by a timeout and checked."""

    def __init__(self, *, timeout: float, before_request: Callable[[], None]) -> None:
        super().__init__()
        self.timeout = timeout
        self.before_request = before_request
        self.requests_sent = 0
        self.last_response: requests.Response | None = None

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        self.before_request()
        self.requests_sent += 1
        self.last_response = None
        logger.debug("GET %s", url)
        response = super().request(method, url, *args, **kwargs)
        self.last_response = response
        if response.status_code == 200:
            _check_atom_feed(response.content)
        return response


# Title search: at most this many titles per request, and this long a query (arXiv's
# server refuses very long URLs); up to this many papers asked for per title.
SEARCH_TITLES_PER_REQUEST = 8
SEARCH_QUERY_MAX_CHARS = 900
SEARCH_RESULTS_PER_TITLE = 10
SEARCH_MAX_RESULTS = 100
# What a title is looked up as: words of letters and digits, one space apart (no quote,
# bracket or operator arXiv's grammar would read).
_SEARCHABLE_PHRASE = re.compile(r"[^\W_]+(?: [^\W_]+)*")


def _answers(batch: list[str], papers: list[Paper]) -> dict[str, list[str]]:
    """Each phrase looked up -> the papers returned whose title is exactly those words."""
    by_words: dict[str, list[str]] = {}
    for paper in papers:
        by_words.setdefault(" ".join(normal_words(paper.title)), []).append(paper.arxiv_id)
    return {phrase: by_words.get(phrase, []) for phrase in batch}


def _title_batches(phrases: list[str]) -> list[list[str]]:
    batches: list[list[str]] = []
    length = 0
    for phrase in phrases:
        term = len(phrase) + 9  # ti:"..." and " OR "
        if (
            not batches
            or len(batches[-1]) >= SEARCH_TITLES_PER_REQUEST
            or length + term > SEARCH_QUERY_MAX_CHARS
        ):
            batches.append([])
            length = 0
        batches[-1].append(phrase)
        length += term
    return batches


@dataclass
class TitleSearch:
    """What looking titles up on arXiv came to."""

    papers: dict[str, Paper]  # every paper arXiv returned, by key
    answers: dict[str, list[str]]  # phrase -> keys of the papers with that title ([]: none)
    failed: dict[str, str]  # phrase -> why it could not be looked up this time
    requests: int


class _Rejected(Exception):
    """HTTP 400: arXiv refused an id in the batch."""

    def __init__(self, named_ids: set[str]) -> None:
        super().__init__(f"arXiv rejected ids {sorted(named_ids)}")
        self.named_ids = named_ids


class _GaveUp(Exception):
    def __init__(self, reason: str, *, stop_run: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.stop_run = stop_run


@dataclass
class _Outcome:
    papers: dict[str, Paper] = field(default_factory=dict)
    not_found: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)


class ArxivSource:
    """Fetches papers by key in batches, at most one request every ``delay`` seconds.

    One fetch runs at a time per instance (arXiv asks for one connection at a time); with a
    ``cache``, the request schedule is shared with every process using the same cache file.
    """

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        *,
        delay: float = 3.0,
        timeout: float = 30.0,
        batch_size: int = 100,
        max_retries: int = 4,
        max_backoff: float = 120.0,
        cache: PaperCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if max_retries < 0:
            raise ValueError("max_retries must not be negative")
        self.api_url = api_url
        self.delay = delay
        self.timeout = timeout
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.max_backoff = max_backoff
        self.cache = cache
        self._sleep = sleep
        self._last_slot: float | None = None
        self._fetch_lock = threading.Lock()
        self._session = _PoliteSession(timeout=timeout, before_request=self._wait_for_request_slot)
        # The client's own delay and retries are fixed-interval and blind to Retry-After;
        # both are done here instead.
        self._client = arxiv.Client(page_size=batch_size, delay_seconds=0, num_retries=0)
        self._client.query_url_format = api_url + "?{}"
        self._client._session.close()
        self._client._session = self._session

    def fetch(
        self, keys: Iterable[str], *, progress: Callable[[int, int], None] | None = None
    ) -> FetchResult:
        wanted = sorted(set(keys))
        batches = [
            wanted[start : start + self.batch_size]
            for start in range(0, len(wanted), self.batch_size)
        ]
        outcome = _Outcome()
        with self._fetch_lock:
            requests_before = self._session.requests_sent
            stop_reason: str | None = None
            done = 0
            for batch in batches:
                if stop_reason is None:
                    stop_reason = self._fetch_batch(batch, outcome)
                else:
                    outcome.failed.update(
                        dict.fromkeys(
                            batch, f"not requested: an earlier batch failed ({stop_reason})"
                        )
                    )
                done += len(batch)
                if progress is not None:
                    progress(done, len(wanted))
            made = self._session.requests_sent - requests_before
        logger.info(
            "arXiv: %d papers, %d not found, %d failed, %d requests",
            len(outcome.papers),
            len(outcome.not_found),
            len(outcome.failed),
            made,
        )
        return FetchResult(
            papers=outcome.papers,
            not_found=frozenset(outcome.not_found),
            failed=outcome.failed,
            requests=made,
        )

    def _fetch_batch(self, batch: list[str], outcome: _Outcome) -> str | None:
        """Fetch one batch into ``outcome``; returns why the whole run should stop, if it should."""
        todo = [batch]
        while todo:
            ids = todo.pop()
            try:
                found = self._request_papers(ids)
            except _Rejected as rejected:
                named = [key for key in ids if key in rejected.named_ids]
                if named:
                    logger.warning("arXiv rejected malformed ids: %s", ", ".join(named))
                    self._record_not_found(named, outcome)
                    rest = [key for key in ids if key not in rejected.named_ids]
                    if rest:
                        todo.append(rest)
                elif len(ids) == 1:
                    logger.warning("arXiv rejected the id %s", ids[0])
                    self._record_not_found(ids, outcome)
                else:
                    middle = len(ids) // 2
                    todo += [ids[middle:], ids[:middle]]
                continue
            except _GaveUp as gave_up:
                logger.warning("arXiv: giving up on %d ids: %s", len(ids), gave_up.reason)
                outcome.failed.update(dict.fromkeys(ids, gave_up.reason))
                if gave_up.stop_run:
                    for rest in todo:
                        outcome.failed.update(dict.fromkeys(rest, gave_up.reason))
                    return gave_up.reason
                continue
            self._record_papers(found, outcome)
            self._record_not_found([key for key in ids if key not in found], outcome)
        return None

    def _request_papers(self, ids: list[str]) -> dict[str, Paper]:
        """One id_list query with retries; raises ``_Rejected`` on HTTP 400, ``_GaveUp``."""
        search = arxiv.Search(id_list=list(ids), max_results=len(ids))
        results = self._request(self._client, search, len(ids), recheck_empty=len(ids) > 1)
        return self._index_by_requested_key(results, ids)

    def search_titles(self, phrases: Iterable[str]) -> TitleSearch:
        """Looks titles up on arXiv (`ti:"..."` terms joined by OR, several per request),
        with the pacing, backoff and timeout of every request. Each phrase is a title's
        words, lower case, one space apart. Answers, misses included, go to the cache."""
        wanted = sorted({p for p in phrases if _SEARCHABLE_PHRASE.fullmatch(p)})
        outcome = TitleSearch({}, {}, {}, 0)
        todo = _title_batches(wanted)
        with self._fetch_lock:
            requests_before = self._session.requests_sent
            stop_reason: str | None = None
            while todo:
                batch = todo.pop(0)
                if stop_reason is not None:
                    outcome.failed.update(dict.fromkeys(batch, stop_reason))
                    continue
                limit = min(SEARCH_MAX_RESULTS, SEARCH_RESULTS_PER_TITLE * len(batch))
                try:
                    results = self._search(batch, limit)
                except (_GaveUp, _Rejected) as exc:
                    reason = exc.reason if isinstance(exc, _GaveUp) else "arXiv refused the query"
                    logger.warning("arXiv: title search failed: %s", reason)
                    outcome.failed.update(dict.fromkeys(batch, reason))
                    if isinstance(exc, _GaveUp) and exc.stop_run:
                        stop_reason = reason
                    continue
                papers = [paper_from_result(result) for result in results]
                outcome.papers.update((paper.arxiv_id, paper) for paper in papers)
                answers = _answers(batch, papers)
                if len(results) >= limit and len(batch) > 1:
                    # A full page may have left a title's own paper out: those without an
                    # answer are asked again, each alone.
                    unanswered = [phrase for phrase, keys in answers.items() if not keys]
                    todo[:0] = [[phrase] for phrase in unanswered]
                    answers = {phrase: keys for phrase, keys in answers.items() if keys}
                if self.cache is not None:
                    self.cache.put_many(papers)
                    self.cache.put_title_searches(answers)
                outcome.answers.update(answers)
            outcome.requests = self._session.requests_sent - requests_before
        logger.info(
            "arXiv: %d titles looked up, %d found, %d failed, %d requests",
            len(outcome.answers),
            sum(1 for keys in outcome.answers.values() if keys),
            len(outcome.failed),
            outcome.requests,
        )
        return outcome

    def _search(self, batch: list[str], limit: int) -> list[arxiv.Result]:
        """One request of the titles in `batch` (through the paced session)."""
        query = " OR ".join(f'ti:"{phrase}"' for phrase in batch)
        client = arxiv.Client(page_size=limit, delay_seconds=0, num_retries=0)
        client.query_url_format = self.api_url + "?{}"
        client._session.close()
        client._session = self._session
        search = arxiv.Search(query=query, max_results=limit)
        return self._request(client, search, limit, recheck_empty=False)

    def _request(
        self, client: arxiv.Client, search: arxiv.Search, size: int, *, recheck_empty: bool
    ) -> list[arxiv.Result]:
        """One query with retries; raises ``_Rejected`` on HTTP 400, ``_GaveUp``."""
        attempt = 0
        rechecked_empty = False
        while True:
            retry_after: float | None = None
            stop_run = True
            try:
                results = list(client.results(search))
            except arxiv.HTTPError as exc:
                if exc.status == 400:
                    response = self._session.last_response
                    # Not `if response`: a Response is falsy when its status is an error.
                    body = response.content if response is not None else b""
                    raise _Rejected(_rejected_ids(body)) from exc
                if exc.status != 429 and exc.status < 500:
                    raise _GaveUp(f"arXiv answered HTTP {exc.status}", stop_run=True) from exc
                reason = f"arXiv answered HTTP {exc.status}"
                retry_after = _retry_after_seconds(self._session.last_response)
            except requests.Timeout:
                reason = f"no answer from arXiv within {self.timeout:g} s"
            except requests.RequestException as exc:
                reason = f"network error ({type(exc).__name__})"
            except MalformedResponseError as exc:
                reason = f"malformed response from arXiv ({exc})"
                # Probably something about this batch, not arXiv as a whole: carry on.
                stop_run = False
            except arxiv.UnexpectedEmptyPageError:
                reason = "arXiv sent an unexpectedly empty page"
                stop_run = False
            else:
                # arXiv occasionally answers a valid query with an empty page; only a repeat
                # answer makes a whole batch of ids "not found".
                if not results and recheck_empty and not rechecked_empty:
                    rechecked_empty = True
                    logger.info("arXiv found none of %d ids; asking once more", size)
                    continue
                return results

            attempts = attempt + 1
            if attempt >= self.max_retries:
                raise _GaveUp(f"{reason}, {attempts} attempts", stop_run=stop_run)
            if retry_after is not None and retry_after > self.max_backoff:
                # Retrying sooner than asked is what gets clients blocked; leave it to a later run.
                raise _GaveUp(
                    f"{reason} and asked to wait {retry_after:.0f} s"
                    f" (more than max_backoff, {self.max_backoff:g} s)",
                    stop_run=True,
                )
            wait = min(self.max_backoff, max(retry_after or 0.0, self.delay * 2**attempt, 1.0))
            logger.warning("%s; retrying in %.1f s", reason, wait)
            self._sleep(wait)
            attempt += 1

    def _index_by_requested_key(
        self, results: list[arxiv.Result], ids: list[str]
    ) -> dict[str, Paper]:
        # Entries come in no guaranteed order, so they are matched by id, never by position.
        keys_by_canonical: dict[str, list[str]] = {}
        for key in ids:
            keys_by_canonical.setdefault(canonical_key(key)[0], []).append(key)
        found: dict[str, Paper] = {}
        for result in results:
            paper = paper_from_result(result)
            keys = keys_by_canonical.get(paper.arxiv_id)
            if not keys:
                logger.warning("arXiv returned %s, which was not asked for", result.entry_id)
                continue
            for key in keys:
                previous = found.get(key)
                if previous is None or paper.version > previous.version:
                    found[key] = paper
        return found

    def _record_papers(self, found: dict[str, Paper], outcome: _Outcome) -> None:
        outcome.papers.update(found)
        if self.cache is not None and found:
            self.cache.put_many(found.values())

    def _record_not_found(self, keys: list[str], outcome: _Outcome) -> None:
        outcome.not_found.update(keys)
        if self.cache is not None and keys:
            self.cache.mark_not_found(keys)

    def _wait_for_request_slot(self) -> None:
        if self.cache is not None:
            wait = self.cache.reserve_request_slot(self.delay)
        else:
            now = time.monotonic()
            slot = now if self._last_slot is None else max(now, self._last_slot + self.delay)
            self._last_slot = slot
            wait = slot - now
        if wait > 0:
            logger.debug("waiting %.2f s for the next arXiv request slot", wait)
            self._sleep(wait)
