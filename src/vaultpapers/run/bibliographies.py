"""The bibliography files a run keeps current, and what it remembers of them."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from vaultpapers.arxiv.papers import Paper
from vaultpapers.config import Settings
from vaultpapers.model import FileState, Outcome, Problem, Write, WriteResult
from vaultpapers.notes import bibliography
from vaultpapers.notes.bibliography import BIBLIOGRAPHY_KIND
from vaultpapers.vaultfs.state import StateStore

BIBLIOGRAPHIES = "bibliographies"  # path -> what the bibliography file last held (see below)


def plan_bibliographies(
    vault: Path,
    settings: Settings,
    papers: Mapping[str, Paper],
    citekeys: Mapping[str, str],
    remembered: dict[str, Any],
) -> list[Write | Problem]:
    """The writes (or problems) that keep each configured bibliography file current.

    `remembered` (kept in the state, brought up to date here for the files left as they are):
    per path, the digest of the text last written (a CSL-JSON file is ours while it holds
    that), the digest of the entries' inputs and the file's (mtime_ns, size) then. While both
    are the same, the file is neither rendered nor read: rendering a library is not free."""
    if not settings.bibliography:
        return []
    inputs = bibliography.inputs_digest(papers, citekeys)
    items: list[bibliography.Entry] | None = None
    planned: list[Write | Problem] = []
    for path in settings.bibliography:
        known = remembered.get(path)
        known = known if isinstance(known, dict) else {}
        try:
            stat = os.stat(vault / path)
        except FileNotFoundError:
            stat = None
        except OSError as exc:
            message = f"bibliography not readable ({exc}); left alone"
            planned.append(Problem(path, None, message, "bibliography-unreadable"))
            continue
        seen = [stat.st_mtime_ns, stat.st_size] if stat is not None else None
        if seen is not None and known.get("inputs") == inputs and known.get("stat") == seen:
            continue
        if items is None:
            items = bibliography.entries(papers, citekeys)
        text = bibliography.render(bibliography.format_of(path), items)
        on_disk: bibliography.OnDisk | None = None
        if stat is not None:
            try:
                data = (vault / path).read_bytes()
                on_disk = bibliography.OnDisk(data.decode("utf-8"), FileState.of(data, stat))
            except (OSError, UnicodeDecodeError) as exc:
                message = f"bibliography not readable ({exc}); left alone"
                planned.append(Problem(path, None, message, "bibliography-unreadable"))
                continue
        decided = bibliography.plan_file(path, text, on_disk, known.get("digest"))
        if decided is None:  # as it should be: next time, not even rendered
            remembered[path] = {**known, "inputs": inputs, "stat": seen}
        elif isinstance(decided, Write):
            remembered[path] = {**known, "inputs": inputs, "stat": None}
            planned.append(decided)
        else:
            planned.append(decided)
    return planned


def remember_bibliographies(
    state: StateStore, results: Iterable[WriteResult], remembered: dict[str, Any], before: Any
) -> None:
    """What each bibliography holds now: a CSL-JSON file stays ours while it does."""
    for result in results:
        write = result.write
        if write.kind != BIBLIOGRAPHY_KIND or write.path not in remembered:
            continue
        if result.outcome is Outcome.WRITTEN and result.state is not None:
            remembered[write.path] = {
                **remembered[write.path],
                "digest": bibliography.digest_of(write.text),
                "stat": [result.state.mtime_ns, result.state.size],
            }
        else:  # not written: looked at again next time
            remembered[write.path] = {**remembered[write.path], "inputs": None}
    if remembered != before:
        state.put(BIBLIOGRAPHIES, remembered)


class BibliographyFiles:
    """The configured bibliography files over one run: planned from what the state remembers
    of them, remembered again once written."""

    def __init__(self, state: StateStore) -> None:
        self.state = state
        self.before = state.get(BIBLIOGRAPHIES)
        self.known: dict[str, Any] = (
            copy.deepcopy(self.before) if isinstance(self.before, dict) else {}
        )

    def plan(
        self,
        vault: Path,
        settings: Settings,
        papers: Mapping[str, Paper],
        citekeys: Mapping[str, str],
    ) -> list[Write | Problem]:
        return plan_bibliographies(vault, settings, papers, citekeys, self.known)

    def remember(self, results: Iterable[WriteResult]) -> None:
        remember_bibliographies(self.state, results, self.known, self.before)
