"""A run that finds newly cited papers in the notes it reads starts fetching them in a helper
process while it loads the rest of the vault: the same vault, report and requests as without,
and whatever the helper did not settle is fetched by the run itself."""

from __future__ import annotations

import logging
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.arxiv.prefetch import Prefetch
from vaultpapers.config import ArxivSettings, Settings
from vaultpapers.run import scanning
from vaultpapers.run.pipeline import run_link
from vaultpapers.run.report import RunReport
from vaultpapers.run.sources import source_options
from vaultpapers.testing.arxiv_server import FakeArxiv
from vaults import MIXER, PERCEIVER, PERCEIVER_IO, build_vault, snapshot

NOTES = {
    "Reading log.md": "Perceiver: https://arxiv.org/abs/2103.03206 #review\n",
    "Other.md": "Nothing cited here.\n",
}
EDIT = "\nAlso Perceiver IO, arXiv:2107.14795, and a typo: arXiv:2107.99999.\n"


def settings_for(api: FakeArxiv) -> Settings:
    return Settings(arxiv=replace(ArxivSettings(), api_url=api.url, delay=0, max_retries=0))


def edited_vault(root: Path, api: FakeArxiv) -> Path:
    """A vault linked once, then a note of it edited to cite two papers not cached yet."""
    vault = build_vault(root, dict(NOTES))
    assert run_link(vault, settings_for(api)).complete
    with (vault / "Reading log.md").open("a", encoding="utf-8") as note:
        note.write(EDIT)
    return vault


def outcome(report: RunReport) -> tuple:
    return report.requests, report.pending, sorted(map(str, report.problems)), report.papers


@pytest.fixture
def api(fake_arxiv: FakeArxiv) -> FakeArxiv:
    for paper in (PERCEIVER, PERCEIVER_IO, MIXER):
        fake_arxiv.add(paper)
    return fake_arxiv


def test_the_helper_fetches_into_the_cache_and_says_what_came_of_each_id(
    tmp_path: Path, api: FakeArxiv
) -> None:
    cache_file = tmp_path / "cache.sqlite"
    keys = ["2103.03206", "2107.14795", "2107.99999"]
    done = Prefetch.start(cache_file, keys, source_options(settings_for(api))).result()
    assert done.found == {"2103.03206", "2107.14795"}
    assert done.not_found == {"2107.99999"} and not done.failed
    assert done.requests == len(api.requests) == 1
    with PaperCache(cache_file) as cache:
        assert cache.get_many(keys) == {"2103.03206": PERCEIVER, "2107.14795": PERCEIVER_IO}
        assert cache.not_found(keys, max_age=timedelta(days=1)) == {"2107.99999"}


def test_a_run_with_a_head_start_leaves_what_a_run_without_one_leaves(
    tmp_path: Path,
    api: FakeArxiv,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(scanning, "FETCH_AHEAD_MIN", 10**9)
    plain_vault = edited_vault(tmp_path / "plain", api)
    plain = run_link(plain_vault, settings_for(api))

    monkeypatch.setattr(scanning, "FETCH_AHEAD_MIN", 0)
    ahead_vault = edited_vault(tmp_path / "ahead", api)
    with caplog.at_level(logging.DEBUG, logger="vaultpapers"):
        ahead = run_link(ahead_vault, settings_for(api))
    assert "fetching 2 paper(s) ahead" in caplog.text

    assert outcome(ahead) == outcome(plain) and ahead.requests == 1
    assert "arXiv has no paper 2107.99999" in map(lambda p: p.message, ahead.problems)

    def notes(vault: Path) -> dict[str, bytes]:
        return {k: v for k, v in snapshot(vault).items() if not k.startswith(".vaultpapers/")}

    assert notes(ahead_vault) == notes(plain_vault)
    assert run_link(ahead_vault, settings_for(api)).requests == 0, "all of it cached"


def test_ids_the_helper_could_not_fetch_stay_pending_and_are_not_asked_again(
    tmp_path: Path, api: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = edited_vault(tmp_path / "v", api)
    monkeypatch.setattr(scanning, "FETCH_AHEAD_MIN", 0)
    before = len(api.requests)
    api.fail_next(503)
    report = run_link(vault, settings_for(api))
    assert len(api.requests) - before == report.requests == 1, "one try, by the helper"
    assert sorted(report.pending) == ["2107.14795", "2107.99999"]
    assert "503" in report.pending["2107.14795"]
    assert not report.complete
    retried = run_link(vault, settings_for(api))
    assert retried.complete and retried.requests == 1


@pytest.mark.parametrize(
    "helper",
    [
        None,  # cannot even start
        "#!/bin/sh\nexit 1\n",  # dies
        "#!/bin/sh\necho '{\"found\": 3}'\n",  # answers nonsense
    ],
)
def test_without_a_working_helper_the_run_fetches_everything_itself(
    tmp_path: Path, api: FakeArxiv, monkeypatch: pytest.MonkeyPatch, helper: str | None
) -> None:
    vault = edited_vault(tmp_path / "v", api)
    monkeypatch.setattr(scanning, "FETCH_AHEAD_MIN", 0)
    python = tmp_path / "python"
    if helper is not None:
        python.write_text(helper, encoding="utf-8")
        python.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(python))
    report = run_link(vault, settings_for(api))
    assert report.requests == 1 and list(report.pending) == []
    assert "[[Perceiver IO" in (vault / "Reading log.md").read_text(encoding="utf-8")
