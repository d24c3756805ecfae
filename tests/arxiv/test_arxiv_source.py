"""Fetching metadata with the real ``arxiv`` client against the loopback arXiv API."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path

import arxiv
import arxiv._feed
import pytest

from factories import feed_paper
from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.arxiv.client import (
    ArxivSource,
    FetchResult,
    canonical_key,
    paper_from_result,
)
from vaultpapers.arxiv.papers import Paper
from vaultpapers.arxiv.resolve import resolve
from vaultpapers.testing import FakeArxiv

RECORDED = Path(os.environ.get("VAULTPAPERS_RECORDED_API", "/work/shared/arxiv-api-recorded"))
needs_recordings = pytest.mark.skipif(
    not RECORDED.is_dir(), reason=f"recorded arXiv responses not found at {RECORDED}"
)

# Loopback requests can reach the server a few milliseconds apart from when they were sent.
ARRIVAL_JITTER = 0.02


class VirtualTime:
    """A wall clock that only moves when someone sleeps; records every wait."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds, 6))
        self.now += seconds


def serve(api: FakeArxiv, count: int, prefix: str = "2101") -> list[Paper]:
    papers = [feed_paper(f"{prefix}.{n:05d}", version=1 + n % 3) for n in range(1, count + 1)]
    for paper in papers:
        api.add(paper)
    return papers


@pytest.fixture
def virtual_time() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def cache(tmp_path: Path, virtual_time: VirtualTime) -> PaperCache:
    with PaperCache(tmp_path / ".vaultpapers" / "cache.sqlite", clock=virtual_time.clock) as cache:
        yield cache  # type: ignore[misc]


def patient_source(
    api: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache, **options: object
) -> ArxivSource:
    """arXiv's real pacing (3 s, backoff), with the waiting done on a virtual clock."""
    settings: dict[str, object] = {"delay": 3.0, "timeout": 5.0, "cache": cache}
    settings.update(options)
    return ArxivSource(api.url, sleep=virtual_time.sleep, **settings)  # type: ignore[arg-type]


# -- turning arXiv entries into papers -----------------------------------------------------


@needs_recordings
def test_every_recorded_entry_becomes_the_same_paper_when_served(fake_arxiv: FakeArxiv) -> None:
    expected: dict[str, Paper] = {}
    for path in sorted(RECORDED.glob("*.xml")):
        body = path.read_bytes()
        for result in arxiv._feed.parse(body).results:
            paper = paper_from_result(result)
            expected[paper.arxiv_id] = paper
        for entry in re.findall(r"<entry>.*?</entry>", body.decode("utf-8"), re.S):
            if "api/errors" not in entry:
                match = re.search(r"<id>https?://arxiv\.org/abs/(.+?)</id>", entry)
                assert match is not None
                fake_arxiv.add_entry_xml(canonical_key(match[1])[0], entry)

    result = ArxivSource(fake_arxiv.url, delay=0).fetch(expected)

    assert sorted(expected) == [
        "1111.2011",
        "1605.08386",
        "1707.08567",
        "2104.12255",
        "astro-ph/0601001",
        "quant-ph/0201082",
    ]
    assert result.papers == expected
    assert result.not_found == frozenset()
    assert result.failed == {}


