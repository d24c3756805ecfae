"""Titles of papers in notes: the index a run matches notes against, what the kept scans
were matched against, and which kept scans a change of titles makes out of date."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.config import Settings
from vaultpapers.markdown.titles import TitleIndex, known_title
from vaultpapers.run.incremental import KeptIndex, WarmVault
from vaultpapers.run.sources import cache_path, open_cache
from vaultpapers.scan.note import USER_KIND, NoteScan
from vaultpapers.vaultfs.state import StateStore

TITLES = "titles"  # state: the titles the kept scans were matched against


TITLE_INDEX = "title_index"  # state: the index as last built (`KeptIndex`)
# Titles written to the cache since the index was kept, past which it is built again (and
# kept) rather than brought up to date title by title.
REBUILD_AFTER = 500


def title_index(
    vault: Path,
    settings: Settings,
    state: StateStore,
    *,
    dry_run: bool = False,
    warm: WarmVault | None = None,
) -> TitleIndex | None:
    """The titles of every paper the cache knows (None: `titles: off`): as the `warm` vault
    or the state kept them, brought up to date with the few papers written since, else built
    from the cache (and kept)."""
    if settings.titles == "off":
        return None
    if dry_run and not cache_path(vault).exists():
        return TitleIndex()
    with open_cache(vault, in_memory=dry_run) as cache:
        version = cache.version()
        if version is None:
            return TitleIndex.of(cache.titles()[0])
        kept = _up_to_date(cache, warm.titles if warm is not None else None, version)
        if kept is None:
            kept = _up_to_date(cache, KeptIndex.from_json(state.get(TITLE_INDEX)), version)
        if kept is None:
            rows, through = cache.titles()
            kept = KeptIndex(*version, through, TitleIndex.of(rows))
            if not dry_run:
                state.put(TITLE_INDEX, kept.to_json())
    if warm is not None:
        warm.titles = kept
    return kept.titles


def _up_to_date(
    cache: PaperCache, kept: KeptIndex | None, version: tuple[str, int]
) -> KeptIndex | None:
    """`kept` with the titles written since (None: it is another cache's, or too far behind,
    or the cache's clock went back)."""
    if kept is None or kept.cache != version[0] or kept.writes > version[1]:
        return None
    if kept.writes == version[1]:
        return kept
    if kept.through is None:
        return None
    written, through = cache.titles(since=kept.through)
    if not written or len(written) > REBUILD_AFTER:
        return None
    for key, title, year in written:
        kept.titles.replace(key, known_title(key, title, year))
    return KeptIndex(version[0], version[1], through, kept.titles)


def titles_changed(
    state: StateStore, titles: TitleIndex | None
) -> tuple[TitleIndex, set[str]] | None:
    """The titles added since the kept scans were matched, and the papers whose title left
    (None: none changed)."""
    saved = state.get(TITLES)
    digest = titles.digest() if titles is not None else ""
    if isinstance(saved, dict) and saved.get("digest") == digest:
        return None
    before = set(saved.get("keys", [])) if isinstance(saved, dict) else set()
    now = titles.keys if titles is not None else set()
    added = titles.only(now - before) if titles is not None else TitleIndex()
    return added, before - now


def remember_titles(state: StateStore, titles: TitleIndex | None) -> None:
    state.put(
        TITLES,
        {
            "digest": titles.digest() if titles is not None else "",
            "keys": sorted(titles.keys) if titles is not None else [],
        },
    )


# Past this many (note, added title) pairs, every user's note is scanned again rather than
# tested title by title: a first run learns thousands of titles at once. A test is a few AND
# of two ints; scanning a note again costs a thousand times more.
_TITLE_TESTS_MAX = 20_000_000


def naming_titles(
    vault: Path,
    settings: Settings,
    paths: Iterable[str],
    earlier_of: Callable[[str], NoteScan | None],
    changed: tuple[TitleIndex, set[str]] | None,
) -> set[str]:
    """The user's notes among `paths` whose kept scan is out of date for the titles that
    changed: they cite a paper whose title left, or may name one that was added."""
    if changed is None:
        return set()
    added, removed = changed
    masks = list({entry.mask for entry in added.entries()})
    user_notes = []
    for path in paths:
        earlier = earlier_of(path)
        if earlier is not None and earlier.kind == USER_KIND:
            user_notes.append(earlier)
    stale = {scan.note.path for scan in user_notes if not removed.isdisjoint(scan.cited)}
    if not masks:
        return stale
    if len(masks) * len(user_notes) > _TITLE_TESTS_MAX:
        return stale | {scan.note.path for scan in user_notes}
    for scan in user_notes:
        held = scan.words
        if scan.note.path in stale:
            continue
        if held is None:
            # Scanned while the vault knew no title: scanned again, and from then on masked.
            stale.add(scan.note.path)
        elif any(held & mask == mask for mask in masks):
            # The filter's few false positives are settled by the note's words themselves.
            try:
                with open(vault / scan.note.path, "rb") as file:
                    data = file.read(settings.max_note_bytes + 1)
            except OSError:
                continue
            if added.may_be_named_in(data.decode("utf-8", "replace")):
                stale.add(scan.note.path)
    return stale
