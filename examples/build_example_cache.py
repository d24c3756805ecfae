"""Rebuild `examples/vault/.vaultpapers/cache.sqlite` from `examples/arxiv-entries/`, offline.

The entries are served by the loopback arXiv API and fetched with the real client, the same
path metadata takes in a real run, so the shipped cache is exactly what a run would store.
Run it after changing an entry: `python examples/build_example_cache.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.arxiv.client import ArxivSource
from vaultpapers.testing.arxiv_server import FakeArxiv

EXAMPLES = Path(__file__).resolve().parent
ENTRIES = EXAMPLES / "arxiv-entries"
DEFAULT_TARGET = EXAMPLES / "vault" / ".vaultpapers" / "cache.sqlite"


def build_cache(target: Path, entries: Path = ENTRIES) -> int:
    """Write a fresh cache at `target` holding every entry; returns the number of papers."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (
        target,
        target.with_name(target.name + "-wal"),
        target.with_name(target.name + "-shm"),
    ):
        stale.unlink(missing_ok=True)
    keys = [path.stem.replace("_", "/") for path in sorted(entries.glob("*.xml"))]
    with FakeArxiv() as api, PaperCache(target) as cache:
        api.load_entries(entries)
        result = ArxivSource(api.url, delay=0, cache=cache).fetch(keys)
    if result.failed or result.not_found:
        raise SystemExit(f"could not build the cache: {result.failed or result.not_found}")
    return len(result.papers)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_TARGET
    print(f"{build_cache(target)} papers written to {target}")
