"""What a run remembers of the titles it matched, so that the next run costs what changed and
still says what it said."""

from __future__ import annotations

from pathlib import Path

from factories import make_paper
from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.config import load_settings
from vaultpapers.run.incremental import open_state
from vaultpapers.run.titles import TITLE_INDEX, title_index, titles_changed
from vaultpapers.testing.arxiv_server import FakeArxiv
from vaults import build_vault, link_cli

KNOWN_ONLY = {".vaultpapers/config.yaml": "titles: known\n"}
DDPM = make_paper("2006.11239", "Denoising Diffusion Probabilistic Models", published="2020-06-19")
DDIM = make_paper("2010.02502", "Denoising Diffusion Implicit Models", published="2020-10-06")
GPT3 = make_paper("2005.14165", "Language Models are Few-Shot Learners", published="2020-05-28")


def cache_with(vault: Path, *papers) -> None:
    with PaperCache(vault / ".vaultpapers" / "cache.sqlite") as cache:
        cache.put_many(papers)


def test_titles_learned_that_no_note_names_are_remembered_as_matched(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.add(DDPM)
    fake_arxiv.add(GPT3)
    vault = build_vault(
        tmp_path / "v",
        {"a.md": "Read https://arxiv.org/abs/2006.11239 today.\n", "b.md": "prose\n", **KNOWN_ONLY},
    )
    link_cli(vault, fake_arxiv)
    # A URL brings in a paper whose title no note writes: the kept scans hold no stale title.
    build_vault(vault, {"b.md": "prose, and https://arxiv.org/abs/2005.14165\n"})
    link_cli(vault, fake_arxiv)
    with open_state(vault) as state:
        assert titles_changed(state, title_index(vault, load_settings(vault), state)) is None


def test_a_note_that_only_gained_links_still_reports_its_near_miss_on_later_runs(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    note = "Read https://arxiv.org/abs/2006.11239 today.\n\n- Denoising Difusion Implicit Models\n"
    vault = build_vault(tmp_path / "v", {"n.md": note, "other.md": "prose\n", **KNOWN_ONLY})
    cache_with(vault, DDPM, DDIM)
    first = link_cli(vault, fake_arxiv)
    assert "11239 [[" in (vault / "n.md").read_text(encoding="utf-8")
    near_miss = 'n.md:3: looks like a paper title: "Denoising Difusion Implicit Models"'
    assert near_miss in first.output
    # n.md is now as the run wrote it; another note's edit makes the next run use its kept scan.
    build_vault(vault, {"other.md": "prose, edited\n"})
    again = link_cli(vault, fake_arxiv)
    assert near_miss in again.output


def test_the_title_index_is_kept_and_brought_up_to_date_with_what_the_cache_wrote(
    tmp_path: Path,
) -> None:
    """Working out every title's words is most of what a run after one edit spends on titles:
    the index is kept in the state with the cache's version, brought up to date with the few
    papers the cache wrote since, and built from the cache again only when it is another
    cache (or far behind)."""
    vault = build_vault(tmp_path / "v", {"a.md": "prose\n"})
    (vault / ".vaultpapers").mkdir(exist_ok=True)
    cache_with(vault, DDPM)
    cache_with(vault, GPT3)  # (the latest write the index holds is asked for again)
    settings = load_settings(vault)
    with open_state(vault) as state:
        built = title_index(vault, settings, state)
        assert built is not None and built.keys == {DDPM.arxiv_id, GPT3.arxiv_id}
        kept = state.get(TITLE_INDEX)
        # What is kept is what is used: DDPM's words tampered with in the state show.
        kept["titles"] = [
            [*row[:3], "kept words", *row[4:]] if row[0] == DDPM.arxiv_id else row
            for row in kept["titles"]
        ]
        state.put(TITLE_INDEX, kept)
        again = title_index(vault, settings, state)
        assert again is not None and again.keys == built.keys
        assert ("kept", "words") in again.by_words
        # The cache wrote a paper, and a new version of another with a new title.
        renamed = make_paper(GPT3.arxiv_id, "Language Models Learn in Context", version=2)
        cache_with(vault, DDIM, renamed)
        learned = title_index(vault, settings, state)
        assert learned is not None and learned.keys == {DDPM.arxiv_id, GPT3.arxiv_id, DDIM.arxiv_id}
        assert ("kept", "words") in learned.by_words  # brought up to date, not built again
        assert ("denoising", "diffusion", "implicit", "models") in learned.by_words
        assert ("language", "models", "learn", "in", "context") in learned.by_words
        assert ("language", "models", "are", "few", "shot", "learners") not in learned.by_words
        (vault / ".vaultpapers" / "cache.sqlite").unlink()  # another cache, counting from 0
        cache_with(vault, GPT3)
        assert title_index(vault, settings, state).keys == {GPT3.arxiv_id}
        state.put(TITLE_INDEX, {**state.get(TITLE_INDEX), "titles": [["x"]]})
        assert title_index(vault, settings, state).keys == {GPT3.arxiv_id}  # damaged: rebuilt
