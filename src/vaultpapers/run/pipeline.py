"""One run over a vault: scan -> resolve -> plan -> write. `link` and `watch` both use it."""

from __future__ import annotations

import functools
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.arxiv.papers import Resolution
from vaultpapers.arxiv.resolve import resolve
from vaultpapers.config import Settings
from vaultpapers.model import Outcome, Problem, StatKey
from vaultpapers.plan.planner import Plan, plan_link
from vaultpapers.run.bibliographies import BibliographyFiles
from vaultpapers.run.incremental import WarmVault, open_state, scan_rendered
from vaultpapers.run.memory import RunMemory
from vaultpapers.run.options import Progress, RunOptions
from vaultpapers.run.report import RunReport
from vaultpapers.run.scanning import CurrentText, Scanned, collector_paused
from vaultpapers.run.sources import SourceOnDemand, fetch_ahead, open_cache, refresh_due
from vaultpapers.run.title_pass import match_titles
from vaultpapers.run.writing import OnRendered, apply_writes
from vaultpapers.scan.parallel import Workers
from vaultpapers.vaultfs.writer import VaultWriter

try:
    import resource
except ImportError:  # Windows: the debug log shows times only.
    resource = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from vaultpapers.arxiv.prefetch import Prefetch

log = logging.getLogger("vaultpapers")


