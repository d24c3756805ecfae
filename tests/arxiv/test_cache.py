"""The SQLite paper cache: what it keeps, for how long, and how processes share it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest

import vaultpapers
from factories import feed_paper
from vaultpapers.arxiv.cache import SCHEMA_VERSION, CacheError, DecodedPapers, PaperCache

SRC = Path(vaultpapers.__file__).resolve().parent.parent


class VirtualClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "vault" / ".vaultpapers" / "cache.sqlite"


def run_together(script: str, *argument_lists: list[str]) -> list[str]:
    """Run one Python process per argument list, all at once; returns their outputs."""
    environment = {**os.environ, "PYTHONPATH": str(SRC)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for arguments in argument_lists
    ]
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        outputs.append(stdout)
    return outputs


# -- papers --------------------------------------------------------------------------------


def test_papers_come_back_exactly_as_stored(cache_path: Path) -> None:
    papers = [
        feed_paper(
            "2101.00001",
            version=3,
            authors=("Ada Lovelace", "李小龍"),
            doi="10.1/x",
            journal_ref="J. 1",
            comment="5 pages",
        ),
        feed_paper("hep-th/9711200"),
    ]
    with PaperCache(cache_path) as cache:
        cache.put_many(papers)

    with PaperCache(cache_path) as reopened:
        found = reopened.get_many(["2101.00001", "hep-th/9711200", "2101.99999"])

    assert found == {paper.arxiv_id: paper for paper in papers}
    assert found["2101.00001"].published.tzinfo is not None


def test_metadata_never_expires(cache_path: Path, clock: VirtualClock) -> None:
    with PaperCache(cache_path, clock=clock) as cache:
        cache.put_many([feed_paper("2101.00001")])
        clock.now += timedelta(days=3650).total_seconds()

        assert set(cache.get_many(["2101.00001"])) == {"2101.00001"}


def test_a_newer_version_replaces_an_older_one_but_not_the_reverse(cache_path: Path) -> None:
    with PaperCache(cache_path) as cache:
        cache.put_many([feed_paper("2101.00001", version=2, title="Second")])
        cache.put_many([feed_paper("2101.00001", version=1, title="First")])
        after_older = cache.get_many(["2101.00001"])["2101.00001"]
        cache.put_many([feed_paper("2101.00001", version=3, title="Third")])
        after_newer = cache.get_many(["2101.00001"])["2101.00001"]

    assert (after_older.version, after_older.title) == (2, "Second")
    assert (after_newer.version, after_newer.title) == (3, "Third")


def test_many_keys_at_once(cache_path: Path) -> None:
    papers = [feed_paper(f"2101.{n:05d}") for n in range(1, 1501)]
    with PaperCache(cache_path) as cache:
        cache.put_many(papers)
        found = cache.get_many(paper.arxiv_id for paper in papers)

    assert len(found) == 1500


def test_papers_decoded_before_are_reused_until_their_record_is_rewritten(
    cache_path: Path, clock: VirtualClock
) -> None:
    known = DecodedPapers()
    keys = ["2101.00001", "2101.00002", "2101.00003"]
    with PaperCache(cache_path, clock=clock) as cache:
        cache.put_many([feed_paper(key) for key in keys[:2]])
        first = cache.get_many(keys, known=known)
        clock.now += 60
        cache.put_many([feed_paper("2101.00002", version=2, title="Revised")])
        cache.put_many([feed_paper("2101.00003")])  # another process fetched it meanwhile
        second = cache.get_many(keys, known=known)
        plain = cache.get_many(keys)

    assert second["2101.00001"] is first["2101.00001"]  # unchanged: not decoded again
    assert second == plain  # the same papers as a caller that keeps nothing
    assert (second["2101.00002"].version, second["2101.00002"].title) == (2, "Revised")
    assert set(known) == set(keys)


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE papers SET record = replace(record, 'Original', 'Changed'), fetched_at = 7",
        "DELETE FROM papers WHERE arxiv_id = '2101.00001'",
    ],
)
def test_a_record_changed_by_any_other_writer_is_seen_by_a_caller_that_kept_it(
    cache_path: Path, change: str
) -> None:
    known = DecodedPapers()
    with PaperCache(cache_path) as cache:
        cache.put_many([feed_paper("2101.00001", title="Original")])
        cache.get_many(["2101.00001"], known=known)
        with sqlite3.connect(cache_path) as db:  # another program, or an older vaultpapers
            db.execute(change)
        again = cache.get_many(["2101.00001"], known=known)
        plain = cache.get_many(["2101.00001"])

    assert again == plain
    assert "Original" not in repr(again)
    assert set(known) == set(plain)


def test_a_cache_made_before_writes_were_counted_counts_them_once_opened(
    cache_path: Path,
) -> None:
    with PaperCache(cache_path) as cache:
        cache.put_many([feed_paper("2101.00001", title="Original")])
    with sqlite3.connect(cache_path) as db:
        for event in ("insert", "update", "delete"):
            db.execute(f"DROP TRIGGER count_papers_{event}")
        db.execute("DELETE FROM meta WHERE name = 'papers_written'")

    known = DecodedPapers()
    with PaperCache(cache_path) as cache:
        cache.get_many(["2101.00001"], known=known)
        with sqlite3.connect(cache_path) as db:
            db.execute(
                "UPDATE papers SET record = replace(record, 'Original', 'Changed'), "
                "fetched_at = fetched_at + 1"
            )
        again = cache.get_many(["2101.00001"], known=known)

    assert again["2101.00001"].title == "Changed"


def test_an_unreadable_record_counts_as_missing(cache_path: Path) -> None:
    with PaperCache(cache_path) as cache:
        cache.put_many([feed_paper("2101.00001"), feed_paper("2101.00002")])
    with sqlite3.connect(cache_path) as db:
        db.execute("UPDATE papers SET record = '{broken' WHERE arxiv_id = '2101.00001'")

    with PaperCache(cache_path) as cache:
        assert set(cache.get_many(["2101.00001", "2101.00002"])) == {"2101.00002"}


def test_a_record_with_a_field_missing_or_unknown_counts_as_missing(cache_path: Path) -> None:
    with PaperCache(cache_path) as cache:
        cache.put_many([feed_paper(f"2101.0000{n}") for n in (1, 2, 3)])
    with sqlite3.connect(cache_path) as db:
        db.execute(
            "UPDATE papers SET record = json_remove(record, '$.title') WHERE arxiv_id = ?",
            ("2101.00001",),
        )
        db.execute(
            "UPDATE papers SET record = json_set(record, '$.votes', 3) WHERE arxiv_id = ?",
            ("2101.00002",),
        )

    with PaperCache(cache_path) as cache:
        found = cache.get_many(["2101.00001", "2101.00002", "2101.00003"])
    assert set(found) == {"2101.00003"}
    assert found["2101.00003"] == feed_paper("2101.00003")
    assert hash(found["2101.00003"]) == hash(feed_paper("2101.00003"))


# -- ids arXiv does not know ---------------------------------------------------------------


def test_not_found_answers_are_trusted_until_max_age(cache_path: Path, clock: VirtualClock) -> None:
    week = timedelta(days=7)
    with PaperCache(cache_path, clock=clock) as cache:
        cache.mark_not_found(["2912.00001", "2912.00002"])
        clock.now += timedelta(days=6).total_seconds()
        cache.mark_not_found(["2912.00002"])
        six_days_later = cache.not_found(["2912.00001", "2912.00002", "2101.00001"], max_age=week)
        clock.now += timedelta(days=2).total_seconds()
        eight_days_later = cache.not_found(["2912.00001", "2912.00002"], max_age=week)

    assert six_days_later == {"2912.00001", "2912.00002"}
    assert eight_days_later == {"2912.00002"}


def test_a_paper_that_appears_is_no_longer_not_found(cache_path: Path) -> None:
    with PaperCache(cache_path) as cache:
        cache.mark_not_found(["2912.00001"])
        cache.put_many([feed_paper("2912.00001")])

        assert cache.not_found(["2912.00001"], max_age=timedelta(days=7)) == set()


# -- the request schedule ------------------------------------------------------------------


def test_request_slots_are_spaced_across_instances_sharing_the_file(
    cache_path: Path, clock: VirtualClock
) -> None:
    with PaperCache(cache_path, clock=clock) as link, PaperCache(cache_path, clock=clock) as watch:
        waits = [
            link.reserve_request_slot(3.0),
            watch.reserve_request_slot(3.0),
            link.reserve_request_slot(3.0),
        ]
        clock.now += 100
        after_a_pause = watch.reserve_request_slot(3.0)

    assert waits == [0.0, 3.0, 6.0]
    assert after_a_pause == 0.0


def test_a_clock_that_steps_back_does_not_stall_requests(
    cache_path: Path, clock: VirtualClock
) -> None:
    with PaperCache(cache_path, clock=clock) as cache:
        cache.reserve_request_slot(3.0)
        clock.now -= 3600

        assert cache.reserve_request_slot(3.0) == 0.0


# -- sharing the file between processes ----------------------------------------------------

WRITER = """
import sys
from datetime import datetime, timezone
from pathlib import Path
from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.arxiv.papers import Paper

