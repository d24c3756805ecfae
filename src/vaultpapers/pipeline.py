"""One run over a vault: scan -> resolve -> plan -> write. `link` and `watch` both use it."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING

from . import __version__
from .cache import DecodedPapers, PaperCache
from .catalog import Catalog
from .config import STATE_DIR, Settings
from .ids import parse_arxiv_id
from .metadata import NOT_FOUND_MAX_AGE, resolve
from .notes import section_text
from .papers import Paper, Resolution
from .parallel import Workers, Written, read_and_scan, scan_written
from .planner import Plan, plan_link
from .properties import find_front_matter
from .relations import (
    GaveWay,
    RelatedPapers,
    RelationMemo,
    explain,
    memo_from_json,
    memo_to_json,
    relate_remembering,
    related_from_json,
    related_to_json,
)
from .scan import (
    SCAN_FORMAT,
    NoteScan,
    Problem,
    scan_from_json,
    scan_or_report,
)
from .state import StateStore, StatKey, stat_key
from .vault import Note, ReadProblem, is_excluded, markdown_files, read_note, read_vault
from .writer import Outcome, VaultWriter, Write, WriteResult

if TYPE_CHECKING:
    from .arxiv_source import ArxivSource, FetchResult

log = logging.getLogger("vaultpapers")

CACHE_FILE = "cache.sqlite"
STATE_FILE = "state.sqlite"
Progress = Callable[[int, int], None]


@dataclass
class RunReport:
    notes: int = 0
    papers: int = 0
    links_inserted: int = 0
    pending: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    planned: list[Write] = field(default_factory=list)
    results: list[WriteResult] = field(default_factory=list)
    requests: int = 0
    dry_run: bool = False
    cancelled: bool = False  # stopped between writes; the rest is left for the next run
    relations_stale: bool = False  # related papers or index notes left to a follow-up run

    def written(self, kind: str, *, new: bool | None = None) -> int:
        """How many files of `kind` were written (`new`: created, or changed in place)."""
        return sum(
            1
            for r in self.results
            if r.outcome is Outcome.WRITTEN
            and r.write.kind == kind
            and not r.write.delete
            and (new is None or (r.write.expected is None and r.write.replaces is None) == new)
        )

    @property
    def removed(self) -> int:
        return sum(1 for r in self.results if r.outcome is Outcome.WRITTEN and r.write.delete)

    @property
    def conflicts(self) -> list[WriteResult]:
        return [r for r in self.results if r.outcome in (Outcome.CONFLICT, Outcome.FAILED)]

    @property
    def complete(self) -> bool:
        """True when a rerun would have nothing left to do."""
        return (
            not self.pending
            and not self.conflicts
            and not self.cancelled
            and not self.relations_stale
        )


@dataclass(slots=True)  # a misspelt field is an error, not a new attribute
class WarmVault:
    """What a long-lived caller (the watcher) keeps between runs, so that a run costs what
    changed rather than what the vault holds: every note's scan (without its text) and the
    vault's listing as the last run left them, in step with the state. `listing` is None
    until a run completes (or after one failed): then the next run lists the folder and reads
    the state."""

    catalog: Catalog = field(default_factory=Catalog)
    listing: dict[str, StatKey] | None = None
    outputs: dict[str, tuple[StatKey, str]] = field(default_factory=dict)  # as in the state
    set_aside: list[Problem] = field(default_factory=list)  # found by the last full listing
    unreadable: dict[str, Problem] = field(default_factory=dict)  # path -> why, till it changes
    papers: DecodedPapers = field(default_factory=DecodedPapers)  # from the cache, decoded once
    relations: KnownRelations | None = None  # the last answer of `relate`, as in the state
    relation_memo: RelationMemo | None = None  # what `relate` found in each text, to reuse


@dataclass(frozen=True, slots=True)
class KnownRelations:
    """An answer of `relate`, with its identity in the state and, when it was worked out in
    this process, the papers it was worked out from (key -> version)."""

    identity: str
    related: RelatedPapers
    versions: Mapping[str, int | None] | None = None


def cache_path(vault: Path) -> Path:
    return vault / STATE_DIR / CACHE_FILE


def open_cache(vault: Path) -> PaperCache:
    path = cache_path(vault)
    path.parent.mkdir(exist_ok=True)
    return PaperCache(path)


def make_source(
    settings: Settings, cache: PaperCache, *, sleep: Callable[[float], None] = time.sleep
) -> ArxivSource:
    """`sleep` is where pacing and backoff wait: the watcher passes one that wakes on stop."""
    from .arxiv_source import ArxivSource  # the HTTP and XML stack, only once it is needed

    arxiv = settings.arxiv
    return ArxivSource(
        arxiv.api_url,
        delay=arxiv.delay,
        timeout=arxiv.timeout,
        batch_size=arxiv.batch_size,
        max_retries=arxiv.max_retries,
        cache=cache,
        sleep=sleep,
    )


class _Phases:
    """Wall time of each step of a run, logged at debug level (`-vv`): where a run's time goes
    on a user's vault, without a profiler."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.times: list[tuple[str, float]] = []

    def done(self, phase: str) -> None:
        now = time.perf_counter()
        self.times.append((phase, now - self.last))
        self.last = now

    def log(self) -> None:
        steps = ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in self.times)
        log.debug("run took %.2f s: %s", time.perf_counter() - self.started, steps)


