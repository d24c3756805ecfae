"""Every note's scan, with the lookups planning makes of them: the notes of each paper, each
index note, the notes citing each paper, how many notes share each file name, which paper
notes hold a word of the user's in their related parts.

Built once from a vault's scans, then kept up to date one note at a time (`put`, `discard`):
a watcher that sees one note change pays for that note, not for the vault. Each lookup keeps
a fixed order (by path; a paper's complete note before a pending stub), so a catalog updated
note by note is indistinguishable from one built afresh.
"""

from __future__ import annotations

from bisect import insort
from collections import Counter
from collections.abc import Iterable
from operator import attrgetter
from typing import Any

from vaultpapers.model import Problem
from vaultpapers.scan.note import OPAQUE_KIND, PLUGIN_KIND, USER_KIND, NoteScan


def _by_path(scan: NoteScan) -> str:
    return scan.note.path


_PATH = attrgetter("note.path")  # `_by_path`, without a Python call per scan


def _claimant_order(scan: NoteScan) -> tuple[bool, str]:
    # Of a pending stub and a complete note (synced from elsewhere), the complete note is the
    # paper's: otherwise the stub would be completed into a third name.
    return scan.note.stem.startswith("arXiv "), scan.note.path


def stem_of(path: str) -> str:
    return path.rsplit("/", 1)[-1].removesuffix(".md")


