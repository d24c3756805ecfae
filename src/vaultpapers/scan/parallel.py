"""Scanning many notes on every core, as black formats many files: a cold run over 10,000
notes spends most of its time in pure-Python scanning, and a process per core does it in a
fraction of the time. Small batches stay in this process, where starting workers would cost
more than they save.

Workers are spawned (never forked: a watcher has threads) and send back what the state
keeps of a scan, as JSON, without the note's text: planning reads again the notes it writes
(a cold run, a third of the vault), and checks that each is still the file that was scanned.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

from vaultpapers.markdown.titles import TitleIndex
from vaultpapers.model import (
    FileState,
    Insertion,
    Note,
    Problem,
    content_digest,
    with_insertions,
)
from vaultpapers.scan.note import (
    OPAQUE_KIND,
    NoteScan,
    ScanRow,
    TitleLines,
    scan_from_row,
    scan_or_report,
    scan_to_row,
    with_state,
    with_titles,
)
from vaultpapers.vaultfs.files import ReadProblem, read_note
from vaultpapers.vaultfs.writer import BOM

log = logging.getLogger("vaultpapers")

# Fewer notes than this are scanned here: spawning workers costs more than it saves.
PARALLEL_MIN = 1000
CHUNK = 250
MAX_WORKERS = 4
WAVE = 2 * MAX_WORKERS  # chunks sent to the workers at a time

T = TypeVar("T")
Scanned = NoteScan | ReadProblem
# A user's note that only gained links: what its scan found of its lines written like a
# title, and the rows of the titles that can match in it (those it was found to name, and
# any of the same words): its title pass needs no more than these.
Relinked = tuple[TitleLines, tuple[tuple[str, str, int | None], ...]]


class Written(NamedTuple):
    """A note a run is about to write, as `scan_written` needs it."""

    path: str
    text: str | None  # None: the file's text as `expected`, with the `insertions`
    bom: bool
    front_matter: Mapping[str, Any] | None  # its properties, when known: no YAML to parse
    relinked: Relinked | None  # its lines written like a title, when only links went in
    expected: FileState | None = None
    insertions: tuple[Insertion, ...] = ()


# What a worker is sent of a `Written`: the text as UTF-8 (see `scan_written`).
_Shipped = tuple[str, bytes | None, bool, Any, Any, FileState | None, tuple[Insertion, ...]]
# A scan of a note about to be written: (path, the digest of the file it scanned, its row).
WrittenRow = tuple[str, str, ScanRow]


def _workers(count: int) -> int:
    if count < PARALLEL_MIN:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_WORKERS, cores or 1))


class Workers:
    """The worker processes of one run: spawned the first time a batch is large enough, then
    kept for the run's other batches (a cold run scans the vault, then what it wrote), and
    stopped when the run ends."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def map(self, count: int, work: Callable[..., T], *chunks: Sequence[Any]) -> list[T] | None:
        """`work` over the chunks on as many cores as `count` items deserve; None when they
        are better done in this process, or the workers could not be used."""
        workers = _workers(count)
        if workers == 1:
            return None
        # Imported only now: most runs scan a few notes, and the import would cost every run.
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool
        from multiprocessing import get_context

        try:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
            return list(self._pool.map(work, *chunks))
        except (OSError, BrokenProcessPool) as exc:
            log.warning("scanning on several cores failed (%s); scanning in this process", exc)
            self.close()
            return None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_and_scan(
    vault: Path,
    paths: Sequence[str],
    *,
    max_bytes: int,
    workers: Workers | None = None,
    titles: TitleIndex | None = None,
    untitled: Mapping[str, ScanRow] | None = None,
) -> list[tuple[Scanned, ScanRow | None]]:
    """Each note read and scanned, in the order given, with what the state keeps of its scan
    (JSON; None for a note that could not be read or scanned). `titles`: the paper titles
    looked for in the user's notes; `untitled`: the rows of scans of these notes made without
    titles, to add the titles to (`with_titles`) while the note is as they read it. Scanned
    in workers, the notes come back without their text."""
    chunks = [paths[start : start + CHUNK] for start in range(0, len(paths), CHUNK)]
    vaults, limits = [str(vault)] * len(chunks), [max_bytes] * len(chunks)
    indexes = [_shipped(titles) if _workers(len(paths)) > 1 else None] * len(chunks)
    with _workers_of_run(workers) as pool:
        earlier = [[(untitled or {}).get(path) for path in chunk] for chunk in chunks]
        answers = pool.map(len(paths), _scan_chunk, vaults, chunks, limits, indexes, earlier)
    if answers is None:
        rows = untitled or {}
        return [
            _with_row(_read_and_scan(vault, path, max_bytes, titles, rows.get(path)))
            for path in paths
        ]
    return [_decode(path, answer) for chunk in answers for path, answer in chunk]


