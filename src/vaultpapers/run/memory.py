"""The incremental machinery behind one interface: what a run knows from earlier runs, and
what it leaves for the next.

A run asks its `RunMemory`, in this order: which notes there are (`list_notes`), whether
nothing changed since the last complete run (`unchanged`), the notes' scans (`scan`), what
the last plan left owed (`dirty`), the relations worked out before (`relations`), and once
written, to `remember` what this run did. Behind it: the state (`.vaultpapers/state.sqlite`)
and, for a long-lived caller such as the watcher, a `WarmVault` kept in memory between runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from vaultpapers.arxiv.cache import DecodedPapers
from vaultpapers.arxiv.papers import Resolution
from vaultpapers.config import Settings
from vaultpapers.markdown.titles import TitleIndex
from vaultpapers.model import Outcome, Problem, StatKey
from vaultpapers.plan.planner import Plan
from vaultpapers.run.incremental import (
    RememberedRelations,
    WarmVault,
    owed_indexes,
    remember_complete_run,
    remember_written,
    scans_to_make,
    settings_digest,
    unchanged_since_complete_run,
)
from vaultpapers.run.listing import relisted, report_set_aside
from vaultpapers.run.options import RunOptions
from vaultpapers.run.report import RunReport
from vaultpapers.run.scanning import Scanned, scan_vault
from vaultpapers.run.titles import remember_titles, title_index, titles_changed
from vaultpapers.scan.note import NoteScan
from vaultpapers.scan.parallel import Workers, WrittenScans
from vaultpapers.vaultfs.files import markdown_files
from vaultpapers.vaultfs.state import StateStore

Dirty = dict[str, NoteScan | None]


class RunMemory:
    """One run's view of what earlier runs left (see the module's docstring)."""

    def __init__(
        self,
        vault: Path,
        settings: Settings,
        state: StateStore,
        memory: WarmVault | None,
        options: RunOptions,
    ) -> None:
        self.vault = vault
        self.settings = settings
        self.state = state
        self.options = options
        # A dry run leaves the warm vault as it was: it is what the last real run left.
        self.warm = memory if memory is not None and not options.dry_run else None
        self.known = self.warm.listing if self.warm is not None else None
        if self.warm is not None:
            self.warm.listing = (
                None  # until this run completes: a failed run leaves nothing half-known
            )
        self._outputs: dict[str, tuple[StatKey, str]] | None = None
        # The paper titles looked for in the notes (None: `titles: off`); the title step adds
        # those it learns in this run.
        self.titles: TitleIndex | None = None

    def list_notes(self) -> tuple[dict[str, StatKey], list[Problem]]:
        """The notes and their stat keys, and what was set aside (symlinks) as problems: the
        last run's listing with the paths the caller knows changed looked at again, or the
        folder listed anew."""
        warm, changed = self.warm, self.options.changed
        if warm is not None and self.known is not None and changed is not None:
            return relisted(self.vault, self.settings, self.known, changed), list(warm.set_aside)
        aside: list[tuple[str, str]] = []
        listing = dict(markdown_files(self.vault, self.settings, aside))
        set_aside = report_set_aside(self.vault, aside, remove_temps=not self.options.dry_run)
        if warm is not None:
            warm.set_aside = list(set_aside)
        return listing, set_aside

    def unchanged(self, listing: Mapping[str, StatKey]) -> RunReport | None:
        """The last complete run's report when not one note changed since: then this run has
        nothing to do either, and need not even look at the notes."""
        options = self.options
        # Asked to refresh, or told metadata changed: the notes may change though no note did.
        forcing = options.refresh_all or bool(options.refresh_keys) or options.metadata_changed
        if options.dry_run or forcing:
            return None
        as_known = self.warm is not None and listing == self.known
        # Stat keys hold the ctime, which only moves forward: a listing unlike the last run's
        # cannot be the one of an earlier complete run, and needs no snapshot to tell.
        if self.known is not None and options.changed is not None and not as_known:
            return None
        report = unchanged_since_complete_run(self.state, self.settings, listing)
        if report is not None and as_known and self.warm is not None:
            self.warm.listing = self.known
        return report

    def scan(
        self,
        listing: Mapping[str, StatKey],
        workers: Workers,
        on_read: Callable[[list[NoteScan]], None] | None,
    ) -> Scanned:
        """Every note's scan: what the warm vault or the state kept for the unchanged ones,
        but where the titles known changed since it was made and the note may name them."""
        known = self.known
        titles = self.titles = title_index(
            self.vault, self.settings, self.state, dry_run=self.options.dry_run, warm=self.warm
        )
        scanned = Scanned(
            *scan_vault(
                self.vault,
                self.settings,
                self.state,
                listing,
                save=not self.options.dry_run,
                memory=self.warm,
                in_step=known,
                only=self.options.changed if known is not None else None,
                workers=workers,
                on_read=on_read,
                # A vault that knows no title yet (a first run) gets its title pass once the
                # papers its URLs cite are known (`run.title_pass`): done now, it would find
                # nothing and be done again.
                titles=titles if titles else None,
                titles_changed=titles_changed(self.state, titles),
            )
        )
        remember_titles(self.state, titles)
        return scanned

    @property
    def is_warm(self) -> bool:
        return self.warm is not None

    @property
    def papers(self) -> DecodedPapers | None:
        """Papers decoded from the cache by earlier runs of this process."""
        return self.warm.papers if self.warm is not None else None

    def outputs(self) -> dict[str, tuple[StatKey, str]]:
        """The generated notes earlier runs wrote or verified: path -> (stat key, inputs)."""
        if self._outputs is None:
            warm = self.warm
            self._outputs = (
                warm.outputs
                if warm is not None and self.known is not None
                else self.state.outputs()
            )
            if warm is not None:
                warm.outputs = self._outputs  # `remember` keeps it in step with the state
        return self._outputs

    def dirty(
        self, scanned: Scanned, *, refreshed: bool
    ) -> tuple[Dirty | None, list[tuple[str, str]] | None]:
        """The notes an incremental plan must look at (those edited, and those the last run
        left owed) and the index notes it left owed (None: all); (None, []) when the plan
        must be a full one: the settings changed, or papers' metadata did."""
        basis = self.state.get("basis")
        if (
            refreshed
            or self.options.metadata_changed
            or not isinstance(basis, dict)
            or basis.get("settings") != settings_digest(self.settings)
        ):
            # A paper whose metadata changed is planned in full: which notes show it is all over.
            return None, []
        dirty = dict(scanned.edited)
        for path in basis.get("owed", []):
            dirty.setdefault(path, scanned.catalog.get(path))
        return dirty, owed_indexes(basis)

    def relations(self, should_yield: Callable[[], bool] | None) -> RememberedRelations:
        return RememberedRelations(
            self.state,
            save=not self.options.dry_run,
            defer=self.options.defer_relations,
            should_yield=should_yield,
            memory=self.warm,
        )

    def scan_writes(self, plan: Plan, scanned: Scanned, workers: Workers) -> WrittenScans:
        """The scans of what `plan` writes, for `remember`: started now, so that the workers
        make them while the run writes."""
        notes = scans_to_make(plan, self.titles, scanned.catalog.get)
        return WrittenScans(self.vault, notes, workers, self.titles, count=len(plan.writes))

    def remember(
        self,
        plan: Plan,
        report: RunReport,
        listing: dict[str, StatKey],
        scans: WrittenScans,
        resolution: Resolution,
        refresh_after: float | None,
    ) -> None:
        """What this run leaves for the next: the outputs and `scans` of what it wrote, what
        it still owes (notes held back or left unwritten, index notes deferred), and, when it
        left nothing to do, the record that lets the next run stop at the listing."""
        options = self.options
        written = remember_written(
            self.state, self.vault, plan, report.results, self.outputs(), scans, self.warm
        )
        self.state.put("basis", self._basis(plan, report))
        after = listing  # as this run leaves the vault
        for path, stat in written.items():
            if stat is None:
                after.pop(path, None)
            else:
                after[path] = stat
        # An offline run that left titles to look up is not the last complete run: the next
        # run online would skip the unchanged vault without looking them up.
        if (
            report.complete
            and not report.titles_deferred
            and not options.defer_links_in
            and not options.defer_papers
        ):
            remember_complete_run(
                self.state, self.settings, after, report, resolution, refresh_after
            )
        if self.warm is not None:
            self.warm.listing = after

    def _basis(self, plan: Plan, report: RunReport) -> dict[str, object]:
        failed = (Outcome.CONFLICT, Outcome.FAILED)
        unfinished = {r.write.path for r in report.results if r.outcome in failed}
        if report.cancelled:
            unfinished |= {w.path for w in plan.writes} | {
                w.replaces for w in plan.writes if w.replaces
            }
        owed = set(self.options.defer_links_in) | plan.skipped | {p for p in unfinished if p}
        return {
            "settings": settings_digest(self.settings),
            "owed": sorted(owed),
            "indexes_owed": (
                True
                if plan.deferred_indexes is None
                else sorted([kind, name] for kind, name in plan.deferred_indexes)
            ),
        }