def run_link(
    vault: Path,
    settings: Settings,
    *,
    offline: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    defer_links_in: Collection[str] = (),
    defer_papers: Collection[str] = (),
    cancel: threading.Event | None = None,
    memory: WarmVault | None = None,
    changed: Collection[str] | None = None,
    defer_relations: bool = False,
    yield_to: threading.Event | None = None,
    defer_uncached: bool = False,
) -> RunReport:
    """Bring the whole vault up to date.

    The watcher passes `defer_links_in` (notes the user is still editing: no links inserted
    yet) and `defer_papers` (papers whose metadata it is fetching: no stub note yet).
    Setting `cancel` stops the run between two writes; every file written is complete.
    A long-lived caller keeps the vault warm in `memory` between runs; it may then name the
    only notes that can have `changed` since the last run (it watches the folder), and the
    folder is not listed again. It may also `defer_relations`: a new paper's related papers
    (and the index notes) then come in a later run, and the report says so
    (`relations_stale`). Setting `yield_to` while the run plans does the same for what is not
    worked out yet: the watcher sets it when the user saves again. `defer_uncached` defers
    every paper without cached metadata, as `defer_papers` does, and reports them pending: a
    caller that fetches them itself (the watcher, starting) learns which to fetch.
    """
    phases = _Phases()
    warm = memory if memory is not None and not dry_run else None
    known = warm.listing if warm is not None else None
    if warm is not None:
        warm.listing = None  # until this run completes: a failed run leaves nothing half-known
    with open_state(vault) as state, Workers() as workers:
        if warm is not None and known is not None and changed is not None:
            listing = _relisted(vault, settings, known, changed)
            set_aside = list(warm.set_aside)
        else:
            aside: list[tuple[str, str]] = []
            listing = dict(markdown_files(vault, settings, aside))
            set_aside = _set_aside(vault, aside, remove_temps=not dry_run)
            if warm is not None:
                warm.set_aside = list(set_aside)
        phases.done("list")
        as_known = warm is not None and listing == known
        # Stat keys hold the ctime, which only moves forward: a listing unlike the last run's
        # cannot be the one of an earlier complete run, and needs no snapshot to tell.
        moved_on = known is not None and changed is not None and not as_known
        unchanged = None if moved_on else _unchanged_since_complete_run(state, settings, listing)
        if unchanged is not None and not dry_run:
            if warm is not None and as_known:
                warm.listing = known
            return unchanged
        catalog, read, edited, read_problems = scan_vault(
            vault,
            settings,
            state,
            listing,
            save=not dry_run,
            memory=warm,
            in_step=known,
            only=changed if known is not None else None,
            workers=workers,
        )
        phases.done("scan")
        report = RunReport(notes=len(catalog), dry_run=dry_run)
        report.problems.extend(set_aside + read_problems)
        with open_cache(vault) as cache:
            keys = catalog.citations.keys() | catalog.paper_notes.keys()
            source = None if offline else _SourceOnDemand(settings, cache)
            decoded = warm.papers if warm is not None else None
            resolution = resolve(sorted(keys), cache, source, progress=progress, known=decoded)
        phases.done("resolve")
        uncached = dict(resolution.pending) if defer_uncached else {}
        if uncached:
            defer_papers = {*defer_papers, *uncached}
        previous_outputs = (
            warm.outputs if warm is not None and known is not None else state.outputs()
        )
        if warm is not None:
            warm.outputs = previous_outputs  # `_remember` keeps it in step with the state
        basis = state.get("basis")
        dirty = None
        if isinstance(basis, dict) and basis.get("settings") == _settings_digest(settings):
            dirty = dict(edited)
            for path in basis.get("owed", []):
                dirty.setdefault(path, catalog.get(path))
        remembered = _RememberedRelations(
            state, save=not dry_run, defer=defer_relations, yield_to=yield_to, memory=warm
        )
        plan = plan_link(
            catalog,
            resolution,
            settings,
            defer_links_in=defer_links_in,
            defer_papers=defer_papers,
            load=lambda note: _reread(vault, note, settings, read),
            outputs=previous_outputs,
            relations=remembered,
            dirty=dirty,
            previous_related=remembered.previous,
            defer_indexes=defer_relations,
            owed_indexes=_owed_indexes(basis) if dirty is not None else (),
            yield_to=yield_to,
        )
        phases.done("plan")
        report.requests = resolution.requests
        report.relations_stale = remembered.stale or plan.indexes_deferred
        report.problems.extend(plan.problems)
        report.papers = len(plan.cited)
        report.links_inserted = plan.links_inserted
        report.pending = {**uncached, **plan.pending}
        report.planned = plan.writes
        if dry_run:
            return report
        report.results = _apply(VaultWriter(vault), plan.writes, cancel)
        phases.done("write")
        report.cancelled = len(report.results) < len(plan.writes)
        for result in report.results:
            if result.outcome in (Outcome.CONFLICT, Outcome.FAILED):
                log.warning("%s: not written: %s", result.write.path, result.message)
        written = _remember(
            state, vault, plan, report.results, previous_outputs, warm, workers=workers
        )
        phases.done("remember")
        unfinished = {
            r.write.path for r in report.results if r.outcome in (Outcome.CONFLICT, Outcome.FAILED)
        }
        if report.cancelled:
            unfinished |= {w.path for w in plan.writes} | {
                w.replaces for w in plan.writes if w.replaces
            }
        owed = set(defer_links_in) | plan.skipped | {p for p in unfinished if p}
        state.put(
            "basis",
            {
                "settings": _settings_digest(settings),
                "owed": sorted(owed),
                "indexes_owed": (
                    True
                    if plan.deferred_indexes is None
                    else sorted([kind, name] for kind, name in plan.deferred_indexes)
                ),
            },
        )
        after = listing  # as this run leaves the vault
        for path, stat in written.items():
            if stat is None:
                after.pop(path, None)
            else:
                after[path] = stat
        if report.complete and not defer_links_in and not defer_papers:
            _remember_complete_run(state, settings, after, report, resolution)
        if warm is not None:
            warm.listing = after
    phases.done("commit")
    phases.log()
    return report


