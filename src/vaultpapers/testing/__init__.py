"""Test and benchmark helpers that ship with vaultpapers (a loopback arXiv API)."""

from vaultpapers.testing.arxiv_server import FakeArxiv, RecordedRequest, entry_xml

__all__ = ["FakeArxiv", "RecordedRequest", "entry_xml"]
