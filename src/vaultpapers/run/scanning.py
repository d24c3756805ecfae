"""The scan step: every note's scan, kept from an earlier run while the file is unchanged,
else read now (in worker processes when there are many)."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from vaultpapers.config import Settings
from vaultpapers.markdown.titles import TitleIndex
from vaultpapers.model import Note, Problem, StatKey
from vaultpapers.run.incremental import WarmVault
from vaultpapers.run.titles import naming_titles, remember_titles
from vaultpapers.scan.catalog import Catalog
from vaultpapers.scan.note import (
    USER_KIND,
    NoteScan,
    ScanRow,
    scan_from_row,
    scan_or_report,
    scan_to_row,
)
from vaultpapers.scan.parallel import Workers, read_and_scan
from vaultpapers.vaultfs.files import ReadProblem, read_note
from vaultpapers.vaultfs.state import StateStore

log = logging.getLogger("vaultpapers")


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Decoding the scans kept of a whole vault makes a vault's worth of long-lived objects
    and no reference cycles: the garbage collector would walk each of them twice for nothing.
    Paused meanwhile, whichever thread asks; enabled again after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


RESCAN_BATCH = 2_000  # notes scanned again at once for titles learned in a run
FETCH_AHEAD_MIN = 2_000  # kept scans to decode: below this a helper process is no gain


def scan_vault(
    vault: Path,
    settings: Settings,
    state: StateStore,
    listing: Mapping[str, StatKey],
    *,
    save: bool = True,
    memory: WarmVault | None = None,
    in_step: Mapping[str, StatKey] | None = None,
    only: Collection[str] | None = None,
    workers: Workers | None = None,
    on_read: Callable[[list[NoteScan]], None] | None = None,
    titles: TitleIndex | None = None,
    titles_changed: tuple[TitleIndex, set[str]] | None = None,
) -> tuple[Catalog, dict[str, Note], dict[str, NoteScan | None], list[Problem]]:
    """Every note's scan: kept from an earlier run while the file is unchanged, else read now.

    Returns them as a catalog, with the notes read now (when the catalog holds their scans
    without text), and the notes that changed since then, each with its earlier scan (None if
    new). The kept scans are what the last real plan was based on, so a dry run does not
    `save`. `memory` holds a catalog already decoded (by a caller that runs again and again);
    when it is `in_step` with the state (the listing the last run left), the state's scans
    are not read, and if the caller knows the `only` paths that can have changed, no other
    note is even looked at. `on_read` is shown the notes read now before the kept scans
    are decoded, when there are enough of those to be worth a head start. `titles`: the
    paper titles looked for in the notes; `titles_changed`: the titles added and the papers
    whose title left since the kept scans were made (the notes naming those are read again).
    """
    if memory is not None and in_step is not None:
        if only is not None and save:
            return _rescanned(
                vault, settings, state, memory, listing, only, workers, titles, titles_changed
            )
        earlier = _earlier_in_memory(memory.catalog)
    else:
        earlier = _earlier_kept(vault, settings, state, memory, titles)
    # The notes that changed first, then what was kept of the others: `on_read` can start
    # on what the changed ones cite while the kept scans are decoded.
    to_read = _to_read(vault, settings, listing, earlier, titles_changed)
    read_now, fresh, problems = _read_and_scan(vault, settings, to_read, workers, titles)
    if on_read is not None and len(listing) - len(to_read) >= FETCH_AHEAD_MIN:
        on_read([scan for scan in read_now.values() if scan is not None])
    scans, changed, unreadable, gone = _kept_and_changed(listing, read_now, earlier)
    if unreadable:
        more, more_fresh, more_problems = _read_and_scan(
            vault, settings, unreadable, workers, titles
        )
        read_now.update(more)
        fresh.update(more_fresh)
        problems += more_problems
    scans += [scan for scan in read_now.values() if scan is not None]
    if save:
        state.save_scans(fresh, gone)
    if memory is None or not save:
        return Catalog(scans), {}, changed, problems  # their texts are in the scans
    _keep_warm(memory, scans, read_now, gone, problems, in_step=in_step is not None)
    return memory.catalog, _texts(read_now), changed, problems


class _Earlier(NamedTuple):
    """The scans the notes listed now are compared with: the paths they are of, the stat of
    the file each was made from, and the scan (None: there is none, or it is unreadable)."""

    paths: Collection[str]
    stat: Callable[[str], StatKey | None]
    scan: Callable[[str], NoteScan | None]


def _earlier_in_memory(catalog: Catalog) -> _Earlier:
    """The scans of a warm catalog in step with the state: the state's are not read."""

    def stat_before(path: str, /) -> StatKey | None:  # positional, as dict.get of _earlier_kept
        scan = catalog.get(path)
        return scan.note.stat if scan is not None else None

    return _Earlier(catalog.scan_at.keys(), stat_before, catalog.get)