def _apply(
    writer: VaultWriter, writes: list[Write], cancel: threading.Event | None
) -> list[WriteResult]:
    """Every write, in two batches: paper notes first, then the rest. `cancel` stops the
    ones not started yet (left out of the results); a write that links to a paper note which
    could not be written is held back, as a conflict."""
    if not writes:
        return []
    # Paper notes first: a note must not gain a link to a paper note that could not be made.
    papers = [w for w in writes if w.kind == "paper"]
    others = [w for w in writes if w.kind != "paper"]
    results = writer.apply_many(papers, cancel=cancel)
    missing = [
        f"[[{r.write.path.rsplit('/', 1)[-1].removesuffix('.md')}".casefold()
        for r in results
        if r.outcome in (Outcome.CONFLICT, Outcome.FAILED)
    ]
    held = [w for w in others if any(m in w.text.casefold() for m in missing)]
    held_ids = {id(w) for w in held}
    kept = [w for w in others if id(w) not in held_ids]
    results += writer.apply_many(kept, cancel=cancel)
    writer.sync_folders()
    results += [
        WriteResult(w, Outcome.CONFLICT, "held back: it links to a paper note not written")
        for w in held
    ]
    return results


TEMP_MAX_AGE = 3600  # seconds; a younger temp file may belong to a run going on right now


