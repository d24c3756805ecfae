"""What a run remembers so that the next one costs what changed: the warm vault a long-lived
caller keeps, the state's record of the last complete run, the outputs and scans of what
was written, and the relations worked out before."""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from vaultpapers import __version__
from vaultpapers.arxiv.cache import DecodedPapers
from vaultpapers.arxiv.papers import Paper, Resolution
from vaultpapers.arxiv.resolve import NOT_FOUND_MAX_AGE
from vaultpapers.config import STATE_DIR, Settings
from vaultpapers.markdown.titles import TitleIndex
from vaultpapers.model import FileState, Outcome, Problem, StatKey, Write, WriteResult
from vaultpapers.notes.bibliography import BIBLIOGRAPHY_KIND
from vaultpapers.plan.planner import Plan
from vaultpapers.relations.detect import (
    GaveWay,
    RelatedPapers,
    RelationMemo,
    memo_from_json,
    memo_to_json,
    relate_remembering,
    related_from_json,
    related_to_json,
)
from vaultpapers.run.report import RunReport
from vaultpapers.scan.catalog import Catalog
from vaultpapers.scan.note import (
    SCAN_COLUMNS,
    SCAN_FORMAT,
    NoteScan,
    ScanRow,
    scan_from_row,
    title_lines_of,
)
from vaultpapers.scan.parallel import Relinked, Written, WrittenScans
from vaultpapers.vaultfs.state import StateStore, stat_key

log = logging.getLogger("vaultpapers")


STATE_FILE = "state.sqlite"


@dataclass
class KeptIndex:
    """The title index as of the cache's `writes`-th paper write, the latest of them written
    at `through` (by the cache's clock)."""

    cache: str  # the cache's identity
    writes: int
    through: float | None
    titles: TitleIndex

    def to_json(self) -> dict[str, Any]:
        return {
            "cache": self.cache,
            "writes": self.writes,
            "through": self.through,
            "titles": self.titles.to_json(),
        }

    @classmethod
    def from_json(cls, saved: Any) -> KeptIndex | None:
        """None for anything but what `to_json` gave (another version's, a damaged one)."""
        try:
            titles = TitleIndex.from_json(saved["titles"])
            return cls(saved["cache"], saved["writes"], saved["through"], titles)
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


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
    titles: KeptIndex | None = None  # the title index, as of a version of the cache


@dataclass(frozen=True, slots=True)
class KnownRelations:
    """An answer of `relate`, with its identity in the state and, when it was worked out in
    this process, the papers it was worked out from (key -> version)."""

    identity: str
    related: RelatedPapers
    versions: Mapping[str, int | None] | None = None


def _snapshot(settings: Settings, listing: Mapping[str, StatKey]) -> str:
    # Joined, not repr'd: every path and stat key, twice a run. No path or key holds a NUL.
    pairs = "\0".join(itertools.chain.from_iterable(sorted(listing.items())))
    digest = hashlib.blake2b(f"{settings.for_notes!r}\0".encode(), digest_size=16)
    digest.update(pairs.encode())  # not one text with the settings: no second copy of the listing
    return digest.hexdigest()


def unchanged_since_complete_run(
    state: StateStore, settings: Settings, listing: Mapping[str, StatKey]
) -> RunReport | None:
    """The last run's report, if it left nothing to do and not one note changed since:
    then this run has nothing to do either, and needs not even look at the notes."""
    saved = state.get("complete_run")
    if not isinstance(saved, dict) or saved.get("snapshot") != _snapshot(settings, listing):
        return None
    if time.time() >= saved.get("recheck_after", 0):
        return None  # arXiv said "no such paper" long enough ago to ask again
    report = RunReport(
        notes=len(listing),
        user_notes=saved.get("user_notes"),
        plugin_files=saved.get("plugin_files", 0),
        papers=saved.get("papers", 0),
    )
    report.problems = [Problem(*problem) for problem in saved["problems"]]
    return report


def remember_complete_run(
    state: StateStore,
    settings: Settings,
    listing: Mapping[str, StatKey],
    report: RunReport,
    resolution: Resolution,
    refresh_after: float | None = None,
) -> None:
    recheck = NOT_FOUND_MAX_AGE if resolution.not_found else timedelta(days=365)
    recheck_after = time.time() + recheck.total_seconds()
    if refresh_after is not None:  # a paper falls due to be asked about again
        recheck_after = min(recheck_after, refresh_after)
    state.put(
        "complete_run",
        {
            "snapshot": _snapshot(settings, listing),
            "recheck_after": recheck_after,
            "papers": report.papers,
            "user_notes": report.user_notes,
            "plugin_files": report.plugin_files,
            "problems": [[p.path, p.line, p.message, p.code] for p in report.problems],
        },
    )


def open_state(vault: Path, *, read_only: bool = False) -> StateStore:
    """`read_only`: the state only read, into memory (a dry run writes nothing in the vault)."""
    path = vault / STATE_DIR / STATE_FILE
    if not read_only:
        path.parent.mkdir(exist_ok=True)
    return StateStore(path, f"{__version__}/scan-{SCAN_FORMAT}", SCAN_COLUMNS, read_only=read_only)


def scans_to_make(
    plan: Plan, titles: TitleIndex | None, earlier: Callable[[str], NoteScan | None] | None
) -> list[Written]:
    """What `scan_written` needs of each note `plan` writes, known before it is written (see
    `WrittenScans`); the notes rendered when written come later (`scan_rendered`).
    `earlier`: the scans the plan was made from (see `_title_lines_kept`)."""
    return [
        _to_scan(write, None, _title_lines_kept(write, earlier, titles))
        for write in plan.writes
        # A bibliography is no note: nothing to scan or remember of it here.
        if not (write.delete or write.kind == BIBLIOGRAPHY_KIND or write.render is not None)
    ]