path, prefix, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
when = datetime(2021, 1, 1, tzinfo=timezone.utc)
with PaperCache(path) as cache:
    for n in range(count):
        paper = Paper(
            arxiv_id=f"{prefix}.{n:05d}", version=1, title="t", authors=("a",), summary="s",
            published=when, updated=when, primary_category="cs.LG",
        )
        cache.put_many([paper])
        cache.mark_not_found([f"{prefix}.{n + 50000:05d}"])
"""

SLOT_TAKER = """
import sys, time
from pathlib import Path
from vaultpapers.arxiv.cache import PaperCache

with PaperCache(Path(sys.argv[1])) as cache:
    for _ in range(int(sys.argv[2])):
        print(time.time() + cache.reserve_request_slot(1000.0))
"""


def test_two_processes_writing_at_once_lose_nothing(cache_path: Path) -> None:
    count = 200
    run_together(
        WRITER, [str(cache_path), "2101", str(count)], [str(cache_path), "2102", str(count)]
    )

    with PaperCache(cache_path) as cache:
        keys = [f"{prefix}.{n:05d}" for prefix in ("2101", "2102") for n in range(count)]
        missing = [f"{prefix}.{n + 50000:05d}" for prefix in ("2101", "2102") for n in range(count)]

        assert len(cache.get_many(keys)) == 2 * count
        assert len(cache.not_found(missing, max_age=timedelta(days=1))) == 2 * count


def test_two_processes_never_get_the_same_request_slot(cache_path: Path) -> None:
    outputs = run_together(SLOT_TAKER, [str(cache_path), "20"], [str(cache_path), "20"])

    slots = sorted(float(line) for output in outputs for line in output.split())
    assert len(slots) == 40
    assert min(b - a for a, b in pairwise(slots)) > 999


# -- the file itself -----------------------------------------------------------------------


def test_the_file_is_in_wal_mode_with_a_schema_version(cache_path: Path) -> None:
    PaperCache(cache_path).close()

    with sqlite3.connect(cache_path) as db:
        (mode,) = db.execute("PRAGMA journal_mode").fetchone()
        (version,) = db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()

    assert mode == "wal"
    assert int(version) == SCHEMA_VERSION


def test_a_corrupt_file_is_reported_with_what_to_do(cache_path: Path) -> None:
    cache_path.parent.mkdir(parents=True)
    cache_path.write_bytes(b"this is not an sqlite database\n" * 200)

    with pytest.raises(CacheError) as error:
        PaperCache(cache_path)

    assert str(cache_path) in str(error.value)
    assert "delete it" in str(error.value)


def test_a_cache_from_a_newer_vaultpapers_is_refused(cache_path: Path) -> None:
    PaperCache(cache_path).close()
    with sqlite3.connect(cache_path) as db:
        db.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (SCHEMA_VERSION + 1,))

    with pytest.raises(CacheError) as error:
        PaperCache(cache_path)

    assert str(cache_path) in str(error.value)
    assert "newer vaultpapers" in str(error.value)
    assert "Upgrade" in str(error.value)


def test_another_programs_database_is_left_alone(cache_path: Path) -> None:
    cache_path.parent.mkdir(parents=True)
    with sqlite3.connect(cache_path) as db:
        db.execute("CREATE TABLE notes (body TEXT)")

    with pytest.raises(CacheError) as error:
        PaperCache(cache_path)

    assert "not a vaultpapers cache" in str(error.value)
    with sqlite3.connect(cache_path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master")]
    assert tables == ["notes"]
