"""What a run remembers of the titles it matched, so that the next run costs what changed and
still says what it said."""

from __future__ import annotations

from pathlib import Path

from factories import make_paper
from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.config import load_settings
from vaultpapers.run.incremental import open_state
from vaultpapers.run.titles import title_index, titles_changed
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
        assert titles_changed(state, title_index(vault, load_settings(vault))) is None


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
