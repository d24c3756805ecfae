"""Titles the vault does not know yet, looked up with arXiv's search API (`titles: search`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_titles import CHINCHILLA, COT, DDIM, DDPM, FLASH, GENERIC, GPT3, RESNET

from vaultpapers.cli import main
from vaultpapers.markdown.titles import title_candidates
from vaultpapers.testing.arxiv_server import FakeArxiv
from vaults import build_vault, is_only_insertions, link_cli, snapshot

REVIEW = """# Generative models review list

Deep Residual Learning for Image Recognition(2015)
Residual connections make very deep networks trainable.

Denoising Diffusion Probabilistic Models(2020)
A forward noising process and a learned reverse process.
"""
CONFERENCE = """# NeurIPS poster notes

## Contrastive learning

- Transformers
- Diffusion
: Chain of thought prompting elicits reasoning in large language models (예시가 중요)
• Flashattention: fast and memory-efficient exact attention with io-awareness(tiling)
- Training compute-optimal LLMs
"""
# What arXiv holds: the papers named above, and others whose titles hold the same words.
LIBRARY = (RESNET, DDPM, GPT3, COT, FLASH, DDIM, CHINCHILLA, GENERIC)


@pytest.fixture
def arxiv_library(fake_arxiv: FakeArxiv) -> FakeArxiv:
    for paper in LIBRARY:
        fake_arxiv.add(paper)
    return fake_arxiv


def searches(api: FakeArxiv) -> list[str]:
    return [r.search_query for r in api.requests if r.search_query]


def test_unknown_titles_are_looked_up_and_linked_in_one_run(
    tmp_path: Path, arxiv_library: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Review.md": REVIEW, "Conference.md": CONFERENCE})
    result = link_cli(vault, arxiv_library)
    review = (vault / "Review.md").read_text(encoding="utf-8")
    conference = (vault / "Conference.md").read_text(encoding="utf-8")
    assert is_only_insertions(REVIEW, review) and is_only_insertions(CONFERENCE, conference)
    assert "Recognition(2015) [[" in review and "Models(2020) [[" in review
    assert "(예시가 중요) [[" in conference and "io-awareness(tiling) [[" in conference
    assert "- Training compute-optimal LLMs\n" in conference  # a cut title: no link
    papers = " ".join(p.name for p in (vault / "Papers").glob("*.md"))
    for paper in (RESNET, DDPM, COT, FLASH):
        assert paper.arxiv_id in papers
    assert "4 after paper titles" in result.output
    # Several titles per request, each as a quoted phrase joined by OR.
    queries = searches(arxiv_library)
    assert len(queries) == 1
    assert 'ti:"deep residual learning for image recognition" OR ti:"' in queries[0]
    # The generic heading and the one-word bullets were never looked up.
    assert "contrastive" not in queries[0] and "transformers" not in queries[0]
    assert 'ti:"diffusion"' not in queries[0]
    # A second run asks nothing and changes nothing: answers, misses too, are cached.
    before = snapshot(vault)
    asked = len(arxiv_library.requests)
    again = link_cli(vault, arxiv_library)
    assert "0 links inserted" in again.output
    assert snapshot(vault) == before
    assert len(arxiv_library.requests) == asked


def test_a_title_whose_paper_a_url_brings_in_the_same_run_is_not_looked_up(
    tmp_path: Path, arxiv_library: FakeArxiv
) -> None:
    vault = build_vault(
        tmp_path / "v",
        {
            "Review.md": REVIEW,
            "Links.md": "https://arxiv.org/abs/1512.03385\nhttps://arxiv.org/abs/2006.11239\n",
        },
    )
    link_cli(vault, arxiv_library)
    review = (vault / "Review.md").read_text(encoding="utf-8")
    assert "Recognition(2015) [[" in review and "Models(2020) [[" in review
    assert searches(arxiv_library) == []  # both titles came with the papers fetched by id


def test_offline_and_titles_known_look_nothing_up(tmp_path: Path, arxiv_library: FakeArxiv) -> None:
    vault = build_vault(tmp_path / "v", {"Review.md": REVIEW})
    link_cli(vault, arxiv_library, "--offline")
    known = build_vault(
        tmp_path / "k", {"Review.md": REVIEW, ".vaultpapers/config.yaml": "titles: known\n"}
    )
    link_cli(known, arxiv_library)
    assert arxiv_library.requests == []
    assert (vault / "Review.md").read_text(encoding="utf-8") == REVIEW
    assert (known / "Review.md").read_text(encoding="utf-8") == REVIEW


def test_titles_an_offline_run_left_are_looked_up_by_the_next_run_online(
    tmp_path: Path, arxiv_library: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Review.md": REVIEW})
    link_cli(vault, arxiv_library, "--offline")
    link_cli(vault, arxiv_library)
    assert len(searches(arxiv_library)) == 1
    assert "Recognition(2015) [[" in (vault / "Review.md").read_text(encoding="utf-8")


def test_generic_headings_and_one_word_bullets_are_never_candidates() -> None:
    text = (
        "## Data augmentation\n## Contrastive Learning for Visual Representations\n"
        "- Transformers\n- Diffusion\n- some thoughts on what to read next week\n"
        "I think we should try the new optimizer tomorrow morning.\n"
        "Is this the best way to train large language models?\n"
        "the model uses a transformer encoder and a small decoder to\n"
        "```\nDeep Residual Learning for Image Recognition(2015)\n```\n"
        "- [Deep Residual Learning for Image Recognition](https://example.org)\n"
    )
    assert title_candidates(text, []) == []


def test_a_failed_search_is_reported_and_asked_again(
    tmp_path: Path, arxiv_library: FakeArxiv
) -> None:
    vault = build_vault(
        tmp_path / "v",
        {"Review.md": REVIEW, ".vaultpapers/config.yaml": "arxiv:\n  max_retries: 0\n"},
    )
    arxiv_library.fail_next(503)
    env = {"VAULTPAPERS_ARXIV_API": arxiv_library.url, "VAULTPAPERS_ARXIV_DELAY": "0"}
    result = CliRunner().invoke(main, ["link", str(vault)], env=env)
    assert result.exit_code == 1  # a rerun has work left
    assert "not looked up on arXiv (arXiv answered HTTP 503" in result.output
    assert (vault / "Review.md").read_text(encoding="utf-8") == REVIEW
    link_cli(vault, arxiv_library)  # arXiv answers again: nothing was lost
    assert "Recognition(2015) [[" in (vault / "Review.md").read_text(encoding="utf-8")


_PIECES = st.sampled_from(
    [
        "the",
        "Deep",
        "models",
        "#",
        "-",
        "`",
        "*",
        "[",
        "]",
        "(",
        ")",
        "2015",
        ":",
        "\n",
        "\n- ",
        "\n## ",
        "```\n",
        "[[",
        "]]",
        "\n> ",
    ]
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    chunks=st.lists(
        st.one_of(_PIECES, st.sampled_from([f"\n{p.title}" for p in LIBRARY])),
        min_size=1,
        max_size=25,
    )
)
def test_markdown_with_titles_only_gains_links_and_a_second_run_asks_nothing(
    tmp_path_factory: pytest.TempPathFactory, chunks: list[str]
) -> None:
    text = " ".join(chunks) + "\n"
    vault = build_vault(tmp_path_factory.mktemp("v"), {"note.md": text})
    with FakeArxiv() as api:
        for paper in LIBRARY:
            api.add(paper)
        link_cli(vault, api)
        after = (vault / "note.md").read_text(encoding="utf-8")
        assert is_only_insertions(text, after)
        before = snapshot(vault)
        asked = len(api.requests)
        link_cli(vault, api)
        assert snapshot(vault) == before
        assert len(api.requests) == asked