def _set_aside(vault: Path, aside: list[tuple[str, str]], *, remove_temps: bool) -> list[Problem]:
    """Symlinks skipped, as problems; our own stale temp files (a killed run's), removed."""
    problems = []
    for path, why in aside:
        if why == "symlink":
            message = "skipped: a symbolic link (never followed, it could lead out of the vault)"
            problems.append(Problem(path, None, message))
        elif why == "temp" and remove_temps:
            with contextlib.suppress(OSError):
                if time.time() - os.stat(vault / path).st_mtime > TEMP_MAX_AGE:
                    os.unlink(vault / path)
                    log.info("%s: removed a temp file a stopped run left behind", path)
    return problems


def _snapshot(settings: Settings, listing: Mapping[str, StatKey]) -> str:
    pairs = sorted(listing.items())
    return hashlib.blake2b(repr((settings.for_notes, pairs)).encode(), digest_size=16).hexdigest()


def _unchanged_since_complete_run(
    state: StateStore, settings: Settings, listing: Mapping[str, StatKey]
) -> RunReport | None:
    """The last run's report, if it left nothing to do and not one note changed since:
    then this run has nothing to do either, and needs not even look at the notes."""
    saved = state.get("complete_run")
    if not isinstance(saved, dict) or saved.get("snapshot") != _snapshot(settings, listing):
        return None
    if time.time() >= saved.get("recheck_after", 0):
        return None  # arXiv said "no such paper" long enough ago to ask again
    report = RunReport(notes=len(listing), papers=saved.get("papers", 0))
    report.problems = [Problem(path, line, message) for path, line, message in saved["problems"]]
    return report


def _remember_complete_run(
    state: StateStore,
    settings: Settings,
    listing: Mapping[str, StatKey],
    report: RunReport,
    resolution: Resolution,
) -> None:
    recheck = NOT_FOUND_MAX_AGE if resolution.not_found else timedelta(days=365)
    state.put(
        "complete_run",
        {
            "snapshot": _snapshot(settings, listing),
            "recheck_after": time.time() + recheck.total_seconds(),
            "papers": report.papers,
            "problems": [[p.path, p.line, p.message] for p in report.problems],
        },
    )


class _SourceOnDemand:
    """The arXiv source, built on the first fetch: most runs have nothing to fetch."""

    def __init__(self, settings: Settings, cache: PaperCache) -> None:
        self.settings = settings
        self.cache = cache

    def fetch(
        self, keys: Iterable[str], *, progress: Callable[[int, int], None] | None = None
    ) -> FetchResult:
        return make_source(self.settings, self.cache).fetch(keys, progress=progress)