def _earlier_kept(
    vault: Path,
    settings: Settings,
    state: StateStore,
    memory: WarmVault | None,
    titles: TitleIndex | None,
) -> _Earlier:
    """The scans kept in the state, each decoded only when asked for; a warm catalog out of
    step with the state still saves decoding the scans it holds of unchanged files."""
    kept = state.scans()
    kept_stats = {path: stat for path, (stat, _) in kept.items()}
    warm = memory.catalog.scan_at if memory is not None else {}

    def rescan(note: Note) -> NoteScan | None:
        return scan_again(vault, settings, note, titles)

    def earlier_of(path: str) -> NoteScan | None:
        scan = warm.get(path)
        if scan is not None and scan.note.stat == kept_stats.get(path):
            return scan
        return _decoded(path, kept.get(path), rescan)

    return _Earlier(kept.keys(), kept_stats.get, earlier_of)


def _to_read(
    vault: Path,
    settings: Settings,
    listing: Mapping[str, StatKey],
    earlier: _Earlier,
    titles_changed: tuple[TitleIndex, set[str]] | None,
) -> list[str]:
    """The notes whose file is not the one their earlier scan was made from (or that have
    none), then those that name a title added or gone since."""
    stat_before = earlier.stat
    to_read = [path for path, stat in listing.items() if stat_before(path) != stat]
    if titles_changed is not None:
        reading = set(to_read)
        others = [path for path in listing if path not in reading]
        to_read += sorted(naming_titles(vault, settings, others, earlier.scan, titles_changed))
    return to_read


def _kept_and_changed(
    listing: Mapping[str, StatKey],
    read_now: Mapping[str, NoteScan | None],
    earlier: _Earlier,
) -> tuple[list[NoteScan], dict[str, NoteScan | None], list[str], set[str]]:
    """The earlier scans kept of the notes not read now; the notes that changed, each with
    its earlier scan (None: new); the notes to read as well, their kept scan unreadable; and
    the notes gone since."""
    earlier_of = earlier.scan
    scans: list[NoteScan] = []
    changed: dict[str, NoteScan | None] = {}
    unreadable: list[str] = []
    for relative in listing:
        before = earlier_of(relative)
        if relative in read_now:
            changed[relative] = before
        elif before is not None:
            scans.append(before)
        else:
            unreadable.append(relative)
            changed[relative] = None
    gone = set(earlier.paths) - listing.keys()
    for relative in gone:
        changed[relative] = earlier_of(relative)
    return scans, changed, unreadable, gone


def _keep_warm(
    memory: WarmVault,
    scans: list[NoteScan],
    read_now: Mapping[str, NoteScan | None],
    gone: Iterable[str],
    problems: list[Problem],
    *,
    in_step: bool,
) -> None:
    """The warm catalog made (or, `in_step`, brought up to date) from this scan."""
    if in_step:
        _update(memory.catalog, read_now, gone)
    else:
        # Without their text: a vault's worth of notes would otherwise stay in memory.
        memory.catalog = Catalog(
            scan if scan.note.text is None else _without_text(scan) for scan in scans
        )
    memory.unreadable = {problem.path: problem for problem in problems}


def _rescanned(
    vault: Path,
    settings: Settings,
    state: StateStore,
    memory: WarmVault,
    listing: Mapping[str, StatKey],
    only: Collection[str],
    workers: Workers | None = None,
    titles: TitleIndex | None = None,
    titles_changed: tuple[TitleIndex, set[str]] | None = None,
) -> tuple[Catalog, dict[str, Note], dict[str, NoteScan | None], list[Problem]]:
    """`scan_vault` for a warm catalog in step with the listing but for the `only` paths
    (and the notes that name a title added or gone). A note that could not be read stays
    reported until it changes."""
    catalog = memory.catalog
    others = [path for path in catalog.scan_at if path not in only]
    stale = naming_titles(vault, settings, others, catalog.get, titles_changed)
    changed: dict[str, NoteScan | None] = {}
    to_read: list[str] = []
    gone: list[str] = []
    for relative in [*only, *stale]:
        memory.unreadable.pop(relative, None)
        earlier = catalog.get(relative)
        stat = listing.get(relative)
        if stat is None:
            if earlier is not None:
                gone.append(relative)
                changed[relative] = earlier
        elif earlier is None or earlier.note.stat != stat or relative in stale:
            to_read.append(relative)
            changed[relative] = earlier
    read_now, fresh, problems = _read_and_scan(vault, settings, to_read, workers, titles)
    state.save_scans(fresh, gone)
    _update(catalog, read_now, gone)
    memory.unreadable.update((problem.path, problem) for problem in problems)
    problems = [memory.unreadable[path] for path in sorted(memory.unreadable)]
    return catalog, _texts(read_now), changed, problems


