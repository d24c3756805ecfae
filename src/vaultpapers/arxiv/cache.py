"""The persistent paper-metadata cache: one SQLite file inside the vault's ``.vaultpapers/``.

Several vaultpapers processes (a ``link`` while ``watch`` runs) share the file, so it runs in
WAL mode with a busy timeout, every write is one short ``BEGIN IMMEDIATE`` transaction, and the
arXiv request schedule lives in it too (``reserve_request_slot``) so that all processes together
keep arXiv's one-request-every-3-seconds rule.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from vaultpapers.arxiv.papers import Paper
from vaultpapers.vaultfs.state import memory_copy

__all__ = ["SCHEMA_VERSION", "CacheError", "PaperCache"]

logger = logging.getLogger("vaultpapers.arxiv.cache")

SCHEMA_VERSION = 1

# SQLite builds before 3.32 allow only 999 bound parameters per statement.
_KEYS_PER_STATEMENT = 500


class DecodedPapers(dict[str, tuple[tuple[int, float], Paper]]):
    """Papers decoded earlier, by key: ((version, fetched_at) of the record read, the paper).
    `writes` is the cache's count of paper writes when they were last checked against it."""

    writes: int | None = None


# More requests than this queued ahead cannot come from vaultpapers processes waiting their turn;
# it means the wall clock stepped back, and waiting it out could stall every process for hours.
_MAX_QUEUED_REQUESTS = 64

# Every change to the papers table, by any process or version, counts one more write: a caller
# that kept papers decoded sees from one number whether any record can have changed since.
_WRITE_COUNTER = "papers_written"
_IDENTITY = "cache_id"  # made once, at random: a cache made again counts its writes from 0
_COUNTING_TRIGGERS = {
    f"count_papers_{event.lower()}": f"""CREATE TRIGGER IF NOT EXISTS count_papers_{event.lower()}
        AFTER {event} ON papers
        BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE name = '{_WRITE_COUNTER}';
        END"""
    for event in ("INSERT", "UPDATE", "DELETE")
}

_SCHEMA = (
    """CREATE TABLE papers (
        arxiv_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        record TEXT NOT NULL,
        fetched_at REAL NOT NULL
    )""",
    """CREATE TABLE not_found (
        arxiv_id TEXT PRIMARY KEY,
        checked_at REAL NOT NULL
    )""",
    """CREATE TABLE request_schedule (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        last_request REAL NOT NULL
    )""",
)


# arXiv's answer to a title search, per title looked up (its words, lower case, one space
# apart): the papers whose title it is, none for a miss. Kept forever, misses too, so that a
# title is looked up once; the papers themselves are in `papers`.
_TITLE_SEARCHES = """CREATE TABLE IF NOT EXISTS title_searches (
    phrase TEXT PRIMARY KEY,
    keys TEXT NOT NULL,
    checked_at REAL NOT NULL
)"""


class CacheError(Exception):
    """The cache file cannot be used; the message names the file and what to do about it."""


def _chunks(keys: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(keys), _KEYS_PER_STATEMENT):
        yield keys[start : start + _KEYS_PER_STATEMENT]


def _placeholders(count: int) -> str:
    return ",".join("?" * count)


def _paper_rows(db: sqlite3.Connection, columns: str, keys: list[str]) -> Iterator[Any]:
    """`columns` of the papers table for the given ids, a bounded statement at a time."""
    for chunk in _chunks(keys):
        yield from db.execute(
            f"SELECT {columns} FROM papers WHERE arxiv_id IN ({_placeholders(len(chunk))})",
            chunk,
        ).fetchall()


