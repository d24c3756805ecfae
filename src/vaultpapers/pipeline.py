"""One run over a vault: scan -> resolve -> plan -> write. `link` and `watch` both use it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from .arxiv_source import ArxivSource, resolve
from .cache import PaperCache
from .config import STATE_DIR, Settings
from .ids import parse_arxiv_id
from .notes import section_text
from .papers import Resolution
from .planner import Plan, plan_link
from .properties import find_front_matter
from .relations import explain
from .scan import NoteScan, Problem, scan_or_report
from .vault import Note, read_vault
from .writer import Outcome, VaultWriter, Write, WriteResult

log = logging.getLogger("vaultpapers")

CACHE_FILE = "cache.sqlite"
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
        return not self.pending and not self.conflicts and not self.cancelled


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
) -> RunReport:
    """Bring the whole vault up to date.

    The watcher passes `defer_links_in` (notes the user is still editing: no links inserted
    yet) and `defer_papers` (papers whose metadata it is fetching: no stub note yet).
    Setting `cancel` stops the run between two writes; every file written is complete.
    """
    notes, read_problems = read_vault(vault, settings)
    report = RunReport(notes=len(notes), dry_run=dry_run)
    report.problems.extend(Problem(p.path, None, p.message) for p in read_problems)
    with open_cache(vault) as cache:
        plan, requests = _plan_with_metadata(
            notes, settings, cache, offline, progress, defer_links_in, defer_papers
        )
    report.requests = requests
    report.problems.extend(plan.problems)
    report.papers = len(plan.cited)
    report.links_inserted = plan.links_inserted
    report.pending = dict(plan.pending)
    report.planned = plan.writes
    if dry_run:
        return report
    writer = VaultWriter(vault)
    for write in plan.writes:
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            break
        result = writer.apply(write)
        report.results.append(result)
        if result.outcome in (Outcome.CONFLICT, Outcome.FAILED):
            log.warning("%s: not written: %s", write.path, result.message)
    return report


def _plan_with_metadata(
    notes: list[Note],
    settings: Settings,
    cache: PaperCache,
    offline: bool,
    progress: Progress | None,
    defer_links_in: Collection[str],
    defer_papers: Collection[str],
) -> tuple[Plan, int]:
    scans = [scan_or_report(note) for note in notes]
    keys = {r.arxiv_id.key for scan in scans for r in scan.references}
    keys |= {scan.paper_key for scan in scans if scan.paper_key}
    source = None if offline else make_source(settings, cache)
    resolution = resolve(sorted(keys), cache, source, progress=progress)
    plan = plan_link(
        scans, resolution, settings, defer_links_in=defer_links_in, defer_papers=defer_papers
    )
    return plan, resolution.requests


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