def scan_rendered(
    scans: WrittenScans, rendered: Sequence[tuple[Write, Mapping[str, Any] | None]]
) -> None:
    """New notes rendered by the write step, about to be written, given to `scans`: with
    the properties their front matter holds, their scans need no YAML parse."""
    scans.add([_to_scan(w, front, _title_lines_kept(w, None, None)) for w, front in rendered])


def _to_scan(
    write: Write, front_matter: Mapping[str, Any] | None, relinked: Relinked | None
) -> Written:
    text = None if write.insertions else write.text  # (read from the file, links put in)
    expected, insertions = write.expected, write.insertions
    return Written(write.path, text, write.bom, front_matter, relinked, expected, insertions)


def _title_lines_kept(
    write: Write, earlier: Callable[[str], NoteScan | None] | None, titles: TitleIndex | None
) -> Relinked | None:
    """What the scan of a written note need not work out again (None: all of it). A user's
    note that only gained links keeps what its scan found of its lines written like a title
    (those lines cite nothing, so no link went into them), and is matched again only against
    the titles it was found to name (links go where a note cites, so they make no other title
    appear)."""
    before = earlier(write.path) if earlier is not None and write.kind == "note" else None
    if before is not None and before.words is not None and titles is not None:
        named = {ref.arxiv_id.key for ref in before.references if ref.by_title}
        return (title_lines_of(before), titles.rows_like(named))
    if write.kind in ("paper", "index"):
        return (((), (), None), ())  # a note of ours: no title is looked for in it
    return None


def remember_written(
    state: StateStore,
    vault: Path,
    plan: Plan,
    results: list[WriteResult],
    previous: dict[str, tuple[StatKey, str]],
    scans: WrittenScans,
    memory: WarmVault | None = None,
) -> dict[str, StatKey | None]:
    """Record what this run left behind, so the next run need not look at it again: the
    generated notes it verified or wrote, and the `scans` of every file it wrote. Returns the
    stat of each file written (None: removed)."""
    outputs = _outputs_verified(plan, results)
    stats, gone, kept = _written_notes(vault, results, outputs, scans)
    if memory is not None:
        for path, (stat, row) in kept.items():
            memory.catalog.put(scan_from_row(path, stat, row))
        for path in gone:
            memory.catalog.discard(path)
    changed = {path: v for path, v in outputs.items() if v[0] and previous.get(path) != v}
    state.save_outputs(changed, gone)
    if memory is not None:
        memory.outputs.update(changed)
        for path in gone:
            memory.outputs.pop(path, None)
    state.save_scans(kept, gone)
    return stats


def _outputs_verified(plan: Plan, results: list[WriteResult]) -> dict[str, tuple[StatKey, str]]:
    """The generated notes the plan verified, and those it wrote (their stat left empty, to
    fill in once written: `_written_notes`), each with what it was made from."""
    outputs: dict[str, tuple[StatKey, str]] = {}
    written = {r.write.path: r for r in results}
    for path, (stat, inputs) in plan.outputs.items():
        if stat is not None:
            outputs[path] = (stat, inputs)
        elif path in written and written[path].outcome in (Outcome.WRITTEN, Outcome.UNCHANGED):
            outputs[path] = ("", inputs)
    return outputs


def _written_notes(
    vault: Path,
    results: list[WriteResult],
    outputs: dict[str, tuple[StatKey, str]],
    scans: WrittenScans,
) -> tuple[dict[str, StatKey | None], list[str], dict[str, tuple[StatKey, ScanRow]]]:
    """The stat of each note written (None: removed), the notes gone, and the scans to keep
    of the notes written. The `outputs` written get their stat; one not on disk any more is
    no output."""
    stats: dict[str, StatKey | None] = {}
    gone: list[str] = []
    written: dict[str, tuple[StatKey, FileState]] = {}
    for result in results:
        write = result.write
        if result.outcome is not Outcome.WRITTEN or write.kind == BIBLIOGRAPHY_KIND:
            continue  # a bibliography is no note: nothing to scan or remember of it here
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
        written[write.path] = (stat, result.state)
    rows = scans.rows({path: state for path, (_, state) in written.items()})
    return stats, gone, {path: (written[path][0], row) for path, row in rows.items()}


RELATIONS_IDENTITY = "relations_identity"  # beside the answer: read without decoding it


class RememberedRelations:
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
        should_yield: Callable[[], bool] | None = None,
        memory: WarmVault | None = None,
    ) -> None:
        self.state = state
        self.save = save
        self.defer = defer
        self.should_yield = should_yield
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
        digest = hashlib.blake2b(repr(sorted(versions.items())).encode(), digest_size=16)
        identity = digest.hexdigest()
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
        return self.should_yield is not None and self.should_yield()

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


def owed_indexes(basis: dict) -> list[tuple[str, str]] | None:
    """The index notes an earlier run left to this one (None: all of them)."""
    owed = basis.get("indexes_owed")
    if owed is True:
        return None
    return [(kind, name) for kind, name in owed] if isinstance(owed, list) else []


def settings_digest(settings: Settings) -> str:
    return hashlib.blake2b(settings.for_notes.encode(), digest_size=16).hexdigest()