def scan_written(
    vault: Path,
    notes: Sequence[Written],
    workers: Workers | None = None,
    titles: TitleIndex | None = None,
    stop: threading.Event | None = None,
    among: int = 0,
) -> list[WrittenRow | None]:
    """What the state keeps of each note about to be written, with the digest of the text
    scanned (the one planned: the caller keeps the row only if the file written has it), or
    None for one that could not be scanned. A note that only gains links is read from the
    file: before its write, the text the plan was made from, with its links; after, the
    text written. Once `stop` is set, the notes not sent to the workers yet are left out.
    `among`: how many notes the caller scans in all, `notes` being one batch of them (the
    workers are used, or not, for all)."""
    count = max(among, len(notes))
    chunks = [notes[start : start + CHUNK] for start in range(0, len(notes), CHUNK)]
    # The vault's titles go to the workers only for notes that need them all.
    if all(note.relinked is not None for note in notes):
        titles = None
    rows: list[WrittenRow | None] = []
    with _workers_of_run(workers) as pool:
        shipped = _shipped(titles) if _workers(count) > 1 else None
        # A few chunks at a time, their texts sent encoded: pickling a text that is not
        # ASCII leaves its UTF-8 copy cached on it for as long as the text lives (an index
        # note's, till the run ends), and all chunks at once would be a second copy of
        # everything written.
        for wave in range(0, len(chunks), WAVE):
            if stop is not None and stop.is_set():
                break
            encoded = [_encoded(chunk) for chunk in chunks[wave : wave + WAVE]]
            answers = pool.map(
                count,
                _scan_written_chunk,
                [str(vault)] * len(encoded),
                encoded,
                [shipped] * len(encoded),
            )
            if answers is None:
                return [_scan_written(vault, note, titles) for note in notes]
            rows += [row for chunk in answers for row in chunk]
    return rows


# The file's state in a scan made of a note before it is written; `WrittenScans.rows` puts
# the state it was written with in its place.
NOT_WRITTEN = FileState(0, 0, "")


