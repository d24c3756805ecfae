"""arXiv misbehaving, on cue from the loopback server: nothing lost, nothing half-written, a
clear message, and the vault a fault-free run would have made once the API is healthy again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from factories import make_paper
from reliability.harness import environment, front_matter, lines_naming, link, paper_notes
from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.arxiv.client import ArxivSource
from vaultpapers.config import load_settings
from vaultpapers.run.pipeline import run_link
from vaultpapers.run.sources import cache_path
from vaultpapers.testing import FakeArxiv
from vaults import MALDACENA, MIXER, build_vault, notes_only, snapshot

# Unrelated papers: the series and mention detection is not what these tests are about.
LENSING = make_paper("2002.01001", "Weak Lensing of the Cosmic Microwave Background")
PROTEINS = make_paper("2002.01002", "Folding Proteins with Coarse Grained Models")
PAPERS = (MIXER, MALDACENA, LENSING, PROTEINS)
# batch_size 2: the four papers take two requests, so a fault can hit one batch of several.
CONFIG = "arxiv:\n  batch_size: 2\n  timeout: 0.5\n  max_retries: 1\n"
NOTES = {
    ".vaultpapers/config.yaml": CONFIG,
    "Reading.md": "# Reading\n\n"
    "- https://arxiv.org/abs/2105.01601 vision\n"
    "- hep-th/9711200 holography\n"
    "- [lensing](https://arxiv.org/abs/2002.01001)\n"
    "- arXiv:2002.01002 proteins\n",
}


@pytest.fixture
def api(fake_arxiv: FakeArxiv) -> FakeArxiv:
    for paper in PAPERS:
        fake_arxiv.add(paper)
    return fake_arxiv


@pytest.fixture
def fault_free(tmp_path: Path, api: FakeArxiv) -> dict[str, bytes]:
    """The vault a run against a healthy API makes: what every recovery must end with."""
    vault = build_vault(tmp_path / "reference", NOTES)
    result = link(vault, api)
    assert result.exit_code == 0, result.output
    served = len(api.requests)
    assert link(vault, api).exit_code == 0 and len(api.requests) == served
    return notes_only(snapshot(vault))


def vault_under_test(tmp_path: Path) -> Path:
    return build_vault(tmp_path / "vault", NOTES)


def assert_no_note_is_half_done(vault: Path) -> None:
    """User notes only ever gain links to complete paper notes; every paper note parses."""
    for key, paths in paper_notes(vault).items():
        assert len(paths) == 1, f"{key} has notes {paths}"
        data = front_matter((vault / paths[0]).read_text(encoding="utf-8"))
        assert data is not None and data["arxiv_id"] == key
    reading = (vault / "Reading.md").read_text(encoding="utf-8")
    assert "[[arXiv " not in reading, "a link to a pending note, which is renamed later"


Fault = Callable[[FakeArxiv], None]

RECOVERED_WITHIN_THE_RUN: dict[str, Fault] = {
    "429 with Retry-After": lambda api: api.fail_next(429, retry_after=1),
    "503 with Retry-After": lambda api: api.fail_next(503, retry_after=1),
    "500": lambda api: api.fail_next(500),
    "a timeout": lambda api: api.stall_next(3),
    "a dropped connection": lambda api: api.drop_connection_next(),
    "malformed XML": lambda api: api.malformed_next(),
    "an empty page": lambda api: api.empty_next(),
    "HTTP 400 naming no id": lambda api: api.fail_next(400),
}


@pytest.mark.parametrize("fault", RECOVERED_WITHIN_THE_RUN.values(), ids=RECOVERED_WITHIN_THE_RUN)
def test_a_passing_fault_is_retried_and_the_run_ends_as_a_fault_free_one(
    tmp_path: Path, api: FakeArxiv, fault_free: dict[str, bytes], fault: Fault
) -> None:
    vault = vault_under_test(tmp_path)
    before = len(api.requests)
    fault(api)
    result = link(vault, api)
    assert result.exit_code == 0, result.output
    assert notes_only(snapshot(vault)) == fault_free
    faulted = [r for r in api.requests[before:] if r.fault]
    assert faulted, "the fault was never served"
    for request in faulted:
        retried = [r for r in api.requests[before:] if r.time > request.time and not r.fault]
        assert any(set(request.id_list) & set(r.id_list) for r in retried), "not retried"


def test_retry_after_is_honoured(tmp_path: Path, api: FakeArxiv) -> None:
    vault = vault_under_test(tmp_path)
    api.fail_next(429, retry_after=2)
    assert link(vault, api).exit_code == 0
    refused, retry = api.requests[0], api.requests[1]
    assert refused.fault == "fail" and retry.id_list == refused.id_list
    assert retry.time - refused.time >= 2.0


OUTAGES: dict[str, Fault] = {
    "503 on every attempt": lambda api: api.fail_next(503, retry_after=1, times=2),
    "429 asking for a 10-minute wait": lambda api: api.fail_next(429, retry_after=600),
    "timeouts on every attempt": lambda api: api.stall_next(3, times=2),
    "malformed XML on every attempt": lambda api: api.malformed_next(times=4),
    "connections dropped on every attempt": lambda api: api.drop_connection_next(times=2),
}


@pytest.mark.parametrize("outage", OUTAGES.values(), ids=OUTAGES)
def test_an_outage_leaves_pending_notes_and_the_next_run_completes_them(
    tmp_path: Path, api: FakeArxiv, fault_free: dict[str, bytes], outage: Fault
) -> None:
    vault = vault_under_test(tmp_path)
    original = (vault / "Reading.md").read_bytes()
    outage(api)
    first = link(vault, api)

    assert first.exit_code == 1, first.output
    for paper in PAPERS:
        assert lines_naming(first.stderr, paper.arxiv_id), f"{paper.arxiv_id} not reported"
    assert sorted(paper_notes(vault)) == sorted(p.arxiv_id for p in PAPERS)
    assert_no_note_is_half_done(vault)
    # Pending papers get no link yet: their notes are renamed once the title is known.
    assert (vault / "Reading.md").read_bytes() == original
    with PaperCache(cache_path(vault)) as cache:
        keys = [p.arxiv_id for p in PAPERS]
        assert cache.not_found(keys, max_age=timedelta(days=7)) == set(), (
            "a failed request made papers 'not found'"
        )

    second = link(vault, api)
    assert second.exit_code == 0, second.output
    assert notes_only(snapshot(vault)) == fault_free


def test_a_batch_that_fails_for_good_keeps_the_papers_of_the_batches_that_worked(
    tmp_path: Path, api: FakeArxiv, fault_free: dict[str, bytes]
) -> None:
    vault = vault_under_test(tmp_path)

    def after_each_batch(done: int, total: int) -> None:
        if done == 2:  # the first batch is in: the rest of the run meets an outage
            api.fail_next(503, times=2)

    settings = load_settings(vault, environment(api))
    report = run_link(vault, settings, progress=after_each_batch)
    assert not report.complete
    first_batch = set(api.requests[0].id_list)
    assert set(report.pending) == {p.arxiv_id for p in PAPERS} - first_batch
    complete = {
        key
        for key, (path,) in paper_notes(vault).items()
        if front_matter((vault / path).read_text(encoding="utf-8")).get("metadata") != "pending"
    }
    assert complete == first_batch
    asked = len(api.requests)

    second = link(vault, api)
    assert second.exit_code == 0, second.output
    refetched = {key for request in api.requests[asked:] for key in request.id_list}
    assert refetched == {p.arxiv_id for p in PAPERS} - first_batch
    assert notes_only(snapshot(vault)) == fault_free


def test_a_partial_batch_gives_notes_to_the_papers_served_and_reports_the_rest(
    tmp_path: Path, api: FakeArxiv
) -> None:
    files = {**NOTES, "More.md": "Also arXiv:2002.09999 and https://arxiv.org/abs/2002.09998v2\n"}
    vault = build_vault(tmp_path / "vault", files)
    result = link(vault, api)
    assert result.exit_code == 0, result.output
    assert sorted(paper_notes(vault)) == sorted(p.arxiv_id for p in PAPERS)
    assert lines_naming(result.stderr, "More.md:1", "no paper 2002.09999")
    assert lines_naming(result.stderr, "More.md:1", "no paper 2002.09998")
    assert (vault / "More.md").read_text(encoding="utf-8") == files["More.md"]
    asked = len(api.requests)
    again = link(vault, api)
    assert again.exit_code == 0 and len(api.requests) == asked


def test_http_400_error_entries_isolate_the_rejected_id(api: FakeArxiv) -> None:
    source = ArxivSource(api.url, delay=0, timeout=5, batch_size=10, max_retries=1)
    result = source.fetch(["2105.01601", "hep-th/9711200", "no-such/id"])
    assert set(result.papers) == {"2105.01601", "hep-th/9711200"}
    assert result.not_found == {"no-such/id"}
    assert result.failed == {}
    assert "no-such/id" not in api.requests[-1].id_list


def test_a_paper_pending_after_an_outage_that_arxiv_then_does_not_know_is_reported_and_done(
    tmp_path: Path, api: FakeArxiv
) -> None:
    files = {
        ".vaultpapers/config.yaml": "arxiv:\n  max_retries: 0\n",
        "Typo.md": "I meant another paper: arXiv:2109.99999\n",
    }
    vault = build_vault(tmp_path / "vault", files)
    api.fail_next(503)
    assert link(vault, api).exit_code == 1  # the outage: pending, a later run has work left

    healthy = link(vault, api)
    assert lines_naming(healthy.stderr, "Typo.md:1", "no paper 2109.99999"), healthy.stderr
    assert healthy.exit_code == 0, healthy.output
    assert link(vault, api).exit_code == 0