@needs_recordings
def test_recorded_entries_give_clean_fields(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    for path in RECORDED.glob("*.xml"):
        text = path.read_text(encoding="utf-8")
        for n, entry in enumerate(re.findall(r"<entry>.*?</entry>", text, re.S)):
            if "api/errors" not in entry:
                (tmp_path / f"{path.stem}-{n}.xml").write_text(entry, encoding="utf-8")
    fake_arxiv.load_entries(tmp_path)

    papers = (
        ArxivSource(fake_arxiv.url, delay=0)
        .fetch(["1111.2011", "astro-ph/0601001", "2104.12255", "1707.08567"])
        .papers
    )

    legacy = papers["1111.2011"]
    assert legacy.version == 2
    assert legacy.title == (
        "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    )
    assert legacy.summary.startswith("Theoretical description of anisotropic systems, such as")
    assert "\n" not in legacy.summary
    assert "layered superconductors" in legacy.summary
    assert legacy.doi == "10.1103/PhysRevB.85.115117"
    assert legacy.journal_ref == "Phys. Rev. B 85, 115117 (2012)"
    assert legacy.comment == "8 pages, 3 figures. Published version"
    assert legacy.primary_category == "cond-mat.str-el"
    assert legacy.categories == ("cond-mat.str-el", "cond-mat.stat-mech")
    assert legacy.authors == ("James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic")
    assert legacy.published == datetime(2011, 11, 8, 18, 48, 36, tzinfo=timezone.utc)
    assert legacy.updated.utcoffset() == timedelta(0)

    old_style = papers["astro-ph/0601001"]
    assert old_style.arxiv_id == "astro-ph/0601001"
    assert old_style.summary.startswith("We derive the frequencies of hot Jupiters")
    assert "V_max<17.5" in old_style.summary
    assert old_style.journal_ref == "ActaAstron.56:1-50,2006"
    assert old_style.doi is None
    assert len(old_style.authors) == 4

    minimal = papers["2104.12255"]
    assert minimal.title == "0"
    assert (minimal.comment, minimal.journal_ref, minimal.doi) == (None, None, None)

    assert len(papers["1707.08567"].authors) == 34


def test_papers_survive_the_round_trip_through_arxiv_xml(fake_arxiv: FakeArxiv) -> None:
    papers = [
        feed_paper(
            "2101.00001",
            version=4,
            title="Attention & <Memory>: \"quotes\" and 'apostrophes' in Ünïcödé",
            authors=("Zoë Ångström", "李小龍", "O'Neil & Partners"),
            summary="A summary with a < b and c > d & e.",
            categories=("cs.CL", "cs.AI"),
            primary_category="cs.CL",
            doi="10.1000/xyz&1",
            journal_ref="Proc. A&B 2021",
            comment="12 pages; <code> released",
        ),
        feed_paper("hep-th/9711200", version=3, primary_category="hep-th", categories=("hep-th",)),
    ]
    for paper in papers:
        fake_arxiv.add(paper)

    result = ArxivSource(fake_arxiv.url, delay=0).fetch(p.arxiv_id for p in papers)

    assert result.papers == {paper.arxiv_id: paper for paper in papers}


def test_canonical_key_separates_version_and_drops_subject_class() -> None:
    assert canonical_key("2103.03206v2") == ("2103.03206", 2)
    assert canonical_key("2103.03206") == ("2103.03206", None)
    assert canonical_key("quant-ph/0201082v1") == ("quant-ph/0201082", 1)
    assert canonical_key("math.GT/0309136v12") == ("math/0309136", 12)
    assert canonical_key("solv-int/9901001") == ("solv-int/9901001", None)


# -- batching, pacing, order ---------------------------------------------------------------


def test_many_ids_are_fetched_in_batches(fake_arxiv: FakeArxiv) -> None:
    papers = serve(fake_arxiv, 250)
    progress: list[tuple[int, int]] = []

    result = ArxivSource(fake_arxiv.url, delay=0, batch_size=100).fetch(
        [p.arxiv_id for p in papers] * 2,
        progress=lambda done, total: progress.append((done, total)),
    )

    assert result.papers == {paper.arxiv_id: paper for paper in papers}
    assert result.requests == 3
    assert len(fake_arxiv.requests) == 3
    assert all(len(request.id_list) <= 100 for request in fake_arxiv.requests)
    assert progress == [(100, 250), (200, 250), (250, 250)]


def test_requests_start_at_least_delay_apart(fake_arxiv: FakeArxiv) -> None:
    papers = serve(fake_arxiv, 8)

    result = ArxivSource(fake_arxiv.url, delay=0.2, batch_size=2).fetch(p.arxiv_id for p in papers)

    assert len(result.papers) == 8
    times = [request.time for request in fake_arxiv.requests]
    assert len(times) == 4
    assert min(b - a for a, b in pairwise(times)) >= 0.2 - ARRIVAL_JITTER


def test_sources_sharing_a_cache_file_share_the_request_pace(
    fake_arxiv: FakeArxiv, tmp_path: Path
) -> None:
    papers = serve(fake_arxiv, 4)
    keys = [paper.arxiv_id for paper in papers]
    results: list[FetchResult] = []
    errors: list[BaseException] = []

    def fetch_half(half: list[str]) -> None:
        try:
            with PaperCache(tmp_path / "cache.sqlite") as own_cache:
                source = ArxivSource(fake_arxiv.url, delay=0.2, batch_size=1, cache=own_cache)
                results.append(source.fetch(half))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=fetch_half, args=(keys[i::2],)) for i in (0, 1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)

    assert errors == []
    assert sum(len(result.papers) for result in results) == 4
    times = sorted(request.time for request in fake_arxiv.requests)
    assert len(times) == 4
    assert min(b - a for a, b in pairwise(times)) >= 0.2 - ARRIVAL_JITTER


def test_entries_are_matched_by_id_not_by_position(fake_arxiv: FakeArxiv) -> None:
    papers = serve(fake_arxiv, 30)

    result = ArxivSource(fake_arxiv.url, delay=0).fetch(p.arxiv_id for p in papers)

    assert all(result.papers[key].title == f"On {key}" for key in result.papers)
    assert len(result.papers) == 30


def test_old_style_and_versioned_entries_are_keyed_canonically(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.add(feed_paper("hep-th/9711200", version=3))
    fake_arxiv.add(feed_paper("2101.00007", version=2))
    # arXiv may answer an old-style id with its subject class in the entry id.
    subject_class_entry = (
        "<entry>\n"
        "    <id>http://arxiv.org/abs/math.GT/0309136v1</id>\n"
        "    <title>Knots</title>\n"
        "    <updated>2003-09-08T00:00:00Z</updated>\n"
        "    <summary>About knots.</summary>\n"
        "    <published>2003-09-08T00:00:00Z</published>\n"
        '    <arxiv:primary_category term="math.GT"/>\n'
        "    <author><name>W. Thurston</name></author>\n"
        "  </entry>"
    )
    fake_arxiv.add_entry_xml("math/0309136", subject_class_entry)

    result = ArxivSource(fake_arxiv.url, delay=0).fetch(
        ["hep-th/9711200", "2101.00007", "math/0309136"]
    )

    assert {key: (p.arxiv_id, p.version) for key, p in result.papers.items()} == {
        "hep-th/9711200": ("hep-th/9711200", 3),
        "2101.00007": ("2101.00007", 2),
        "math/0309136": ("math/0309136", 1),
    }


def test_no_keys_means_no_request(fake_arxiv: FakeArxiv) -> None:
    result = ArxivSource(fake_arxiv.url, delay=0).fetch([])

    assert result == FetchResult(papers={}, not_found=frozenset(), failed={}, requests=0)
    assert fake_arxiv.requests == []


# -- what arXiv says does not exist --------------------------------------------------------


def test_unknown_ids_are_not_found(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    serve(fake_arxiv, 2)

    result = patient_source(fake_arxiv, virtual_time, cache).fetch(
        ["2101.00001", "2101.00002", "2912.99999"]
    )

    assert set(result.papers) == {"2101.00001", "2101.00002"}
    assert result.not_found == {"2912.99999"}
    assert cache.not_found(["2912.99999"], max_age=timedelta(days=7)) == {"2912.99999"}


def test_a_rejected_id_is_isolated_and_the_rest_fetched(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 5)
    keys = [p.arxiv_id for p in papers]

    result = patient_source(fake_arxiv, virtual_time, cache).fetch([*keys, "abc", "2006.162360"])

    assert result.papers == {paper.arxiv_id: paper for paper in papers}
    assert result.not_found == {"abc", "2006.162360"}
    assert result.failed == {}
    # arXiv names the id it rejects, so each costs one request rather than a bisection.
    assert result.requests == 3


def test_http_400_without_a_named_id_is_bisected(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 4)
    # Bodies that name no id: the whole batch, then its first half, then one id are refused.
    fake_arxiv.fail_next(400, times=3)

    result = patient_source(fake_arxiv, virtual_time, cache).fetch(p.arxiv_id for p in papers)

    first_half = fake_arxiv.requests[1].id_list
    assert [len(request.id_list) for request in fake_arxiv.requests] == [4, 2, 1, 1, 2]
    assert result.not_found == {first_half[0]}
    assert set(result.papers) == {p.arxiv_id for p in papers} - {first_half[0]}


# -- failures stay pending, never "not found" ----------------------------------------------


def test_rate_limited_request_waits_as_told_then_succeeds(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 3)
    fake_arxiv.fail_next(429, retry_after=7)

    result = patient_source(fake_arxiv, virtual_time, cache).fetch(p.arxiv_id for p in papers)

    assert virtual_time.waits == [7.0]
    assert len(result.papers) == 3
    assert result.requests == 2


def test_backoff_doubles_from_delay_up_to_max_backoff(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 3)
    fake_arxiv.fail_next(503, times=4)

    result = patient_source(fake_arxiv, virtual_time, cache, max_backoff=20).fetch(
        p.arxiv_id for p in papers
    )

    assert virtual_time.waits == [3.0, 6.0, 12.0, 20.0]
    assert len(result.papers) == 3


def test_a_retry_after_beyond_max_backoff_is_not_cut_short(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 3)
    fake_arxiv.fail_next(429, retry_after=3600)

    result = patient_source(fake_arxiv, virtual_time, cache).fetch(p.arxiv_id for p in papers)

    assert virtual_time.waits == []
    assert result.requests == 1
    assert set(result.failed) == {p.arxiv_id for p in papers}
    assert "3600" in result.failed["2101.00001"]


def test_a_persistent_outage_fails_the_run_without_hammering(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 250)
    fake_arxiv.fail_next(503, times=100)

    result = patient_source(fake_arxiv, virtual_time, cache, max_retries=2).fetch(
        p.arxiv_id for p in papers
    )

    assert result.papers == {}
    assert result.not_found == frozenset()
    assert set(result.failed) == {p.arxiv_id for p in papers}
    assert "HTTP 503" in result.failed["2101.00001"]
    assert "earlier batch failed" in result.failed["2101.00250"]
    assert result.requests == 3
    assert len(fake_arxiv.requests) == 3
    assert cache.not_found([p.arxiv_id for p in papers], max_age=timedelta(days=7)) == set()


def test_a_stalled_server_times_out_and_is_retried(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 2)
    fake_arxiv.stall_next(30)

    started = time.monotonic()
    result = patient_source(fake_arxiv, virtual_time, cache, timeout=0.5).fetch(
        p.arxiv_id for p in papers
    )

    assert len(result.papers) == 2
    assert result.requests == 2
    assert time.monotonic() - started < 3


def test_a_server_that_keeps_stalling_fails_in_bounded_time(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 2)
    fake_arxiv.stall_next(30, times=10)

    started = time.monotonic()
    result = patient_source(fake_arxiv, virtual_time, cache, timeout=0.5, max_retries=1).fetch(
        p.arxiv_id for p in papers
    )

    assert time.monotonic() - started < 4
    assert set(result.failed) == {p.arxiv_id for p in papers}
    assert "within 0.5 s" in result.failed["2101.00001"]
    assert result.not_found == frozenset()


def test_a_dropped_connection_is_retried(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 2)
    fake_arxiv.drop_connection_next()

    result = patient_source(fake_arxiv, virtual_time, cache).fetch(p.arxiv_id for p in papers)

    assert len(result.papers) == 2
    assert virtual_time.waits == [3.0]


def test_nothing_listening_fails_without_raising(
    virtual_time: VirtualTime, cache: PaperCache
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    source = ArxivSource(
        f"http://127.0.0.1:{closed_port}/api/query",
        delay=3.0,
        max_retries=1,
        cache=cache,
        sleep=virtual_time.sleep,
    )

    result = source.fetch(["2101.00001", "2101.00002"])

    assert set(result.failed) == {"2101.00001", "2101.00002"}
    assert "network error" in result.failed["2101.00001"]
    assert result.requests == 2


def test_a_truncated_body_is_a_failure_not_a_missing_paper(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 20)
    keys = [p.arxiv_id for p in papers]
    fake_arxiv.malformed_next(times=3)

    result = patient_source(fake_arxiv, virtual_time, cache, max_retries=2).fetch(keys)

    assert result.not_found == frozenset()
    assert set(result.failed) == set(keys)
    assert "malformed" in result.failed[keys[0]]
    assert cache.not_found(keys, max_age=timedelta(days=7)) == set()


def test_a_truncated_body_is_retried(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 20)
    fake_arxiv.malformed_next()

    result = patient_source(fake_arxiv, virtual_time, cache).fetch(p.arxiv_id for p in papers)

    assert len(result.papers) == 20
    assert result.requests == 2


def test_a_malformed_batch_does_not_stop_the_next_one(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 4)
    fake_arxiv.malformed_next(times=2)

    result = patient_source(fake_arxiv, virtual_time, cache, batch_size=2, max_retries=1).fetch(
        p.arxiv_id for p in papers
    )

    assert set(result.failed) == {"2101.00001", "2101.00002"}
    assert set(result.papers) == {"2101.00003", "2101.00004"}


def test_a_spuriously_empty_answer_for_several_ids_is_asked_again(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 3)
    fake_arxiv.empty_next()

    result = patient_source(fake_arxiv, virtual_time, cache).fetch(p.arxiv_id for p in papers)

    assert len(result.papers) == 3
    assert result.not_found == frozenset()
    assert result.requests == 2


def test_an_empty_answer_for_one_id_is_arxivs_way_of_saying_not_found(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    serve(fake_arxiv, 1)
    fake_arxiv.empty_next()

    result = patient_source(fake_arxiv, virtual_time, cache).fetch(["2101.00001"])

    # Indistinguishable from a real "no such paper"; resolve() re-asks after NOT_FOUND_MAX_AGE.
    assert result.not_found == {"2101.00001"}
    assert result.requests == 1


# -- the cache ------------------------------------------------------------------------------


def test_papers_are_cached_as_each_batch_arrives(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 4)
    keys = [p.arxiv_id for p in papers]

    def crash_after_first_batch(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        patient_source(fake_arxiv, virtual_time, cache, batch_size=2).fetch(
            keys, progress=crash_after_first_batch
        )

    assert set(cache.get_many(keys)) == {"2101.00001", "2101.00002"}


def test_resolve_fetches_only_what_the_cache_lacks(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 3)
    keys = [p.arxiv_id for p in papers] + ["2912.99999"]
    source = patient_source(fake_arxiv, virtual_time, cache)

    first = resolve(keys, cache, source)
    second = resolve(keys, cache, source)

    assert first.papers == {paper.arxiv_id: paper for paper in papers}
    assert first.not_found == {"2912.99999"}
    assert (second.papers, second.not_found, second.pending) == (first.papers, first.not_found, {})
    assert (first.requests, second.requests) == (1, 0)
    assert len(fake_arxiv.requests) == 1


def test_resolve_asks_again_about_old_not_found_answers(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    source = patient_source(fake_arxiv, virtual_time, cache)
    assert resolve(["2912.00001"], cache, source).not_found == {"2912.00001"}

    virtual_time.now += timedelta(days=6).total_seconds()
    resolve(["2912.00001"], cache, source)
    assert len(fake_arxiv.requests) == 1

    fake_arxiv.add(feed_paper("2912.00001"))
    virtual_time.now += timedelta(days=2).total_seconds()
    later = resolve(["2912.00001"], cache, source)

    assert set(later.papers) == {"2912.00001"}
    assert later.not_found == frozenset()
    assert len(fake_arxiv.requests) == 2


def test_resolve_offline_leaves_uncached_keys_pending(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 2)
    resolve([papers[0].arxiv_id], cache, patient_source(fake_arxiv, virtual_time, cache))

    offline = resolve([p.arxiv_id for p in papers], cache, None)

    assert offline.papers == {papers[0].arxiv_id: papers[0]}
    assert offline.pending == {papers[1].arxiv_id: "offline"}
    assert len(fake_arxiv.requests) == 1


def test_resolve_stores_what_a_cacheless_source_fetched(
    fake_arxiv: FakeArxiv, cache: PaperCache
) -> None:
    papers = serve(fake_arxiv, 2)

    resolve(
        [p.arxiv_id for p in papers] + ["2912.99999"], cache, ArxivSource(fake_arxiv.url, delay=0)
    )

    assert cache.get_many(p.arxiv_id for p in papers) == {p.arxiv_id: p for p in papers}
    assert cache.not_found(["2912.99999"], max_age=timedelta(days=1)) == {"2912.99999"}


def test_failures_are_pending_in_the_resolution(
    fake_arxiv: FakeArxiv, virtual_time: VirtualTime, cache: PaperCache
) -> None:
    serve(fake_arxiv, 1)
    fake_arxiv.fail_next(503, times=10)

    resolution = resolve(
        ["2101.00001"], cache, patient_source(fake_arxiv, virtual_time, cache, max_retries=1)
    )

    assert resolution.papers == {}
    assert resolution.not_found == frozenset()
    assert "HTTP 503" in resolution.pending["2101.00001"]
