"""What vaultpapers remembers between runs, so unchanged notes are neither re-read nor re-planned.

Kept in `.vaultpapers/state.sqlite`, apart from the metadata cache: this is derived data, safe
to delete at any time (the next run rebuilds it), and it differs between machines. It holds:
- each note's scan (a row of values in the columns the scan module names), valid while the
  file's stat (mtime, ctime, size, inode) is unchanged;
- for each generated note, the digest of what it was last brought up to date with;
- small values: the relations found for a set of papers, the vault's last complete snapshot.

Nothing here is ever trusted for safety: every write still re-checks the file itself.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from vaultpapers.model import StatKey

log = logging.getLogger("vaultpapers")

SCHEMA = 1
Row = tuple[Any, ...]


def stat_key(stat: os.stat_result) -> StatKey:
    return f"{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_size}:{stat.st_ino}"


def memory_copy(path: Path) -> sqlite3.Connection:
    """A copy in memory of the SQLite file at `path` (empty if there is none), made without
    writing a byte beside it: what a dry run uses. Even opened read-only, SQLite writes to the
    `-shm` file a killed run left, or creates `-wal` and `-shm`; so the file and its `-wal`
    (the newest pages, when another process is writing) are copied to a folder outside the
    vault and read from there."""
    memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    if not path.is_file():
        return memory
    try:
        with tempfile.TemporaryDirectory(prefix="vaultpapers-dry-run-") as folder:
            copy = Path(folder) / path.name
            shutil.copyfile(path, copy)
            if Path(f"{path}-wal").is_file():
                shutil.copyfile(f"{path}-wal", f"{copy}-wal")
            with closing(sqlite3.connect(copy)) as source:
                source.backup(memory)
    except OSError as exc:  # reported as the database errors its callers handle
        memory.close()
        raise sqlite3.OperationalError(f"cannot read {path}: {exc}") from exc
    except sqlite3.Error:
        memory.close()
        raise
    return memory


class StateStore:
    """A best-effort memory: if the file is missing, locked, corrupt or from another schema,
    it starts empty and the run is merely slower."""

    def __init__(
        self,
        path: Path,
        generation: str,
        scan_columns: Sequence[str],
        *,
        read_only: bool = False,
    ) -> None:
        """`generation` names the code that wrote the state (version, scan format): state
        from other code is dropped, since what it remembers may mean something else now.
        A scan is kept as a row of `scan_columns`. `read_only` (a dry run): the file is
        only read, into memory, and what is saved stays there."""
        self.path = path
        self.read_only = read_only
        self.scan_columns = ["path", "stat", *scan_columns]
        rest = ", ".join(scan_columns)
        self._create_scans = (
            f"CREATE TABLE IF NOT EXISTS scans (path TEXT PRIMARY KEY, stat, {rest})"
        )
        self._select_scans = f"SELECT {', '.join(self.scan_columns)} FROM scans"
        self._insert_scan = (
            f"INSERT OR REPLACE INTO scans VALUES ({', '.join('?' * len(self.scan_columns))})"
        )
        self._db: sqlite3.Connection | None = None
        try:
            self._db = self._open()
        except sqlite3.Error as exc:
            log.warning("state %s unusable (%s); starting afresh", path, exc)
            self._reset()
        if self.get("generation") != generation:
            self._write("DELETE FROM scans", [()])
            self._write("DELETE FROM outputs", [()])
            self._write("DELETE FROM meta", [()])
            self.put("generation", generation)

    def _open(self) -> sqlite3.Connection:
        if self.read_only:
            db = memory_copy(self.path)
        else:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA):
            db.close()
            raise sqlite3.DatabaseError(f"schema {version}, expected {SCHEMA}")
        # (name, part of the primary key): the path is the key, each path has one scan.
        columns = [(row[1], row[5]) for row in db.execute("PRAGMA table_info(scans)")]
        if columns and columns != [(name, name == "path") for name in self.scan_columns]:
            db.execute("DROP TABLE scans")  # scans of another layout: kept by other code
            db.execute("DELETE FROM meta WHERE key = 'generation'")  # so the rest goes too
        db.execute(self._create_scans)
        db.executescript(
            """
            CREATE TABLE IF NOT EXISTS outputs (path TEXT PRIMARY KEY, stat TEXT, inputs TEXT);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
            """
        )
        if version == 0:
            db.execute(f"PRAGMA user_version={SCHEMA}")
        return db

    def _reset(self) -> None:
        for suffix in () if self.read_only else ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        try:
            self._db = self._open()
        except sqlite3.Error as exc:
            log.warning("state %s cannot be created (%s); running without it", self.path, exc)
            self._db = None

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self._db is None:
            return []
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            log.warning("state %s unreadable (%s)", self.path, exc)
            return []

    def _write(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        rows = list(rows)
        if self._db is None or not rows:
            return  # an unchanged vault leaves even this file untouched
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(sql, rows)
        except sqlite3.Error as exc:
            log.warning("state %s not saved (%s); the next run redoes the work", self.path, exc)

    # -- scans ------------------------------------------------------------------------------

    def scans(self) -> dict[str, tuple[StatKey, Row]]:
        return {row[0]: (row[1], row[2:]) for row in self._rows(self._select_scans)}

    def save_scans(self, rows: Mapping[str, tuple[StatKey, Row]], gone: Iterable[str]) -> None:
        self._write("DELETE FROM scans WHERE path = ?", ((path,) for path in gone))
        self._write(self._insert_scan, ((path, stat, *row) for path, (stat, row) in rows.items()))

    # -- generated notes ---------------------------------------------------------------------

    def outputs(self) -> dict[str, tuple[StatKey, str]]:
        return {path: (stat, inputs) for path, stat, inputs in self._rows("SELECT * FROM outputs")}

    def save_outputs(self, rows: Mapping[str, tuple[StatKey, str]], gone: Iterable[str]) -> None:
        self._write("DELETE FROM outputs WHERE path = ?", ((path,) for path in gone))
        self._write(
            "INSERT OR REPLACE INTO outputs VALUES (?, ?, ?)",
            ((path, stat, inputs) for path, (stat, inputs) in rows.items()),
        )

    # -- small values ------------------------------------------------------------------------

    def get(self, key: str) -> Any:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        if not rows:
            return None
        try:
            return json.loads(rows[0][0])
        except ValueError:
            return None

    def put(self, key: str, value: Any) -> None:
        encoded = json.dumps(value)
        if self._rows("SELECT 1 FROM meta WHERE key = ? AND value = ?", (key, encoded)):
            return
        self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(key, encoded)])

    def close(self) -> None:
        if self._db is not None:
            with closing(self._db):
                pass
            self._db = None

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
