"""Fetching the papers a run's changed notes newly cite, in a helper process started as soon as
those notes are read.

A run that finds one new paper in one edited note spends most of its time loading what it kept
of the vault and, before it can ask arXiv, importing the HTTP and XML stack (figures:
benchmarks/README.md, "Figures behind design choices"). The helper does the second on the
other core while this process does the first: it fetches into the paper cache, as any run
would (same pacing, same backoff, the cache's request schedule shared between processes), and
says what came of each id. It is only a head start: an id the helper did not settle, for
whatever reason (it could not start, crashed, was interrupted), is fetched by the run itself
as it would have been.

Run as `python -m vaultpapers.arxiv.prefetch`, with the request as JSON on stdin and the answer as
JSON on stdout.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("vaultpapers")


@dataclass(frozen=True)
class Prefetched:
    """What the helper settled: ids now in the cache, ids arXiv does not have (marked in the
    cache too), ids that failed this time (and why), and the requests it made."""

    found: frozenset[str]
    not_found: frozenset[str]
    failed: dict[str, str] = field(default_factory=dict)
    requests: int = 0


class Prefetch:
    """The helper fetching `keys`; `result` waits for it."""

    def __init__(self, keys: Sequence[str], process: subprocess.Popen[bytes] | None) -> None:
        self.keys = frozenset(keys)
        self._process = process
        self._result: Prefetched | None = None

    @classmethod
    def start(cls, cache_file: Path, keys: Sequence[str], options: dict[str, Any]) -> Prefetch:
        """`options`: the arXiv source's, as `make_source` gives them."""
        request = {"cache": str(cache_file), "keys": sorted(keys), "options": options}
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "vaultpapers.arxiv.prefetch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        except (OSError, ValueError) as exc:
            log.debug("no helper to fetch %d paper(s) ahead (%s)", len(keys), exc)
            return cls(keys, None)
        assert process.stdin is not None
        try:
            with process.stdin:
                process.stdin.write(json.dumps(request).encode())
        except OSError:
            pass  # it is gone already: `result` finds out
        return cls(keys, process)

    def result(self) -> Prefetched:
        """What the helper settled, once it is done: nothing if it failed."""
        if self._process is not None:
            process, self._process = self._process, None
            assert process.stdout is not None
            with process.stdout:
                out = process.stdout.read()
            process.wait()
            self._result = _answer(out) if process.returncode == 0 else None
            if self._result is None:
                log.debug("the helper fetching ahead exited with %s", process.returncode)
        return self._result or Prefetched(frozenset(), frozenset())


def _answer(out: bytes) -> Prefetched | None:
    try:
        answer = json.loads(out)
        return Prefetched(
            frozenset(answer["found"]),
            frozenset(answer["not_found"]),
            {str(key): str(why) for key, why in answer["failed"].items()},
            int(answer["requests"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def fetch_into_cache(
    cache_file: Path, keys: Collection[str], options: dict[str, Any]
) -> Prefetched:
    # Only what fetching needs: the helper is done sooner the less it imports.
    from vaultpapers.arxiv.cache import PaperCache
    from vaultpapers.arxiv.client import ArxivSource

    with PaperCache(cache_file) as cache:
        result = ArxivSource(**options, cache=cache).fetch(keys)
    return Prefetched(
        frozenset(result.papers), result.not_found, dict(result.failed), result.requests
    )


def main() -> int:
    logging.basicConfig(format="vaultpapers: %(message)s", level=logging.WARNING)
    try:
        request: dict[str, Any] = json.load(sys.stdin)
        done = fetch_into_cache(Path(request["cache"]), request["keys"], request["options"])
    except KeyboardInterrupt:
        return 130  # the user stopped the run: its own process says so
    answer = {
        "found": sorted(done.found),
        "not_found": sorted(done.not_found),
        "failed": done.failed,
        "requests": done.requests,
    }
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