def _read_and_scan(
    vault: Path,
    settings: Settings,
    paths: list[str],
    workers: Workers | None = None,
    titles: TitleIndex | None = None,
    untitled: Mapping[str, ScanRow] | None = None,
) -> tuple[dict[str, NoteScan | None], dict[str, tuple[StatKey, ScanRow]], list[Problem]]:
    """Each note read and scanned (None: unreadable), the scans to keep, and the problems."""
    read_now: dict[str, NoteScan | None] = dict.fromkeys(paths)
    fresh: dict[str, tuple[StatKey, ScanRow]] = {}
    problems: list[Problem] = []
    scanned_all = read_and_scan(
        vault,
        paths,
        max_bytes=settings.max_note_bytes,
        workers=workers,
        titles=titles,
        untitled=untitled,
    )
    for scanned, kept_row in scanned_all:
        if isinstance(scanned, ReadProblem):
            problems.append(Problem(scanned.path, None, scanned.message, scanned.code))
            continue
        read_now[scanned.note.path] = scanned
        if kept_row is not None:
            fresh[scanned.note.path] = (scanned.note.stat, kept_row)
    return read_now, fresh, problems


def rescan_for_titles(
    vault: Path,
    settings: Settings,
    state: StateStore,
    titles: TitleIndex,
    stale: set[str],
    catalog: Catalog,
    read: dict[str, Note],
    edited: dict[str, NoteScan | None],
    workers: Workers,
    warm: WarmVault | None,
    *,
    save: bool,
) -> None:
    """The `stale` notes scanned again against `titles`, in the catalog and the state."""
    for path in stale:
        edited.setdefault(path, catalog.get(path))
    ordered = sorted(stale)
    # In batches: a first run scans most of the vault again here, and a vault's worth of
    # new scans and their rows at once, beside the scans they replace, is memory wasted.
    for start in range(0, len(ordered), RESCAN_BATCH):
        batch = ordered[start : start + RESCAN_BATCH]
        # A note scanned in this run before any title was known gets the titles added to that
        # scan, while it is unchanged: a first run does not scan its whole vault twice.
        untitled = {
            path: scan_to_row(scan)
            for path in batch
            if (scan := catalog.get(path)) is not None
            and scan.kind == USER_KIND
            and scan.words is None
        }
        read_now, fresh, _ = _read_and_scan(vault, settings, batch, workers, titles, untitled)
        if save:
            state.save_scans(fresh, ())
        if warm is not None:
            _update(catalog, read_now, ())
            read.update(_texts(read_now))
        else:
            # Without their text, as a warm catalog keeps them: planning reads again the few
            # it writes to, and a vault's worth of texts is not held meanwhile.
            for scan in read_now.values():
                if scan is not None:
                    catalog.put(_without_text(scan))
    remember_titles(state, titles)


def _update(catalog: Catalog, read_now: Mapping[str, NoteScan | None], gone: Iterable[str]) -> None:
    """A warm catalog brought up to date: the notes read now in (without their text), the
    unreadable and the `gone` ones out."""
    for relative in gone:
        catalog.discard(relative)
    for relative, scan in read_now.items():
        if scan is None:
            catalog.discard(relative)
        else:
            catalog.put(_without_text(scan))


def _texts(read_now: Mapping[str, NoteScan | None]) -> dict[str, Note]:
    return {scan.note.path: scan.note for scan in read_now.values() if scan is not None}


def _without_text(scan: NoteScan) -> NoteScan:
    if scan.note.text is None:
        # As the workers send it back: copying it would decode its body for nothing (the
        # copy reads every field), a whole vault's in a first run's title pass.
        return scan
    return replace(scan, note=replace(scan.note, text=None))


def _decoded(
    path: str, kept: tuple[StatKey, ScanRow] | None, rescan: Callable[[Note], NoteScan | None]
) -> NoteScan | None:
    """A kept scan, or None if there is none or it cannot be read (then the note is read)."""
    if kept is None:
        return None
    try:
        return scan_from_row(path, *kept, rescan)
    except (ValueError, TypeError, KeyError) as exc:
        log.debug("kept scan of %s unreadable (%s); reading the note", path, exc)
        return None


def scan_again(
    vault: Path, settings: Settings, note: Note, titles: TitleIndex | None = None
) -> NoteScan | None:
    """The note scanned anew, provided it is still the file its kept scan was made from."""
    current = read_note(vault, note.path, max_bytes=settings.max_note_bytes)
    if isinstance(current, Note) and current.state == note.state:
        return scan_or_report(current, titles=titles)
    return None


@dataclass(frozen=True)
class Scanned:
    """What the scan step gives the rest of a run: every note's scan, the notes read now (their
    scans are kept without text), the notes that changed with their earlier scans (None: new),
    and the notes that could not be read."""

    catalog: Catalog
    read: dict[str, Note]
    edited: dict[str, NoteScan | None]
    problems: list[Problem]


@dataclass(frozen=True)
class CurrentText:
    """A note's text for the planner, provided the file is still exactly what was scanned:
    from the notes read earlier in this run, else read again (a scan kept from an earlier run
    has no text). The planner asks only for the notes it changes."""

    vault: Path
    settings: Settings
    read: Mapping[str, Note]

    def __call__(self, note: Note) -> Note | None:
        earlier = self.read.get(note.path)
        if earlier is not None and earlier.state == note.state:
            return earlier
        current = read_note(self.vault, note.path, max_bytes=self.settings.max_note_bytes)
        if isinstance(current, Note) and current.state == note.state:
            return current
        return None
