"""Papers named by their title: the matching rule on text, and `link` end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import make_paper
from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.markdown.titles import (
    TitleIndex,
    find_titles,
    known_title,
    near_misses,
    normal_words,
    pair_mask,
)
from vaultpapers.testing.arxiv_server import FakeArxiv
from vaults import build_vault, is_only_insertions, link_cli, snapshot

RESNET = make_paper(
    "1512.03385", "Deep Residual Learning for Image Recognition", published="2015-12-10"
)
DDPM = make_paper("2006.11239", "Denoising Diffusion Probabilistic Models", published="2020-06-19")
GPT3 = make_paper("2005.14165", "Language Models are Few-Shot Learners", published="2020-05-28")
COT = make_paper(
    "2201.11903",
    "Chain-of-Thought Prompting Elicits Reasoning in Large Language Models",
    published="2022-01-28",
)
FLASH = make_paper(
    "2205.14135",
    "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness",
    published="2022-05-27",
)
DDIM = make_paper("2010.02502", "Denoising Diffusion Implicit Models", published="2020-10-06")
CHINCHILLA = make_paper(
    "2203.15556", "Training Compute-Optimal Large Language Models", published="2022-03-29"
)
# A generic phrase that is also some paper's exact title.
GENERIC = make_paper("2002.99999", "Contrastive Learning", published="2020-02-01")
PAPERS = (RESNET, DDPM, GPT3, COT, FLASH, DDIM, CHINCHILLA, GENERIC)


def index(*papers) -> TitleIndex:
    return TitleIndex.of((p.arxiv_id, p.title, p.published.year) for p in papers or PAPERS)


def linked(text: str, *papers) -> list[tuple[str, str]]:
    """(key, text written) of each title found."""
    return [(m.title.key, text[m.start : m.end]) for m in find_titles(text, index(*papers))]


def test_normalisation_reads_case_quotes_dashes_ampersands_and_colons_alike() -> None:
    assert normal_words("FlashAttention — Fast & “Memory-Efficient”") == normal_words(
        "flashattention: fast and memory efficient"
    )


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("Deep Residual Learning for Image Recognition(2015)", "1512.03385"),
        ("Denoising Diffusion Probabilistic Models(2020)", "2006.11239"),
        ("- Language Models are Few-Shot Learners(2020)", "2005.14165"),
        (
            ": Chain of thought prompting elicits reasoning in large language models (예시가 중요)",
            "2201.11903",
        ),
        (
            "• Flashattention: fast and memory-efficient exact attention with io-awareness(tiling)",
            "2205.14135",
        ),
        ("1. **Denoising Diffusion Implicit Models**, Song et al.", "2010.02502"),
        ("Day 2: Training Compute-Optimal Large Language Models - Hoffmann", "2203.15556"),
        ("We read Language Models are Few-Shot Learners last week.", "2005.14165"),
    ],
)
def test_titles_written_the_ways_researchers_write_them_are_found(line: str, key: str) -> None:
    assert [k for k, _ in linked(line)] == [key]


@pytest.mark.parametrize(
    "line",
    [
        "Denoising Difusion Implicit Models",  # a typo: reported elsewhere, never linked
        "Training compute-optimal LLMs",  # cut: not the title
        "Deep Residual Learning for Image Recognition(2019)",  # the year says another paper
        "## Contrastive learning",  # a generic heading equal to a paper's title
        "- Contrastive Learning",
        "language models are few-shot learners when you prompt them well",  # a sentence
        "`Deep Residual Learning for Image Recognition`",  # code
        "[Deep Residual Learning for Image Recognition](https://example.org/resnet)",  # a link
        # The shape of a link, its bracket escaped: no title's link goes inside it either.
        "\\[Deep Residual Learning for Image Recognition](https://example.org/resnet)",
        "[[Deep Residual Learning for Image Recognition]]",  # a wikilink
        "Deep Residual Learning for Image",
    ],
)
def test_near_misses_generic_phrases_and_non_prose_are_not_titles(line: str) -> None:
    assert linked(line) == []


def test_front_matter_and_code_blocks_name_no_paper() -> None:
    text = (
        "---\ntitle: Deep Residual Learning for Image Recognition\n---\n"
        "```\nDenoising Diffusion Probabilistic Models\n```\n"
    )
    assert linked(text) == []


def test_near_misses_name_the_closest_title_and_generic_lines_are_no_near_miss() -> None:
    text = "- Denoising Difusion Implicit Models\n- Data augmentation with noise\n"
    (miss,) = near_misses(text, index(), [])
    assert (miss.line, miss.written, miss.title.key) == (
        1,
        "Denoising Difusion Implicit Models",
        "2010.02502",
    )


def test_a_heading_cites_but_gets_no_link() -> None:
    (match,) = find_titles("## Deep Residual Learning for Image Recognition\n", index())
    assert match.insert_at is None


def test_the_link_goes_after_a_glued_year_and_a_glued_comment() -> None:
    text = "Deep Residual Learning for Image Recognition(2015)\nrest"
    (match,) = find_titles(text, index())
    assert text[: match.insert_at] == "Deep Residual Learning for Image Recognition(2015)"
    text = "• Flashattention: fast and memory-efficient exact attention with io-awareness(tiling)"
    (match,) = find_titles(text, index())
    assert match.insert_at == len(text)


def test_two_papers_with_one_title_link_neither() -> None:
    again = make_paper("1999.00001", RESNET.title, published="2016-01-01")
    assert linked("- Deep Residual Learning for Image Recognition", RESNET, again) == []
    # A year written tells them apart only when it fits one alone.
    assert linked("- Deep Residual Learning for Image Recognition (2014)", RESNET, again) == [
        ("1512.03385", RESNET.title)
    ]


def test_the_index_is_looked_up_by_word_pairs_not_every_title() -> None:
    many = TitleIndex.of(
        (f"2101.{n:05d}", f"Paper number {n} about learning things", 2021) for n in range(20000)
    )
    text = "Some prose without any of them.\n" * 2000
    assert not many.may_occur_in(text)
    assert find_titles("- Paper number 12345 about learning things\n", many)[0].title.key == (
        "2101.12345"
    )


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(max_size=200),
    paper=st.sampled_from(PAPERS),
    after=st.text(max_size=200),
)
def test_a_notes_pair_mask_holds_the_mask_of_every_title_it_names(
    before: str, paper, after: str
) -> None:
    """The filter may let a note through that names no title, never keep one out that does."""
    text = f"{before}\n- {paper.title}\n{after}"
    mask = pair_mask(normal_words(text))
    for found in find_titles(text, index(paper)):
        assert mask & found.title.mask == found.title.mask


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(max_size=200),
    paper=st.sampled_from(PAPERS),
    after=st.text(max_size=200),
)
def test_a_note_that_names_a_title_may_be_named_in_it(before: str, paper, after: str) -> None:
    """The test a run makes of the notes a new title's words all occur in (before matching
    them) never keeps out a note the title is found in."""
    text = f"{before}\n- {paper.title}\n{after}"
    titles = index(paper)
    if find_titles(text, titles):
        assert titles.may_be_named_in(text)
    assert not titles.may_be_named_in(f"{before}\n{after}".replace(paper.title, ""))


def test_a_pair_mask_keeps_out_notes_without_the_titles_words_in_a_row() -> None:
    title = index(CHINCHILLA).entries()[0]
    unrelated = pair_mask(normal_words("Notes on optimisers, schedules and warm-up.\n" * 50))
    assert unrelated & title.mask != title.mask
    # Every word of the title, none of them next to the one it follows there.
    scattered = "Large language models: training them is optimal when compute is spent well.\n"
    assert set(title.words) <= set(normal_words(scattered))
    assert pair_mask(normal_words(scattered)) & title.mask != title.mask


# -- end to end -------------------------------------------------------------------------------

REVIEW = """\
# Review list