class WrittenScans:
    """`scan_written` of the notes a run writes, made by the workers while the run writes
    them: a cold run writes half its vault, and its workers would otherwise sit idle through
    the writes, and the writes wait for nothing. The notes planned whole (or as links into a
    note) come at once; the notes rendered when written are `add`ed as the write step
    renders them. A scan is of the text as planned, and kept only for a note written with
    that very text. A run writing too few notes (`count` in all) for the workers to be worth
    it scans them in this process once they are written, as `scan_written` would."""

    def __init__(
        self,
        vault: Path,
        notes: Sequence[Written],
        workers: Workers | None,
        titles: TitleIndex | None,
        *,
        count: int,
    ) -> None:
        self._vault, self._workers, self._titles, self._count = vault, workers, titles, count
        self._notes: list[Written] = list(notes)  # to scan here, once written
        self._rows: dict[str, tuple[str, ScanRow] | None] = {}
        self._failed: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._queue: queue.SimpleQueue[Sequence[Written] | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        if workers is not None and _workers(count) > 1:
            self._queue.put(self._notes)
            self._notes = []
            self._thread = threading.Thread(target=self._scan_aside, daemon=True)
            self._thread.start()

    def add(self, notes: Sequence[Written]) -> None:
        """More notes to scan: rendered, about to be written."""
        if self._thread is not None:
            self._queue.put(notes)
        else:
            self._notes.extend(notes)

    def __enter__(self) -> WrittenScans:
        return self

    def __exit__(self, *exc: object) -> None:
        """Done with: the workers stop scanning for it (a run stopped before its writes, or
        one that failed, asks for no scan) before the run stops them."""
        self._stop.set()
        self._finish()

    def rows(self, written: Mapping[str, FileState]) -> dict[str, ScanRow]:
        """The scans of the notes `written`, each as it is on disk now with its state (none
        for a note this run did not mean to write, could not scan, or found other than it
        wrote). Scanned here, only the notes written are: a run stopped midway, or one whose
        note changed meanwhile, scans no more than it wrote."""
        if self._thread is not None:
            self._finish()
        elif self._notes:
            self._scan([note for note in self._notes if note.path in written])
            self._notes = []
        return {
            path: with_state(scanned[1], state)
            for path, state in written.items()
            if (scanned := self._rows.get(path)) is not None and scanned[0] == state.digest
        }

    def _finish(self) -> None:
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join()
        self._thread = None
        if self._failed is not None:
            raise self._failed

    def _scan_aside(self) -> None:
        try:
            while (notes := self._queue.get()) is not None:
                if not self._stop.is_set():
                    self._scan(notes)
        except BaseException as exc:  # raised where the scans are asked for
            self._failed = exc

    def _scan(self, notes: Sequence[Written]) -> None:
        vault, titles = self._vault, self._titles
        rows = scan_written(vault, notes, self._workers, titles, self._stop, self._count)
        # (Fewer rows than notes once stopped: the notes left out have none.)
        for note, row in zip(notes, rows, strict=False):
            self._rows[note.path] = None if row is None else row[1:]


def _encoded(notes: Sequence[Written]) -> list[_Shipped]:
    return [(n.path, None if n.text is None else n.text.encode("utf-8"), *n[2:]) for n in notes]


@contextmanager
def _workers_of_run(workers: Workers | None) -> Iterator[Workers]:
    """The run's workers, or some for this batch alone when the caller keeps none."""
    if workers is not None:
        yield workers
        return
    with Workers() as own:
        yield own


def _with_row(scanned: Scanned) -> tuple[Scanned, ScanRow | None]:
    if isinstance(scanned, ReadProblem) or scanned.kind == OPAQUE_KIND:
        return scanned, None
    return scanned, scan_to_row(scanned)


def _read_and_scan(
    vault: Path,
    path: str,
    max_bytes: int,
    titles: TitleIndex | None = None,
    untitled: ScanRow | None = None,
) -> Scanned:
    note = read_note(vault, path, max_bytes=max_bytes)
    if isinstance(note, ReadProblem):
        return note
    if untitled is not None and titles is not None and note.text is not None:
        earlier = scan_from_row(path, note.stat, untitled)
        if earlier.note.state == note.state:  # the note as that scan read it
            try:
                added = with_titles(earlier, note.text, titles)
            except Exception:
                added = None
            if added is not None:
                return added
    return scan_or_report(note, titles=titles)


# A title index goes to the workers as its rows, pickled once into bytes, and is built there
# once per worker: sent whole, it would be pickled with every chunk and its lookups built
# again for each; sent as rows, each chunk's pickling would walk thousands of objects again
# (and a run that does not collect garbage keeps what each pickling leaves behind).
Shipped = tuple[str, bytes] | None
_received: dict[str, TitleIndex] = {}


_sent: dict[str, bytes] = {}  # the last index shipped, pickled: a run ships it batch by batch


def _shipped(titles: TitleIndex | None) -> Shipped:
    if titles is None:
        return None
    import pickle

    digest = titles.digest()
    if digest not in _sent:
        _sent.clear()
        _sent[digest] = pickle.dumps(titles.rows(), protocol=pickle.HIGHEST_PROTOCOL)
    return digest, _sent[digest]


def _index_of(shipped: Shipped) -> TitleIndex | None:
    if shipped is None:
        return None
    digest, rows = shipped
    index = _received.get(digest)
    if index is None:
        import pickle

        _received.clear()  # one run's index at a time; it only grows within a run
        index = _received[digest] = TitleIndex.of(pickle.loads(rows))
    return index


def _scan_chunk(
    vault: str,
    paths: Sequence[str],
    max_bytes: int,
    shipped: Shipped = None,
    untitled: Sequence[ScanRow | None] | None = None,
) -> list[tuple[str, Any]]:
    titles = _index_of(shipped)
    answers: list[tuple[str, Any]] = []
    for path, earlier in zip(paths, untitled or [None] * len(paths), strict=True):
        scanned = _read_and_scan(Path(vault), path, max_bytes, titles, earlier)
        if isinstance(scanned, ReadProblem):
            answers.append((path, ("unread", scanned.message, scanned.code)))
        elif scanned.kind == OPAQUE_KIND:
            problems = [(p.line, p.message, p.code) for p in scanned.problems]
            answers.append((path, ("opaque", scanned.note.bom, problems)))
        else:
            # Without the text: a vault's worth would stay in memory while the run plans.
            # Planning reads again the notes it writes, and checks they are still the ones
            # scanned.
            answers.append((path, ("scan", scanned.note.stat, scan_to_row(scanned))))
    return answers


def _decode(path: str, answer: tuple[Any, ...]) -> tuple[Scanned, ScanRow | None]:
    if answer[0] == "unread":
        return ReadProblem(path, answer[1], answer[2]), None
    if answer[0] == "opaque":
        _, bom, problems = answer
        note = Note(path, None, bom, FileState(0, 0, ""))
        found = tuple(Problem(path, line, message, code) for line, message, code in problems)
        return NoteScan(note, OPAQUE_KIND, problems=found), None
    _, stat, kept_row = answer
    return scan_from_row(path, stat, kept_row), kept_row


def _scan_written(
    vault: Path, written: Written, titles: TitleIndex | None = None, data: bytes | None = None
) -> WrittenRow | None:
    """`data`: the text as UTF-8, when the caller has it so."""
    path, text, bom, front_matter, relinked, _, _ = written
    if text is None:
        text = _planned_text(vault, written)
        if text is None:
            return None
    if data is None:
        data = text.encode("utf-8")
    digest = content_digest(BOM.encode("utf-8") + data if bom else data)
    lines = None
    if relinked is not None:
        lines, rows = relinked
        titles = TitleIndex.of(rows)
    note = Note(path, text, bom, NOT_WRITTEN, "")
    scan = scan_or_report(note, front_matter, titles, lines)
    return None if scan.kind == OPAQUE_KIND else (path, digest, scan_to_row(scan))


def _planned_text(vault: Path, written: Written) -> str | None:
    """The text of a note that only gains links, as its write leaves it: the file as the
    plan read it with the links put in; the file itself once written (or changed by its
    user: its digest tells which)."""
    note = read_note(vault, written.path, max_bytes=sys.maxsize)
    if not isinstance(note, Note) or note.text is None:
        return None
    if note.state == written.expected:
        return with_insertions(note.text, written.insertions)
    return note.text


def _scan_written_chunk(
    vault: str, notes: Sequence[_Shipped], shipped: Shipped = None
) -> list[WrittenRow | None]:
    titles = _index_of(shipped)
    return [
        _scan_written(
            Path(vault),
            Written(path, None if data is None else data.decode("utf-8"), *rest),
            titles,
            data,
        )
        for path, data, *rest in notes
    ]