# Over 300 lines on purpose: one SQLite file whose tables (papers, not-found answers, title
# searches, the shared request slot) share one connection, one WAL set-up and one transaction
# discipline; split by table, every part would need those again.
class PaperCache:
    """Paper metadata (kept forever), arXiv's "no such id" answers, and the request schedule."""

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        in_memory: bool = False,
    ) -> None:
        """`in_memory` (a dry run): a copy of the file in memory, the file itself only read;
        what the cache is then given (papers fetched, the request schedule) is kept in
        memory, and gone when it is closed."""
        self.path = Path(path)
        # Wall-clock time, not monotonic: reservations are compared across processes.
        self._clock = clock
        self._lock = threading.Lock()
        try:
            if in_memory:
                self._db = memory_copy(self.path)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(
                    self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
                )
        except (OSError, sqlite3.Error) as exc:
            raise CacheError(f"cannot open the paper cache {self.path}: {exc}") from exc
        try:
            if not in_memory:
                self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
                self._use_wal(busy_timeout)
                self._db.execute("PRAGMA synchronous = NORMAL")
            self._ensure_schema()
        except CacheError:
            self._db.close()
            raise
        except sqlite3.OperationalError as exc:
            self._db.close()
            raise CacheError(
                f"cannot use the paper cache {self.path} ({exc}); check that the disk is "
                "writable and that no other vaultpapers process is stuck, then try again"
            ) from exc
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise CacheError(
                f"{self.path} is damaged or is not a vaultpapers cache ({exc}). It only holds "
                "metadata downloaded from arXiv: delete it and run vaultpapers again to rebuild it."
            ) from exc

    def _use_wal(self, busy_timeout: float) -> None:
        # Switching to WAL can report "database is locked" at once, without the busy handler,
        # while another process opens the same new file; the switch is persistent, so retrying
        # until one of them has made it is enough.
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                (mode,) = self._db.execute("PRAGMA journal_mode = WAL").fetchone()
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        if str(mode).lower() != "wal":
            logger.warning(
                "%s: SQLite refused WAL mode (journal_mode=%s); concurrent vaultpapers "
                "processes may wait on each other",
                self.path,
                mode,
            )

    # -- plumbing ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        # BEGIN IMMEDIATE takes the write lock up front: a deferred transaction that upgrades
        # to writing can fail with SQLITE_BUSY without the busy timeout ever applying.
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
                # Misuse (e.g. a closed cache), not a damaged file.
                raise
            except sqlite3.OperationalError as exc:
                raise CacheError(
                    f"cannot use the paper cache {self.path} ({exc}); check that the disk is "
                    "writable and that no other vaultpapers process is stuck, then try again"
                ) from exc
            except sqlite3.DatabaseError as exc:
                raise CacheError(
                    f"{self.path} is damaged ({exc}). It only holds metadata downloaded from "
                    "arXiv: delete it and run vaultpapers again to rebuild it."
                ) from exc

    def _ensure_schema(self) -> None:
        with self._transaction(write=True) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            if "meta" not in tables:
                if tables:
                    raise CacheError(
                        f"{self.path} is an SQLite file but not a vaultpapers cache (it has "
                        f"tables {sorted(tables)}); move it away or point vaultpapers elsewhere."
                    )
                db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute(
                    "INSERT INTO meta (name, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                self._count_writes(db, tables)
                db.execute(_TITLE_SEARCHES)
                return
            row = db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
            try:
                found = int(row[0]) if row else None
            except ValueError:
                found = None
            if found is None:
                raise CacheError(
                    f"{self.path} has no readable schema version. It only holds metadata "
                    "downloaded from arXiv: delete it and run vaultpapers again to rebuild it."
                )
            if found > SCHEMA_VERSION:
                raise CacheError(
                    f"{self.path} was written by a newer vaultpapers (cache schema {found}; this "
                    f"version understands up to {SCHEMA_VERSION}). Upgrade vaultpapers, or "
                    "delete the file to rebuild it with this version."
                )
            self._count_writes(db, tables)
            if "title_searches" not in tables:  # a cache made before titles were searched
                db.execute(_TITLE_SEARCHES)

    @staticmethod
    def _count_writes(db: sqlite3.Connection, names: set[str]) -> None:
        """The write counter and its triggers, and the cache's identity, added to a cache made
        before they existed."""
        identity = os.urandom(8).hex()
        db.execute("INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)", (_IDENTITY, identity))
        if _COUNTING_TRIGGERS.keys() <= names:
            return
        db.execute("INSERT OR IGNORE INTO meta (name, value) VALUES (?, '0')", (_WRITE_COUNTER,))
        for statement in _COUNTING_TRIGGERS.values():
            db.execute(statement)

    @staticmethod
    def _writes(db: sqlite3.Connection) -> int | None:
        row = db.execute("SELECT value FROM meta WHERE name = ?", (_WRITE_COUNTER,)).fetchone()
        try:
            return int(row[0]) if row else None
        except ValueError:
            return None

    # -- papers ------------------------------------------------------------------------------

    def get_many(
        self, keys: Iterable[str], *, known: DecodedPapers | None = None
    ) -> dict[str, Paper]:
        """The cached papers among `keys`. A caller that asks again and again keeps the papers
        decoded so far in `known`: a record is then decoded again only if it was rewritten
        since (a newer version, or fetched again), and `known` is brought up to date. While
        no paper was written at all since the last call, the known ones are not even looked
        up."""
        wanted = sorted(set(keys))
        papers: dict[str, Paper] = {}
        with self._transaction(write=False) as db:
            if known is not None:
                writes = self._writes(db)
                if writes is None or writes != known.writes:
                    self._forget_rewritten(db, known)
                known.writes = writes
                papers = {key: known[key][1] for key in wanted if key in known}
                wanted = [key for key in wanted if key not in known]
            for key, record, version, fetched_at in _paper_rows(
                db, "arxiv_id, record, version, fetched_at", wanted
            ):
                try:
                    papers[key] = Paper.from_json(record)
                except (ValueError, TypeError, KeyError) as exc:
                    # Treat as missing: the next fetch overwrites it with a good record.
                    logger.warning("%s: unreadable record for %s (%s)", self.path, key, exc)
                    continue
                if known is not None:
                    known[key] = ((version, fetched_at), papers[key])
        return papers

    def version(self) -> tuple[str, int] | None:
        """Names the papers the cache holds now: this cache (a file deleted and made again is
        another) and its count of paper writes. None for a cache that cannot tell."""
        with self._transaction(write=False) as db:
            row = db.execute("SELECT value FROM meta WHERE name = ?", (_IDENTITY,)).fetchone()
            writes = self._writes(db)
        return (row[0], writes) if row and writes is not None else None

    def titles(
        self, since: float | None = None
    ) -> tuple[list[tuple[str, str, int | None]], float | None]:
        """(key, title, year of the first version) of every cached paper, or of those written
        at or after `since` (a time this method returned), read by SQLite without decoding
        the records: what the titles written in notes are matched against. Also the time of
        the latest write they include, to ask for what was written since."""
        where, arguments = ("", ()) if since is None else (" WHERE fetched_at >= ?", (since,))
        with self._transaction(write=False) as db:
            rows = db.execute(
                "SELECT arxiv_id, json_extract(record, '$.title'), "
                "substr(json_extract(record, '$.published'), 1, 4), fetched_at FROM papers" + where,
                arguments,
            ).fetchall()
        titles = [
            (key, title, int(year) if isinstance(year, str) and year.isdigit() else None)
            for key, title, year, _ in rows
            if isinstance(title, str)
        ]
        return titles, max((row[3] for row in rows), default=since)

    def _forget_rewritten(self, db: sqlite3.Connection, known: DecodedPapers) -> None:
        """Drops the `known` papers whose record is no longer the one decoded."""
        current = {
            key: (version, fetched_at)
            for key, version, fetched_at in _paper_rows(
                db, "arxiv_id, version, fetched_at", sorted(known)
            )
        }
        for key in [key for key, (read, _) in known.items() if current.get(key) != read]:
            del known[key]

    def put_many(self, papers: Iterable[Paper]) -> None:
        now = self._clock()
        rows = [(p.arxiv_id, p.version, p.to_json(), now) for p in papers]
        if not rows:
            return
        with self._transaction(write=True) as db:
            # Two processes may fetch the same paper at different times: never go back a version.
            db.executemany(
                "INSERT INTO papers (arxiv_id, version, record, fetched_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (arxiv_id) DO UPDATE SET version = excluded.version, "
                "record = excluded.record, fetched_at = excluded.fetched_at "
                "WHERE excluded.version >= papers.version",
                rows,
            )
            db.executemany("DELETE FROM not_found WHERE arxiv_id = ?", [(r[0],) for r in rows])

    def set_fetched_times(self, times: Mapping[str, float]) -> None:
        """Records when papers count as last asked about, without changing their records."""
        with self._transaction(write=True) as db:
            db.executemany(
                "UPDATE papers SET fetched_at = ? WHERE arxiv_id = ?",
                [(at, key) for key, at in sorted(times.items())],
            )

    def fetched_times(self, keys: Iterable[str] | None) -> dict[str, float]:
        """When each cached paper among `keys` (None: every one) was last asked about."""
        with self._transaction(write=False) as db:
            if keys is None:
                return dict(db.execute("SELECT arxiv_id, fetched_at FROM papers").fetchall())
            return dict(_paper_rows(db, "arxiv_id, fetched_at", sorted(set(keys))))

    # -- ids arXiv does not know -------------------------------------------------------------

    def mark_not_found(self, keys: Iterable[str]) -> None:
        now = self._clock()
        rows = [(key, now) for key in sorted(set(keys))]
        if not rows:
            return
        with self._transaction(write=True) as db:
            db.executemany(
                "INSERT INTO not_found (arxiv_id, checked_at) VALUES (?, ?) "
                "ON CONFLICT (arxiv_id) DO UPDATE SET checked_at = excluded.checked_at",
                rows,
            )

    def not_found(self, keys: Iterable[str], *, max_age: timedelta) -> set[str]:
        """Keys arXiv reported as unknown within ``max_age``; older answers are worth re-asking,
        since an id can be cited before the paper appears."""
        wanted = sorted(set(keys))
        oldest = self._clock() - max_age.total_seconds()
        found: set[str] = set()
        with self._transaction(write=False) as db:
            for chunk in _chunks(wanted):
                rows = db.execute(
                    "SELECT arxiv_id FROM not_found "
                    f"WHERE checked_at >= ? AND arxiv_id IN ({_placeholders(len(chunk))})",
                    [oldest, *chunk],
                ).fetchall()
                found.update(row[0] for row in rows)
        return found

    # -- titles looked up on arXiv -----------------------------------------------------------

    def title_searches(self, phrases: Iterable[str]) -> dict[str, list[str]]:
        """The answers kept for these titles: phrase -> keys of the papers with that title
        (empty: arXiv has none). Titles never looked up are absent."""
        wanted = sorted(set(phrases))
        answers: dict[str, list[str]] = {}
        with self._transaction(write=False) as db:
            for chunk in _chunks(wanted):
                rows = db.execute(
                    "SELECT phrase, keys FROM title_searches "
                    f"WHERE phrase IN ({_placeholders(len(chunk))})",
                    chunk,
                ).fetchall()
                answers.update((phrase, keys.split()) for phrase, keys in rows)
        return answers

    def put_title_searches(self, answers: Mapping[str, Iterable[str]]) -> None:
        now = self._clock()
        rows = [(phrase, " ".join(sorted(keys)), now) for phrase, keys in sorted(answers.items())]
        if not rows:
            return
        with self._transaction(write=True) as db:
            db.executemany(
                "INSERT INTO title_searches (phrase, keys, checked_at) VALUES (?, ?, ?) "
                "ON CONFLICT (phrase) DO UPDATE SET keys = excluded.keys, "
                "checked_at = excluded.checked_at",
                rows,
            )

    # -- request schedule --------------------------------------------------------------------

    def reserve_request_slot(self, min_interval: float) -> float:
        """Reserve the next arXiv request slot for this caller, shared by all processes.

        Returns how many seconds the caller must wait before sending its request.
        """
        with self._transaction(write=True) as db:
            now = self._clock()
            row = db.execute("SELECT last_request FROM request_schedule WHERE id = 1").fetchone()
            last = row[0] if row else None
            if last is not None and last - now > _MAX_QUEUED_REQUESTS * max(min_interval, 1.0):
                logger.warning(
                    "%s: last arXiv request is scheduled %.0f s in the future; "
                    "assuming the clock moved back",
                    self.path,
                    last - now,
                )
                last = None
            slot = now if last is None else max(now, last + min_interval)
            db.execute(
                "INSERT INTO request_schedule (id, last_request) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET last_request = excluded.last_request",
                (slot,),
            )
        return slot - now

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> PaperCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
