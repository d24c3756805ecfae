"""Serve a generated vault's metadata on loopback, for profiling one step by hand.

    python benchmarks/generate.py --notes 10000 /tmp/v10k
    python benchmarks/serve.py --notes 10000          # prints the two variables to export
    python -m cProfile -o link.prof -m vaultpapers link /tmp/v10k   # in another shell

Same `--notes` and `--seed` as the generator, so it serves exactly the papers that vault cites
(plus the spare ones the benchmark's edits cite). Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import sys
import threading

from generate import DEFAULT_SEED, make_corpus

from vaultpapers.testing.arxiv_server import FakeArxiv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, required=True)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    corpus = make_corpus(args.notes, args.seed)
    with FakeArxiv() as api:
        for paper in corpus.served_papers():
            api.add(paper)
        print(f"export VAULTPAPERS_ARXIV_API={api.url} VAULTPAPERS_ARXIV_DELAY=0", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print(f"\n{len(api.requests)} request(s) served.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
