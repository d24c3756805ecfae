"""What a run is asked to do beyond the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RunOptions:
    """What one run is asked to do beyond the settings: `vaultpapers link` asks for nothing
    more (`offline`, `dry_run` at most); the watcher tells it what it knows of the vault.

    - `defer_links_in`: notes the user is still editing: no links inserted into them yet.
    - `defer_papers`: papers whose metadata is being fetched: no paper note for them yet.
    - `defer_uncached`: every paper without cached metadata deferred too, and reported
      pending: a caller that fetches them itself (the watcher, starting) learns which.
    - `changed`: with a warm vault, the only notes that can have changed since the last run
      (the caller watches the folder); the folder is not listed again.
    - `defer_relations`: a new paper's related papers and the index notes come in a later
      run, and the report says so (`relations_stale`).
    - `refresh_keys`: ask arXiv again about these papers now, due or not, beyond the run's
      budget (`vaultpapers refresh`); `refresh_all`: every paper. Otherwise the papers due are.
    - `metadata_changed`: papers' metadata changed since the last run (the watcher's fetcher
      asked arXiv again): the plan is a full one.
    """

    offline: bool = False
    dry_run: bool = False
    defer_links_in: frozenset[str] = frozenset()
    defer_papers: frozenset[str] = frozenset()
    defer_uncached: bool = False
    changed: frozenset[str] | None = None
    defer_relations: bool = False
    refresh_keys: frozenset[str] | None = None
    refresh_all: bool = False
    metadata_changed: bool = False
