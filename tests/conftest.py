"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vaultpapers.testing import FakeArxiv


@pytest.fixture
def fake_arxiv() -> Iterator[FakeArxiv]:
    """A running loopback arXiv API, empty until the test adds papers."""
    with FakeArxiv() as api:
        yield api
