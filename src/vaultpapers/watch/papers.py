"""Which papers the watcher asks the fetcher for: those its notes cite that are neither cached
nor already asked about, nor known recently not to exist."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.arxiv.resolve import NOT_FOUND_MAX_AGE
from vaultpapers.config import Settings
from vaultpapers.model import Note
from vaultpapers.scan.note import scan_or_report
from vaultpapers.vaultfs.files import read_note
from vaultpapers.watch.fetcher import MetadataFetcher


class PaperRequests:
    """Reads changed notes for what they cite, and hands the fetcher what it lacks."""

    def __init__(
        self,
        vault: Path,
        settings: Settings,
        cache: PaperCache | None,
        fetcher: MetadataFetcher | None,
    ) -> None:
        self._vault = vault
        self._max_bytes = settings.max_note_bytes
        self._cache = cache
        self._fetcher = fetcher

    def discover(self, paths: Iterable[str]) -> set[str]:
        """Read the given notes: ask the fetcher for papers they cite that are not cached.
        Returns the notes that cite anything (only those need links, hence settling)."""
        with_references: set[str] = set()
        keys: set[str] = set()
        for path in paths:
            note = read_note(self._vault, path, max_bytes=self._max_bytes)
            if not isinstance(note, Note):
                continue
            scan = scan_or_report(note)
            if scan.cited:
                with_references.add(path)
            keys.update(scan.cited)
        self.request(keys)
        return with_references

    def request(self, keys: Iterable[str]) -> None:
        if self._fetcher is None or self._cache is None:
            return
        wanted = set(keys) - self._fetcher.known()
        if not wanted:
            return
        wanted -= set(self._cache.get_many(wanted))
        wanted -= self._cache.not_found(wanted, max_age=NOT_FOUND_MAX_AGE)
        if wanted:
            self._fetcher.request(wanted)