def open_state(vault: Path) -> StateStore:
    path = vault / STATE_DIR / STATE_FILE
    path.parent.mkdir(exist_ok=True)
    return StateStore(path, f"{__version__}/scan-{SCAN_FORMAT}")


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
) -> tuple[Catalog, dict[str, Note], dict[str, NoteScan | None], list[Problem]]:
    """Every note's scan: kept from an earlier run while the file is unchanged, else read now.

    Returns them as a catalog, with the notes read now (when the catalog holds their scans
    without text), and the notes that changed since then, each with its earlier scan (None if
    new). The kept scans are what the last real plan was based on, so a dry run does not
    `save`. `memory` holds a catalog already decoded (by a caller that runs again and again);
    when it is `in_step` with the state (the listing the last run left), the state's scans
    are not read, and if the caller knows the `only` paths that can have changed, no other
    note is even looked at.
    """
    if memory is not None and in_step is not None:
        if only is not None and save:
            return _rescanned(vault, settings, state, memory, listing, only, workers)
        kept_paths: Collection[str] = memory.catalog.scan_at.keys()
        earlier_of: Callable[[str], NoteScan | None] = memory.catalog.get
    else:
        kept = state.scans()
        kept_paths = kept.keys()
        kept_stats = {path: stat for path, (stat, _) in kept.items()}
        warm = memory.catalog.scan_at if memory is not None else {}

        def earlier_of(path: str) -> NoteScan | None:
            scan = warm.get(path)
            if scan is not None and scan.note.stat == kept_stats.get(path):
                return scan
            return _decoded(path, kept.get(path))

    scans: list[NoteScan] = []
    listed: set[str] = set()
    changed: dict[str, NoteScan | None] = {}
    to_read: list[str] = []
    for relative, stat in listing.items():
        listed.add(relative)
        earlier = earlier_of(relative)
        if earlier is not None and earlier.note.stat == stat:
            scans.append(earlier)
            continue
        to_read.append(relative)
        changed[relative] = earlier
    read_now, fresh, problems = _read_and_scan(vault, settings, to_read, workers)
    scans += [scan for scan in read_now.values() if scan is not None]
    gone = set(kept_paths) - listed
    for relative in gone:
        changed[relative] = earlier_of(relative)
    if save:
        state.save_scans(fresh, gone)
    if memory is None or not save:
        return Catalog(scans), {}, changed, problems  # their texts are in the scans
    if in_step is None:
        # Without their text: a vault's worth of notes would otherwise stay in memory.
        memory.catalog = Catalog(
            scan if scan.note.text is None else _without_text(scan) for scan in scans
        )
    else:
        _update(memory.catalog, read_now, gone)
    memory.unreadable = {problem.path: problem for problem in problems}
    return memory.catalog, _texts(read_now), changed, problems


def _rescanned(
    vault: Path,
    settings: Settings,
    state: StateStore,
    memory: WarmVault,
    listing: Mapping[str, StatKey],
    only: Collection[str],
    workers: Workers | None = None,
) -> tuple[Catalog, dict[str, Note], dict[str, NoteScan | None], list[Problem]]:
    """`scan_vault` for a warm catalog in step with the listing but for the `only` paths.
    A note that could not be read stays reported until it changes."""
    catalog = memory.catalog
    changed: dict[str, NoteScan | None] = {}
    to_read: list[str] = []
    gone: list[str] = []
    for relative in only:
        memory.unreadable.pop(relative, None)
        earlier = catalog.get(relative)
        stat = listing.get(relative)
        if stat is None:
            if earlier is not None:
                gone.append(relative)
                changed[relative] = earlier
        elif earlier is None or earlier.note.stat != stat:
            to_read.append(relative)
            changed[relative] = earlier
    read_now, fresh, problems = _read_and_scan(vault, settings, to_read, workers)
    state.save_scans(fresh, gone)
    _update(catalog, read_now, gone)
    memory.unreadable.update((problem.path, problem) for problem in problems)
    problems = [memory.unreadable[path] for path in sorted(memory.unreadable)]
    return catalog, _texts(read_now), changed, problems