class _Phases:
    """Wall time of each step of a run, logged at debug level (`-vv`): where a run's time goes
    on a user's vault, without a profiler."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.times: list[tuple[str, float, float]] = []

    def done(self, phase: str) -> None:
        now = time.perf_counter()
        self.times.append((phase, now - self.last, _peak_mib()))
        self.last = now

    def log(self) -> None:
        steps = ", ".join(
            f"{phase} {seconds:.2f} s ({peak:.0f} MiB)" for phase, seconds, peak in self.times
        )
        log.debug(
            "run took %.2f s, peak resident memory after each step: %s",
            time.perf_counter() - self.started,
            steps,
        )


def _peak_mib() -> float:
    """This process's peak resident memory so far (Linux counts KiB, macOS bytes), 0 where
    it cannot be known."""
    if resource is None:
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def run_link(
    vault: Path,
    settings: Settings,
    options: RunOptions = RunOptions(),
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    memory: WarmVault | None = None,
    should_yield: Callable[[], bool] | None = None,
) -> RunReport:
    """Bring the whole vault up to date, as `options` ask.

    Setting `cancel` stops the run between two writes; every file written is complete. A
    long-lived caller keeps the vault warm in `memory` between runs. `should_yield` is asked
    while the run plans: once it says yes (the user saved again), what is not worked out yet
    is deferred as `defer_relations` does.
    """
    phases = _Phases()
    # A dry run writes nothing at all in the vault: the state and the cache are only read
    # (into memory), no helper process fetches ahead into the cache, no temp file is removed.
    with open_state(vault, read_only=options.dry_run) as state, Workers() as workers:
        remembered = RunMemory(vault, settings, state, memory, options)
        listing, set_aside = remembered.list_notes()
        phases.done("list")
        unchanged = remembered.unchanged(listing)
        if unchanged is not None:
            return unchanged
        scanned, ahead = _scan(vault, settings, options, remembered, listing, workers)
        phases.done("scan")
        report = _report(scanned, set_aside, options)
        with open_cache(vault, in_memory=options.dry_run) as cache:
            resolution, refresh_after = _resolve(
                settings, options, scanned, cache, report, remembered, ahead, progress
            )
            phases.done("resolve")
            resolution = match_titles(remembered, scanned, resolution, cache, report, workers)
            phases.done("titles")
        plan = _plan(
            vault, settings, options, scanned, resolution, report, remembered, should_yield
        )
        bibliographies = BibliographyFiles(state)
        _plan_bibliographies(bibliographies, vault, settings, resolution, plan, report)
        report.planned = plan.writes
        phases.done("plan")
        if options.dry_run:
            return report
        with remembered.scan_writes(plan, scanned, workers) as scans:
            _write(vault, plan, report, cancel, functools.partial(scan_rendered, scans))
            phases.done("write")
            remembered.remember(plan, report, listing, scans, resolution, refresh_after)
        bibliographies.remember(report.results)
        phases.done("remember")
    phases.done("commit")
    phases.log()
    return report


def _report(scanned: Scanned, set_aside: list[Problem], options: RunOptions) -> RunReport:
    """The run's report as the scan leaves it: the notes counted, and those that could not be
    read or were set aside by the listing."""
    report = RunReport(
        notes=len(scanned.catalog),
        user_notes=scanned.catalog.user_notes,
        plugin_files=scanned.catalog.plugin_files,
        dry_run=options.dry_run,
    )
    report.problems.extend(set_aside + scanned.problems)
    return report


def _plan_bibliographies(
    bibliographies: BibliographyFiles,
    vault: Path,
    settings: Settings,
    resolution: Resolution,
    plan: Plan,
    report: RunReport,
) -> None:
    """The writes of the bibliography files the settings ask for added to the plan; a file
    that cannot be read is left alone, a problem in the report."""
    for item in bibliographies.plan(vault, settings, resolution.papers, plan.citekeys):
        if isinstance(item, Problem):
            report.problems.append(item)
        else:
            plan.writes.append(item)


def _scan(
    vault: Path,
    settings: Settings,
    options: RunOptions,
    remembered: RunMemory,
    listing: dict[str, StatKey],
    workers: Workers,
) -> tuple[Scanned, list[Prefetch]]:
    """Every note's scan, and the helper process (at most one) that started fetching what the
    changed notes newly cite while the kept scans were decoded."""
    ahead: list[Prefetch] = []
    # Worth it only to a one-off run online that writes: a warm caller has its scans decoded.
    fetch_early = not (options.offline or options.dry_run or remembered.is_warm)
    with collector_paused():
        scanned = remembered.scan(
            listing, workers, fetch_ahead(vault, settings, ahead) if fetch_early else None
        )
    return scanned, ahead


def _resolve(
    settings: Settings,
    options: RunOptions,
    scanned: Scanned,
    cache: PaperCache,
    report: RunReport,
    remembered: RunMemory,
    ahead: list[Prefetch],
    progress: Progress | None,
) -> tuple[Resolution, float | None]:
    """Every cited paper's metadata, from the cache or arXiv; the papers that fell due (or
    that `options` name) asked about again. Returns when the next paper falls due."""
    catalog = scanned.catalog
    keys = catalog.citations.keys() | catalog.paper_notes.keys()
    prefetch = ahead[0] if ahead else None
    source = None if options.offline else SourceOnDemand(settings, cache, prefetch)
    resolution = resolve(
        sorted(keys),
        cache,
        source,
        progress=progress,
        known=remembered.papers,
        fetching=prefetch.keys if prefetch is not None else (),
    )
    refresh_after: float | None = None
    if not options.offline and not options.dry_run:
        forced = resolution.papers.keys() if options.refresh_all else options.refresh_keys
        resolution, refresh_after = refresh_due(cache, settings, resolution, report, forced)
    report.requests = resolution.requests
    if options.dry_run and source is not None:
        report.fetched_in_memory = source.fetched
    return resolution, refresh_after


def _plan(
    vault: Path,
    settings: Settings,
    options: RunOptions,
    scanned: Scanned,
    resolution: Resolution,
    report: RunReport,
    remembered: RunMemory,
    should_yield: Callable[[], bool] | None,
) -> Plan:
    """The writes that bring the notes up to date, and what the report says of them."""
    uncached = dict(resolution.pending) if options.defer_uncached else {}
    dirty, owed_indexes = remembered.dirty(scanned, refreshed=bool(report.refreshed))
    relations = remembered.relations(should_yield)
    plan = plan_link(
        scanned.catalog,
        resolution,
        settings,
        defer_links_in=options.defer_links_in,
        defer_papers=frozenset({*options.defer_papers, *uncached}),
        read_text=CurrentText(vault, settings, scanned.read),
        outputs=remembered.outputs(),
        relations=relations,
        dirty=dirty,
        previous_related=relations.previous,
        defer_indexes=options.defer_relations,
        owed_indexes=owed_indexes,
        should_yield=should_yield,
    )
    report.relations_stale = relations.stale or plan.indexes_deferred
    report.problems.extend(plan.problems)
    report.papers = len(plan.cited)
    report.links_inserted = plan.links_inserted
    report.links = plan.links
    report.title_links = plan.title_links
    report.pending = {**uncached, **plan.pending}
    return plan


def _write(
    vault: Path,
    plan: Plan,
    report: RunReport,
    cancel: threading.Event | None,
    on_rendered: OnRendered,
) -> None:
    report.results = apply_writes(VaultWriter(vault), plan.writes, cancel, on_rendered)
    report.cancelled = len(report.results) < len(plan.writes)
    # Links count once in the note: a note changed meanwhile (a conflict) gained none.
    report.links_inserted = sum(
        len(report.links_in(r.write)) for r in report.results if r.outcome is Outcome.WRITTEN
    )
    for result in report.results:
        if result.outcome in (Outcome.CONFLICT, Outcome.FAILED):
            log.warning("%s: not written: %s", result.write.path, result.message)
