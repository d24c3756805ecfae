"""The title step of a run, once the papers its URLs cite are known: the titles of papers
fetched in this run looked for in the notes, then the titles no known paper has looked up on
arXiv (`titles: search`), and the papers found so resolved like any other."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.arxiv.papers import Paper, Resolution
from vaultpapers.arxiv.resolve import resolve
from vaultpapers.markdown.titles import TitleIndex
from vaultpapers.model import Problem
from vaultpapers.run.memory import RunMemory
from vaultpapers.run.report import RunReport
from vaultpapers.run.scanning import Scanned, rescan_for_titles
from vaultpapers.run.sources import make_source
from vaultpapers.run.titles import naming_titles
from vaultpapers.scan.catalog import Catalog
from vaultpapers.scan.note import USER_KIND
from vaultpapers.scan.parallel import Workers


def match_titles(
    run: RunMemory,
    scanned: Scanned,
    resolution: Resolution,
    cache: PaperCache,
    report: RunReport,
    workers: Workers,
) -> Resolution:
    """The title step (see the module's docstring). Returns `resolution` with the papers
    found by their title added; an offline run leaves the titles to look up to the next
    run online, and says so in `report.titles_deferred`."""
    if run.titles is None:
        return resolution
    titles = _TitlePass(run, scanned, run.titles, workers)
    # The titles of the papers just fetched first: a line naming one of them is linked by
    # it, and is not looked up on arXiv.
    titles.match_new(resolution.papers)
    if run.settings.titles != "search":
        return resolution
    if run.options.offline:
        report.titles_deferred = bool(titles_to_look_up(scanned.catalog, cache)[1])
        return resolution
    titles.search(cache, report)
    catalog = scanned.catalog
    named = catalog.citations.keys() - resolution.papers.keys() - resolution.pending.keys()
    named -= resolution.not_found
    if not named:
        return resolution
    # Papers found by their title are in the cache now: resolved from it.
    more = resolve(sorted(named), cache, None, known=run.papers)
    return replace(
        resolution,
        papers={**resolution.papers, **more.papers},
        pending={**resolution.pending, **more.pending},
        not_found=resolution.not_found | more.not_found,
    )


@dataclass
class _TitlePass:
    run: RunMemory
    scanned: Scanned
    titles: TitleIndex
    workers: Workers

    def match_new(self, papers: Mapping[str, Paper]) -> None:
        """The titles of `papers` the index lacks added, and the notes naming them scanned
        again, so that a note naming a paper another note cites by URL is linked in the same
        run (and the next run has nothing left to do)."""
        naming = self._learn(papers.items())
        stale = set(naming or ())
        if naming is not None or self.run.settings.titles == "search":
            # The notes scanned while the vault knew no title had no title pass (a first
            # run's scan waits for the titles of what its URLs cite): they get it now, also to
            # find the titles to look up.
            stale.update(
                path
                for path, scan in self.scanned.catalog.scan_at.items()
                if scan.kind == USER_KIND and scan.words is None
            )
        if stale or naming is not None:  # (also remembers the titles the scans now know)
            self._rescan(stale)

    def search(self, cache: PaperCache, report: RunReport) -> None:
        """The lines written like titles that no known title matched, looked up on arXiv
        (each once: the answers, misses too, are kept in the cache). The papers arXiv returns
        become known titles, and the notes that wrote the titles are matched again, so that a
        title that is exactly a paper's links in this same run, by the known-title rule
        alone."""
        written, todo = titles_to_look_up(self.scanned.catalog, cache)
        if not todo:
            return
        found = make_source(self.run.settings, cache).search_titles(todo)
        report.title_requests += found.requests
        report.requests += found.requests
        for phrase, reason in sorted(found.failed.items()):
            report.titles_unsearched[phrase] = reason
            for path in sorted(written[phrase]):
                report.problems.append(
                    Problem(
                        path,
                        None,
                        f'title not looked up on arXiv ({reason}): "{phrase}"; '
                        "asked again on the next run",
                        "title-not-looked-up",
                    )
                )
        stale = self._learn(found.papers.items()) or set()
        stale |= {
            path for phrase, keys in found.answers.items() if keys for path in written[phrase]
        }
        self._rescan(stale)

    def _learn(self, papers: Iterable[tuple[str, Paper]]) -> set[str] | None:
        """The titles of `papers` the index lacks added to it; the notes that may name them
        (None: no title was new)."""
        added = TitleIndex.of(
            (key, paper.title, paper.published.year)
            for key, paper in papers
            if key not in self.titles.keys
        )
        if not added:
            return None
        self.titles.extend(added.entries())
        catalog = self.scanned.catalog
        return naming_titles(
            self.run.vault, self.run.settings, list(catalog.scan_at), catalog.get, (added, set())
        )

    def _rescan(self, stale: set[str]) -> None:
        run, scanned = self.run, self.scanned
        rescan_for_titles(
            run.vault,
            run.settings,
            run.state,
            self.titles,
            stale,
            scanned.catalog,
            scanned.read,
            scanned.edited,
            self.workers,
            run.warm,
            save=not run.options.dry_run,
        )


def titles_to_look_up(catalog: Catalog, cache: PaperCache) -> tuple[dict[str, set[str]], list[str]]:
    """The titles the notes write that no known title matched (phrase -> the notes writing
    it), and those of them arXiv was never asked about."""
    written: dict[str, set[str]] = {}
    for path, scan in catalog.scan_at.items():
        for phrase in scan.title_candidates:
            written.setdefault(phrase, set()).add(path)
    if not written:
        return written, []
    answered = cache.title_searches(written)
    return written, sorted(phrase for phrase in written if phrase not in answered)