def _read_and_scan(
    vault: Path, settings: Settings, paths: list[str], workers: Workers | None = None
) -> tuple[dict[str, NoteScan | None], dict[str, tuple[StatKey, str]], list[Problem]]:
    """Each note read and scanned (None: unreadable), the scans to keep, and the problems."""
    read_now: dict[str, NoteScan | None] = dict.fromkeys(paths)
    fresh: dict[str, tuple[StatKey, str]] = {}
    problems: list[Problem] = []
    scanned_all = read_and_scan(vault, paths, max_bytes=settings.max_note_bytes, workers=workers)
    for scanned, kept_json in scanned_all:
        if isinstance(scanned, ReadProblem):
            problems.append(Problem(scanned.path, None, scanned.message))
            continue
        read_now[scanned.note.path] = scanned
        if kept_json is not None:
            fresh[scanned.note.path] = (scanned.note.stat, kept_json)
    return read_now, fresh, problems


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
    return replace(scan, note=replace(scan.note, text=None))


def _relisted(
    vault: Path, settings: Settings, known: Mapping[str, StatKey], changed: Collection[str]
) -> dict[str, StatKey]:
    """The listing the last run left, with the `changed` paths looked at again."""
    listing = dict(known)
    for relative in changed:
        listing.pop(relative, None)
        parts = relative.split("/")
        if not relative.endswith(".md") or any(part.startswith(".") for part in parts):
            continue
        if is_excluded(relative, settings.exclude):
            continue
        try:
            stat = os.lstat(vault / relative)
        except OSError:
            continue
        if S_ISREG(stat.st_mode):
            listing[relative] = stat_key(stat)
    return listing


def _decoded(path: str, kept: tuple[StatKey, str] | None) -> NoteScan | None:
    """A kept scan, or None if there is none or it cannot be read (then the note is read)."""
    if kept is None:
        return None
    try:
        return scan_from_json(path, *kept)
    except (ValueError, TypeError, KeyError) as exc:
        log.debug("kept scan of %s unreadable (%s); reading the note", path, exc)
        return None


def _reread(vault: Path, note: Note, settings: Settings, read: Mapping[str, Note]) -> Note | None:
    """The note's text, provided the file is still exactly what was scanned (`read`: notes
    read earlier in this run, whose scans are kept without their text)."""
    earlier = read.get(note.path)
    if earlier is not None and earlier.state == note.state:
        return earlier
    current = read_note(vault, note.path, max_bytes=settings.max_note_bytes)
    if isinstance(current, Note) and current.state == note.state:
        return current
    return None


def _remember(
    state: StateStore,
    vault: Path,
    plan: Plan,
    results: list[WriteResult],
    previous: dict[str, tuple[StatKey, str]],
    memory: WarmVault | None = None,
    *,
    workers: Workers | None = None,
) -> dict[str, StatKey | None]:
    """Record what this run left behind, so the next run need not look at it again: the
    generated notes it verified or wrote, and fresh scans of every file it wrote. Returns the
    stat of each file written (None: removed)."""
    stats: dict[str, StatKey | None] = {}
    outputs: dict[str, tuple[StatKey, str]] = {}
    scans: dict[str, tuple[StatKey, str]] = {}
    gone: list[str] = []
    to_scan: list[Written] = []
    written = {r.write.path: r for r in results}
    for path, (stat, inputs) in plan.outputs.items():
        if stat is not None:
            outputs[path] = (stat, inputs)
        elif path in written and written[path].outcome in (Outcome.WRITTEN, Outcome.UNCHANGED):
            outputs[path] = ("", inputs)  # filled in below with the stat as written
    for result in results:
        write = result.write
        if result.outcome is not Outcome.WRITTEN:
            continue
        if write.delete or write.replaces:
            gone.append(write.replaces or write.path)
            stats[write.replaces or write.path] = None
        if write.delete:
            continue
        try:
            stat = stat_key(os.stat(vault / write.path))
        except OSError:
            outputs.pop(write.path, None)
            continue
        if result.state is None:
            continue
        stats[write.path] = stat
        if write.path in outputs:
            outputs[write.path] = (stat, outputs[write.path][1])
        # What we wrote is what is there (the writer checked), so scan that, not a re-read.
        front_matter = plan.front_matter.get(write.path)
        to_scan.append((write.path, write.text, write.bom, result.state, stat, front_matter))
    for row in scan_written(to_scan, workers):
        if row is None:
            continue
        path, stat, kept_json = row
        scans[path] = (stat, kept_json)
        if memory is not None:
            memory.catalog.put(scan_from_json(path, stat, kept_json))
    if memory is not None:
        for path in gone:
            memory.catalog.discard(path)
    changed = {path: v for path, v in outputs.items() if v[0] and previous.get(path) != v}
    state.save_outputs(changed, gone)
    if memory is not None:
        memory.outputs.update(changed)
        for path in gone:
            memory.outputs.pop(path, None)
    state.save_scans(scans, gone)
    return stats