Deep Residual Learning for Image Recognition(2015)
Denoising Diffusion Probabilistic Models(2020)
Language Models are Few-Shot Learners(2020)

These three changed how I think about scale.
"""

CONFERENCE = """\
## Contrastive learning

: Chain of thought prompting elicits reasoning in large language models (예시가 중요)
• Flashattention: fast and memory-efficient exact attention with io-awareness(tiling)
- Denoising Difusion Implicit Models
- Training compute-optimal LLMs
"""


def cache_with(vault: Path, *papers) -> None:
    (vault / ".vaultpapers").mkdir(parents=True, exist_ok=True)
    with PaperCache(vault / ".vaultpapers" / "cache.sqlite") as cache:
        cache.put_many(papers)


def test_link_names_papers_by_title_counts_them_and_a_second_run_changes_nothing(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Review.md": REVIEW, "Conference.md": CONFERENCE})
    cache_with(vault, *PAPERS)
    result = link_cli(vault, fake_arxiv)
    assert "5 after paper titles" in result.output
    review = (vault / "Review.md").read_text(encoding="utf-8")
    assert is_only_insertions(REVIEW, review)
    assert (
        "Deep Residual Learning for Image Recognition(2015) [[Deep Residual Learning for Image "
        "Recognition (1512.03385)|He et al. 2015]]"
        in review
        or "Deep Residual Learning for Image Recognition(2015) [[" in review
    )
    conference = (vault / "Conference.md").read_text(encoding="utf-8")
    assert is_only_insertions(CONFERENCE, conference)
    assert "## Contrastive learning\n" in conference  # the generic heading: nothing
    assert "Denoising Difusion Implicit Models\n" in conference
    assert "io-awareness(tiling) [[" in conference
    # The near misses are reported with where they stand, and linked nowhere.
    assert 'Conference.md:5: looks like a paper title: "Denoising Difusion Implicit Models"' in (
        result.output
    )
    assert '"Training compute-optimal LLMs"; the closest known is "Training Compute-Optimal' in (
        result.output
    )
    papers = {p.name for p in (vault / "Papers").glob("*.md")}
    assert any("1512.03385" in name for name in papers)
    assert not any("2010.02502" in name for name in papers)  # the typo: no note
    mentions = next((vault / "Papers").glob("*2006.11239*.md")).read_text(encoding="utf-8")
    assert "[[Review]]" in mentions
    before = snapshot(vault)
    asked = len(fake_arxiv.requests)  # the titles no paper has, looked up once
    again = link_cli(vault, fake_arxiv)
    assert "0 links inserted" in again.output
    assert snapshot(vault) == before
    assert len(fake_arxiv.requests) == asked


def test_a_paper_fetched_for_a_url_is_linked_by_title_elsewhere_in_the_same_run(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.add(DDPM)
    vault = build_vault(
        tmp_path / "v",
        {
            "a.md": "Read https://arxiv.org/abs/2006.11239 today.\n",
            "b.md": "- Denoising Diffusion Probabilistic Models (2020)\n",
        },
    )
    link_cli(vault, fake_arxiv)
    assert "(2020) [[" in (vault / "b.md").read_text(encoding="utf-8")
    before = snapshot(vault)
    link_cli(vault, fake_arxiv)
    assert snapshot(vault) == before


def test_an_unchanged_note_naming_a_title_is_linked_once_the_paper_is_fetched_for_a_url(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.add(DDPM)
    vault = build_vault(
        tmp_path / "v",
        {
            "b.md": "- Denoising Diffusion Probabilistic Models (2020)\n",
            ".vaultpapers/config.yaml": "titles: known\n",
        },
    )
    link_cli(vault, fake_arxiv)  # the title is no paper the vault knows yet: nothing
    assert "[[" not in (vault / "b.md").read_text(encoding="utf-8")
    build_vault(vault, {"a.md": "Read https://arxiv.org/abs/2006.11239 today.\n"})
    link_cli(vault, fake_arxiv)
    assert "(2020) [[" in (vault / "b.md").read_text(encoding="utf-8")
    before = snapshot(vault)
    link_cli(vault, fake_arxiv)
    assert snapshot(vault) == before


def test_a_note_edited_later_to_name_a_title_is_linked(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "nothing yet\n", "b.md": "plain\n"})
    cache_with(vault, GPT3)
    link_cli(vault, fake_arxiv)
    (vault / "a.md").write_text("- Language Models are Few-Shot Learners\n", encoding="utf-8")
    link_cli(vault, fake_arxiv)
    assert "Learners [[" in (vault / "a.md").read_text(encoding="utf-8")


def test_titles_off_links_no_title(tmp_path: Path, fake_arxiv: FakeArxiv) -> None:
    vault = build_vault(
        tmp_path / "v",
        {"Review.md": REVIEW, ".vaultpapers/config.yaml": "titles: off\n"},
    )
    cache_with(vault, *PAPERS)
    link_cli(vault, fake_arxiv)
    assert (vault / "Review.md").read_text(encoding="utf-8") == REVIEW


_WORDS = st.sampled_from(
    [
        "the",
        "learning",
        "Deep",
        "Residual",
        "for",
        "Image",
        "Recognition",
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
    ]
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    chunks=st.lists(
        st.one_of(_WORDS, st.sampled_from([p.title for p in PAPERS])), min_size=1, max_size=30
    )
)
def test_user_text_only_gains_links_and_a_second_run_changes_nothing(
    tmp_path_factory: pytest.TempPathFactory, chunks: list[str]
) -> None:
    text = " ".join(chunks) + "\n"
    vault = build_vault(tmp_path_factory.mktemp("v"), {"note.md": text})
    cache_with(vault, *PAPERS)
    with FakeArxiv() as api:
        link_cli(vault, api, "--offline")
        after = (vault / "note.md").read_text(encoding="utf-8")
        assert is_only_insertions(text, after)
        before = snapshot(vault)
        link_cli(vault, api, "--offline")
        assert snapshot(vault) == before
        assert api.requests == []


TITLE_WORDS = st.sampled_from(["Deep", "Residual", "Learning", "GPT-4", "Perceiver", "IO", "of"])


@settings(max_examples=150, deadline=None)
@given(
    first=st.dictionaries(st.sampled_from("abcd"), st.lists(TITLE_WORDS, min_size=1, max_size=5)),
    updates=st.lists(
        st.tuples(st.sampled_from("abcde"), st.lists(TITLE_WORDS, min_size=1, max_size=5))
    ),
)
def test_an_index_brought_up_to_date_title_by_title_matches_as_one_built_afresh(
    first: dict[str, list[str]], updates: list[tuple[str, list[str]]]
) -> None:
    titles = {key: " ".join(words) for key, words in first.items()}
    kept = TitleIndex.of((key, title, 2020) for key, title in titles.items())
    for key, words in updates:
        titles[key] = " ".join(words)
        kept.replace(key, known_title(key, titles[key], 2020))
    afresh = TitleIndex.of((key, title, 2020) for key, title in titles.items())
    assert sorted(kept.rows()) == sorted(afresh.rows())
    assert kept.digest() == afresh.digest()
    note = "".join(f"- {title}\n" for title in titles.values())
    assert find_titles(note, kept) == find_titles(note, afresh)
