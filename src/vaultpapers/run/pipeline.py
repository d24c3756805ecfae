"""One run over a vault: scan -> resolve -> plan -> write. `link` and `watch` both use it."""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from vaultpapers.arxiv.resolve import resolve
from vaultpapers.config import Settings
from vaultpapers.model import Outcome, Problem
from vaultpapers.plan.planner import plan_link
from vaultpapers.run.bibliographies import (
    BIBLIOGRAPHIES,
    plan_bibliographies,
    remember_bibliographies,
)
from vaultpapers.run.incremental import (
    RememberedRelations,
    WarmVault,
    open_state,
    owed_indexes,
    remember_complete_run,
    remember_written,
    settings_digest,
    unchanged_since_complete_run,
)
from vaultpapers.run.listing import relisted, report_set_aside
from vaultpapers.run.options import Progress, RunOptions
from vaultpapers.run.report import RunReport
from vaultpapers.run.scanning import collector_paused, reread, scan_vault
from vaultpapers.run.sources import SourceOnDemand, fetch_ahead, open_cache, refresh_due
from vaultpapers.run.writing import apply_writes
from vaultpapers.scan.parallel import Workers
from vaultpapers.vaultfs.files import markdown_files
from vaultpapers.vaultfs.writer import VaultWriter

if TYPE_CHECKING:
    from vaultpapers.arxiv.prefetch import Prefetch

log = logging.getLogger("vaultpapers")


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
    offline, dry_run, changed = options.offline, options.dry_run, options.changed
    defer_links_in, defer_papers = options.defer_links_in, options.defer_papers
    defer_relations, defer_uncached = options.defer_relations, options.defer_uncached
    refresh_keys, refresh_all = options.refresh_keys, options.refresh_all
    metadata_changed = options.metadata_changed
    phases = _Phases()
    warm = memory if memory is not None and not dry_run else None
    known = warm.listing if warm is not None else None
    if warm is not None:
        warm.listing = None  # until this run completes: a failed run leaves nothing half-known
    # A dry run writes nothing at all in the vault: the state and the cache are only read
    # (into memory), no helper process fetches ahead into the cache, no temp file is removed.
    with open_state(vault, read_only=dry_run) as state, Workers() as workers:
        if warm is not None and known is not None and changed is not None:
            listing = relisted(vault, settings, known, changed)
            set_aside = list(warm.set_aside)
        else:
            aside: list[tuple[str, str]] = []
            listing = dict(markdown_files(vault, settings, aside))
            set_aside = report_set_aside(vault, aside, remove_temps=not dry_run)
            if warm is not None:
                warm.set_aside = list(set_aside)
        phases.done("list")
        as_known = warm is not None and listing == known
        # Stat keys hold the ctime, which only moves forward: a listing unlike the last run's
        # cannot be the one of an earlier complete run, and needs no snapshot to tell.
        moved_on = known is not None and changed is not None and not as_known
        unchanged = None if moved_on else unchanged_since_complete_run(state, settings, listing)
        # Asked to refresh, or told metadata changed: the notes may change though no note did.
        forcing = refresh_all or bool(refresh_keys) or metadata_changed
        if unchanged is not None and not dry_run and not forcing:
            if warm is not None and as_known:
                warm.listing = known
            return unchanged
        ahead: list[Prefetch] = []  # at most one: the papers the changed notes newly cite
        with collector_paused():
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
                on_read=None
                if offline or warm is not None or dry_run
                else fetch_ahead(vault, settings, ahead),
            )
        phases.done("scan")
        report = RunReport(
            notes=len(catalog),
            user_notes=catalog.user_notes,
            plugin_files=catalog.plugin_files,
            dry_run=dry_run,
        )
        report.problems.extend(set_aside + read_problems)
        with open_cache(vault, in_memory=dry_run) as cache:
            keys = catalog.citations.keys() | catalog.paper_notes.keys()
            prefetch = ahead[0] if ahead else None
            source = None if offline else SourceOnDemand(settings, cache, prefetch)
            decoded = warm.papers if warm is not None else None
            resolution = resolve(
                sorted(keys),
                cache,
                source,
                progress=progress,
                known=decoded,
                fetching=prefetch.keys if prefetch is not None else (),
            )
            refresh_after: float | None = None
            if not offline and not dry_run:
                forced = resolution.papers.keys() if refresh_all else refresh_keys
                resolution, refresh_after = refresh_due(cache, settings, resolution, report, forced)
        phases.done("resolve")
        uncached = dict(resolution.pending) if defer_uncached else {}
        if uncached:
            defer_papers = frozenset({*defer_papers, *uncached})
        previous_outputs = (
            warm.outputs if warm is not None and known is not None else state.outputs()
        )
        if warm is not None:
            warm.outputs = previous_outputs  # `remember_written` keeps it in step with the state
        basis = state.get("basis")
        dirty = None
        # A paper whose metadata changed is planned in full: which notes show it is all over.
        if (
            not report.refreshed
            and not metadata_changed
            and isinstance(basis, dict)
            and basis.get("settings") == settings_digest(settings)
        ):
            dirty = dict(edited)
            for path in basis.get("owed", []):
                dirty.setdefault(path, catalog.get(path))
        remembered = RememberedRelations(
            state, save=not dry_run, defer=defer_relations, should_yield=should_yield, memory=warm
        )
        plan = plan_link(
            catalog,
            resolution,
            settings,
            defer_links_in=defer_links_in,
            defer_papers=defer_papers,
            read_text=lambda note: reread(vault, note, settings, read),
            outputs=previous_outputs,
            relations=remembered,
            dirty=dirty,
            previous_related=remembered.previous,
            defer_indexes=defer_relations,
            owed_indexes=owed_indexes(basis) if dirty is not None else (),
            should_yield=should_yield,
        )
        phases.done("plan")
        report.requests = resolution.requests
        if dry_run and source is not None:
            report.fetched_in_memory = source.fetched
        report.relations_stale = remembered.stale or plan.indexes_deferred
        report.problems.extend(plan.problems)
        report.papers = len(plan.cited)
        report.links_inserted = plan.links_inserted
        report.links = plan.links
        report.pending = {**uncached, **plan.pending}
        bib_before = state.get(BIBLIOGRAPHIES)
        bib_known = copy.deepcopy(bib_before) if isinstance(bib_before, dict) else {}
        for item in plan_bibliographies(
            vault, settings, resolution.papers, plan.citekeys, bib_known
        ):
            if isinstance(item, Problem):
                report.problems.append(item)
            else:
                plan.writes.append(item)
        report.planned = plan.writes
        if dry_run:
            return report
        report.results = apply_writes(VaultWriter(vault), plan.writes, cancel)
        phases.done("write")
        report.cancelled = len(report.results) < len(plan.writes)
        # Links count once in the note: a note changed meanwhile (a conflict) gained none.
        report.links_inserted = sum(
            len(report.links_in(r.write)) for r in report.results if r.outcome is Outcome.WRITTEN
        )
        for result in report.results:
            if result.outcome in (Outcome.CONFLICT, Outcome.FAILED):
                log.warning("%s: not written: %s", result.write.path, result.message)
        written = remember_written(
            state, vault, plan, report.results, previous_outputs, warm, workers=workers
        )
        remember_bibliographies(state, report.results, bib_known, bib_before)
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
                "settings": settings_digest(settings),
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
            remember_complete_run(state, settings, after, report, resolution, refresh_after)
        if warm is not None:
            warm.listing = after
    phases.done("commit")
    phases.log()
    return report