RELATIONS_IDENTITY = "relations_identity"  # beside the answer: read without decoding it


class _RememberedRelations:
    """`relate`, answered from the state when the set of papers is the one it last saw, and
    otherwise worked out again reading only the texts that can have changed (the memo of
    `relate_remembering`); `previous` is the last answer, so a plan can see which papers'
    relations changed.

    Relations depend only on the papers' titles and abstracts, which never change for a given
    version, so the set of (id, version) pairs identifies the answer. A dry run does not `save`:
    the remembered answer is the one the last real plan used. A long-lived caller keeps the
    answer and the memo decoded in `memory`.
    """

    def __init__(
        self,
        state: StateStore,
        *,
        save: bool = True,
        defer: bool = False,
        yield_to: threading.Event | None = None,
        memory: WarmVault | None = None,
    ) -> None:
        self.state = state
        self.save = save
        self.defer = defer
        self.yield_to = yield_to
        self.memory = memory
        self.stale = False
        self.known = self._known()
        self.previous = self.known.related if self.known is not None else None

    def _known(self) -> KnownRelations | None:
        kept = self.memory.relations if self.memory is not None else None
        if kept is not None and self.state.get(RELATIONS_IDENTITY) == kept.identity:
            return kept
        saved = self.state.get("relations")
        try:
            known = KnownRelations(saved["identity"], related_from_json(saved["related"]))
        except (KeyError, TypeError, ValueError):
            return None
        if self.memory is not None:
            self.memory.relations = known
        return known

    def __call__(self, papers: Iterable[Paper]) -> RelatedPapers:
        papers = list(papers)
        versions = {paper.arxiv_id: paper.version for paper in papers}
        known = self.known
        if known is not None and known.versions == versions:
            return known.related
        identity = hashlib.blake2b(repr(sorted(versions.items())).encode(), digest_size=16)
        identity = identity.hexdigest()
        if known is not None and known.identity == identity:
            if self.memory is not None:  # the next call can tell from the versions alone
                self.memory.relations = KnownRelations(identity, known.related, versions)
            return known.related
        if known is not None and (self.defer or self._user_editing()):
            return self._earlier(known, versions)
        memo = self.memory.relation_memo if self.memory is not None else None
        try:
            # Without an earlier answer there is nothing to give way with.
            stop = self._user_editing if known is not None else None
            related, memo = relate_remembering(papers, memo or self._memo(), stop)
        except GaveWay:
            assert known is not None
            return self._earlier(known, versions)
        if self.save:
            self.state.put("relations", {"identity": identity, "related": related_to_json(related)})
            self.state.put(RELATIONS_IDENTITY, identity)
            if not self._user_editing():  # a cache: the one saved before still serves
                self.state.put("relation_findings", memo_to_json(memo))
        if self.memory is not None:
            self.memory.relations = KnownRelations(identity, related, versions)
            self.memory.relation_memo = memo
        return related

    def _user_editing(self) -> bool:
        return self.yield_to is not None and self.yield_to.is_set()

    def _earlier(self, known: KnownRelations, versions: Mapping[str, int | None]) -> RelatedPapers:
        """The earlier answer, without the papers no longer in the library: stale."""
        self.stale = True
        if known.versions is not None and known.versions.keys() <= versions.keys():
            return known.related  # no paper left: the earlier answer, as it was
        return _restricted(known.related, set(versions))

    def _memo(self) -> RelationMemo | None:
        """Kept apart from the answer: it is only read when the library changed."""
        saved = self.state.get("relation_findings")
        if not isinstance(saved, dict):
            return None
        try:
            return memo_from_json(saved)
        except (KeyError, TypeError, ValueError, AttributeError):
            log.debug("remembered relation findings unreadable; reading every abstract")
            return None