class Catalog:
    def __init__(self, scans: Iterable[NoteScan] = ()) -> None:
        self.scan_at: dict[str, NoteScan] = {}
        self.paper_notes: dict[str, list[NoteScan]] = {}  # paper key -> its notes
        self.index_notes: dict[tuple[str, str], list[NoteScan]] = {}  # (kind, folded name)
        self.citations: dict[str, list[NoteScan]] = {}  # paper key -> notes citing it
        self.stems: dict[str, int] = {}  # lowercase file name -> how many notes have it
        self.problems: dict[str, tuple[Problem, ...]] = {}  # path -> what its scan found
        self.contested: set[tuple[str, Any]] = set()  # ("paper", key) or ("index", identity)
        self.speaking: set[str] = set()  # paper note paths whose related parts hold the user's word
        self.tagged: dict[str, set[str]] = {}  # a tag as spelled -> the user's notes carrying it
        # paper key -> the user's notes naming it in their properties (`NoteScan.names_paper`)
        self.naming: dict[str, list[NoteScan]] = {}
        # a citekey -> the user's notes citing it in Pandoc's syntax (`[@jaegle2021perceiver]`)
        self.citing_citekey: dict[str, list[NoteScan]] = {}
        self.user_notes = 0  # notes vaultpapers did not generate (or could not scan)
        self.plugin_files = 0  # files other plugins keep for themselves (drawings): left alone
        self._in_order: list[NoteScan] | None = None
        self._add_all(scans)

    def __len__(self) -> int:
        return len(self.scan_at)

    def get(self, path: str) -> NoteScan | None:
        return self.scan_at.get(path)

    def in_path_order(self) -> list[NoteScan]:
        if self._in_order is None:
            self._in_order = [self.scan_at[path] for path in sorted(self.scan_at)]
        return self._in_order

    def put(self, scan: NoteScan) -> None:
        """Add a note's scan, in place of the one it had."""
        path = scan.note.path
        if path in self.scan_at:
            self.discard(path)
        self.scan_at[path] = scan
        self._in_order = None
        self.user_notes += _is_users(scan)
        self.plugin_files += scan.kind == PLUGIN_KIND
        stem = stem_of(path).lower()
        self.stems[stem] = self.stems.get(stem, 0) + 1
        if scan.problems:
            self.problems[path] = scan.problems
        if scan.paper_key:
            claimants = self.paper_notes.setdefault(scan.paper_key, [])
            insort(claimants, scan, key=_claimant_order)
            if len(claimants) > 1:
                self.contested.add(("paper", scan.paper_key))
            if scan.speaks:
                self.speaking.add(path)
        elif scan.index_name is not None:
            identity = (scan.kind, scan.index_name.casefold())
            claimants = self.index_notes.setdefault(identity, [])
            insort(claimants, scan, key=_by_path)
            if len(claimants) > 1:
                self.contested.add(("index", identity))
        for key in scan.cited:
            citing = self.citations.setdefault(key, [])
            if citing and path < citing[-1].note.path:
                insort(citing, scan, key=_by_path)
            else:  # notes mostly come in path order: the end is their place
                citing.append(scan)
        if scan.kind == USER_KIND:
            for tag in scan.tags:
                self.tagged.setdefault(tag, set()).add(path)
        if scan.names_paper is not None:
            insort(self.naming.setdefault(scan.names_paper, []), scan, key=_by_path)
        for citekey in scan.cites:
            insort(self.citing_citekey.setdefault(citekey, []), scan, key=_by_path)

    def _add_all(self, scans: Iterable[NoteScan]) -> None:
        """What `put` of each scan in turn would make, in one pass: a run builds a catalog
        of a whole vault, and most of `put` is keeping order one insertion at a time."""
        scan_at = self.scan_at
        for scan in sorted(scans, key=_PATH):  # C-level keys: a vault's worth of calls
            scan_at[scan.note.path] = scan
        # `stem_of`, written out: a call per note is a good part of building a catalog.
        self.stems = dict(
            Counter(path.rsplit("/", 1)[-1].removesuffix(".md").lower() for path in scan_at)
        )
        problems, paper_notes, index_notes = self.problems, self.paper_notes, self.index_notes
        citations, tagged = self.citations, self.tagged
        self.user_notes = sum(map(_is_users, scan_at.values()))
        self.plugin_files = sum(scan.kind == PLUGIN_KIND for scan in scan_at.values())
        for path, scan in scan_at.items():  # in path order: each group comes out sorted
            kind = scan.kind
            if scan.problems:
                problems[path] = scan.problems
            if scan.paper_key:
                paper_notes.setdefault(scan.paper_key, []).append(scan)
                if scan.speaks:
                    self.speaking.add(path)
            elif scan.index_name is not None:
                index_notes.setdefault((kind, scan.index_name.casefold()), []).append(scan)
            for key in scan.cited:
                citations.setdefault(key, []).append(scan)
            if kind == USER_KIND:
                for tag in scan.tags:
                    tagged.setdefault(tag, set()).add(path)
            if scan.names_paper is not None:
                self.naming.setdefault(scan.names_paper, []).append(scan)
            for citekey in scan.cites:
                self.citing_citekey.setdefault(citekey, []).append(scan)
        for key, claimants in paper_notes.items():
            if len(claimants) > 1:
                claimants.sort(key=_claimant_order)
                self.contested.add(("paper", key))
        self.contested.update(
            ("index", identity) for identity, claimants in index_notes.items() if len(claimants) > 1
        )

    def discard(self, path: str) -> None:
        scan = self.scan_at.pop(path, None)
        if scan is None:
            return
        self._in_order = None
        self.user_notes -= _is_users(scan)
        self.plugin_files -= scan.kind == PLUGIN_KIND
        stem = stem_of(path).lower()
        self.stems[stem] -= 1
        if not self.stems[stem]:
            del self.stems[stem]
        self.problems.pop(path, None)
        self.speaking.discard(path)
        if scan.paper_key:
            if _remove(self.paper_notes, scan.paper_key, scan) < 2:
                self.contested.discard(("paper", scan.paper_key))
        elif scan.index_name is not None:
            identity = (scan.kind, scan.index_name.casefold())
            if _remove(self.index_notes, identity, scan) < 2:
                self.contested.discard(("index", identity))
        for key in scan.cited:
            _remove(self.citations, key, scan)
        if scan.kind == USER_KIND:
            for tag in scan.tags:
                tagged = self.tagged[tag]
                tagged.discard(path)
                if not tagged:
                    del self.tagged[tag]
        if scan.names_paper is not None:
            _remove(self.naming, scan.names_paper, scan)
        for citekey in scan.cites:
            _remove(self.citing_citekey, citekey, scan)

    def claimed_twice(self) -> list[tuple[str, list[NoteScan]]]:
        """Papers and index notes with more than one note: ("arXiv <key>" or "<kind> <name>",
        the notes), papers first, each kind by its earliest note's path."""
        papers, indexes = [], []
        for group, key in self.contested:
            if group == "paper":
                papers.append((f"arXiv {key}", self.paper_notes[key]))
            else:
                indexes.append((f"{key[0]} {key[1]}", self.index_notes[key]))
        return sorted(papers, key=_earliest) + sorted(indexes, key=_earliest)

    def scan_problems(self) -> list[Problem]:
        """What the scans found, in path order."""
        return [problem for path in sorted(self.problems) for problem in self.problems[path]]


def _is_users(scan: NoteScan) -> bool:
    return scan.kind in (USER_KIND, OPAQUE_KIND)


def _earliest(group: tuple[str, list[NoteScan]]) -> str:
    return min(scan.note.path for scan in group[1])


def _remove(groups: dict[Any, list[NoteScan]], key: Any, scan: NoteScan) -> int:
    """Takes `scan` out of its group; returns how many notes the group has left."""
    group = groups[key]
    group.remove(scan)  # scans compare by identity
    if not group:
        del groups[key]
    return len(group)
