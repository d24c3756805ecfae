"""Test and benchmark helpers that ship with vaultpapers (a loopback arXiv API)."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vaultpapers.testing.arxiv_server import FakeArxiv, RecordedRequest, entry_xml


def __getattr__(name: str) -> object:
    # Imported when asked for: `python -m vaultpapers.testing.arxiv_server` runs that module
    # as __main__, and must not find it imported already by its package.
    if name in __all__:
        from vaultpapers.testing import arxiv_server

        return getattr(arxiv_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FakeArxiv", "RecordedRequest", "entry_xml"]