def _restricted(related: RelatedPapers, keys: set[str]) -> RelatedPapers:
    """An earlier answer of `relate`, without the papers no longer in the library."""
    series = []
    for item in related.series:
        kept = [i for i, member in enumerate(item.members) if member in keys]
        if len(kept) >= 2:
            series.append(
                replace(
                    item,
                    members=tuple(item.members[i] for i in kept),
                    names=tuple(item.names[i] for i in kept),
                    evidence=tuple(item.evidence[i] for i in kept),
                )
            )
    relations = tuple(r for r in related.relations if r.source in keys and r.target in keys)
    return RelatedPapers({}, tuple(series), relations, dict(related.set_aside))


def _owed_indexes(basis: dict) -> list[tuple[str, str]] | None:
    """The index notes an earlier run left to this one (None: all of them)."""
    owed = basis.get("indexes_owed")
    if owed is True:
        return None
    return [(kind, name) for kind, name in owed] if isinstance(owed, list) else []


def _settings_digest(settings: Settings) -> str:
    return hashlib.blake2b(settings.for_notes.encode(), digest_size=16).hexdigest()


def explain_related(vault: Path, settings: Settings, arxiv_id: str) -> list[str]:
    """Why a paper is related to others in this vault: its name, its series, each detected
    relation with its reason, and what the user added or vetoed. Offline, writes nothing.

    Raises InvalidArxivId for a malformed id and LookupError for a paper without metadata.
    """
    key = parse_arxiv_id(arxiv_id).key
    notes, _ = read_vault(vault, settings)
    scans = [scan_or_report(note) for note in notes]
    keys = {scan.paper_key for scan in scans if scan.paper_key} | {key}
    with open_cache(vault) as cache:
        papers = cache.get_many(keys)
    if key not in papers:
        raise LookupError(f"no metadata for arXiv {key} yet; run `vaultpapers link` first")
    lines = explain(key, [paper for k, paper in papers.items() if k in keys])
    plan = plan_link(scans, Resolution(papers), settings)
    text = _text_after(plan, scans, key)
    section = section_text(text, "related") if text else None
    own = [ln[2:] for ln in (section or "").splitlines() if ln.startswith("- ") and "you " in ln]
    lines += [f"your word: {entry}" for entry in own]
    front = find_front_matter(text) if text else None
    vetoed = (front.data or {}).get("unrelated") if front else None
    if isinstance(vetoed, list) and vetoed:
        lines += [f"removed by you (listed in `unrelated`): {entry}" for entry in vetoed]
    return lines


def _text_after(plan: Plan, scans: list[NoteScan], key: str) -> str | None:
    """The paper note's text once the plan is applied (or as it is, if nothing changes)."""
    for write in plan.writes:
        front = find_front_matter(write.text) if write.kind == "paper" else None
        if front is not None and front.data and front.data.get("arxiv_id") == key:
            return write.text
    note = next((scan.note for scan in scans if scan.paper_key == key), None)
    return note.text if note else None
