"""Tag index notes: which tags get one (`index_tags`), and what a parent tag's index lists."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vaultpapers.testing.arxiv_server import FakeArxiv
from vaults import MIXER, PERCEIVER, build_vault, link_cli

TAGS = Path("Papers/Tags")
NESTED = {
    "ml.md": "# ML overview\n#ml\n",
    "vision.md": "# Vision\n#ml/vision, see https://arxiv.org/abs/2103.03206\n",
    "deep.md": "# Deep\n#ml/vision/deep and #ml/nlp\n",
    "nlp.md": "# NLP\n#ML/nlp\n",
}


@pytest.fixture
def api(fake_arxiv: FakeArxiv) -> FakeArxiv:
    for paper in (PERCEIVER, MIXER):
        fake_arxiv.add(paper)
    return fake_arxiv


def section(path: Path) -> str:
    """An index note's text between our markers."""
    text = path.read_text(encoding="utf-8")
    return text.split("<!-- vaultpapers:begin index -->\n", 1)[1].split("<!-- vaultpapers", 1)[0]


def indexes(vault: Path) -> list[str]:
    return sorted(path.name for path in (vault / TAGS).glob("*.md"))


def test_a_parent_lists_its_nested_tags_with_counts_and_only_its_own_notes(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", NESTED)
    link_cli(vault, api)
    assert section(vault / TAGS / "Tag ml.md") == (
        "# #ml\n"
        "\n"
        "4 notes tagged #ml or one of its nested tags; below, its nested tags and the 1 note "
        "tagged #ml itself.\n"
        "\n"
        "## Nested tags\n"
        "\n"
        "- [[Tag ml › nlp|#ml/nlp]] · 2 notes\n"
        "- [[Tag ml › vision|#ml/vision]] · 2 notes\n"  # its own nested tag's note included
        "\n"
        "## Notes\n"
        "\n"
        "- [[ml]] · ML overview\n"
    )
    vision = section(vault / TAGS / "Tag ml › vision.md")
    assert "- [[Tag ml › vision › deep|#ml/vision/deep]] · 1 note\n" in vision
    assert "- [[vision]]\n" in vision and "[[deep]]" not in vision


def test_the_arxiv_index_counts_papers_by_category_instead_of_listing_them(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(
        tmp_path / "v",
        {
            "a.md": "Perceiver https://arxiv.org/abs/2103.03206\n",
            "b.md": "# Reading\nMixer arXiv:2105.01601, filed under #arxiv\n",
        },
    )
    link_cli(vault, api)
    assert section(vault / TAGS / "Tag arxiv.md") == (
        "# #arxiv\n"
        "\n"
        "1 note and 2 papers tagged #arxiv or one of its nested tags; below, its nested tags "
        "and the 1 note tagged #arxiv itself.\n"
        "\n"
        "## Nested tags\n"
        "\n"
        "- [[Tag arxiv › cs-AI|#arxiv/cs-AI]] · 2 papers\n"
        "- [[Tag arxiv › cs-CV|#arxiv/cs-CV]] · 2 papers\n"
        "- [[Tag arxiv › cs-LG|#arxiv/cs-LG]] · 2 papers\n"
        "\n"
        "## Notes\n"
        "\n"
        "- [[b]] · Reading\n"
    )
    assert "[[Perceiver - General" in section(vault / TAGS / "Tag arxiv › cs-LG.md")


def test_excluded_workflow_tags_get_no_index_whatever_their_case(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(
        tmp_path / "v",
        {
            ".vaultpapers/config.yaml": (
                'index_tags: {exclude: [flashcards, "TestMe", "clean-up"]}\n'
            ),
            "cards.md": "Q and A #Flashcards #flashcards/deck1 #testme #clean-up #review\n",
        },
    )
    link_cli(vault, api)
    assert indexes(vault) == ["Tag review.md"]


def test_included_globs_select_nested_tags(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(
        tmp_path / "v",
        {
            ".vaultpapers/config.yaml": 'index_tags: {include: ["project/*"]}\n',
            "p.md": "#project #project/alpha #Project/beta/x #review arXiv:2103.03206\n",
        },
    )
    link_cli(vault, api)
    # Each level is spelled as it first occurs: `project/alpha`, `Project/beta`.
    assert indexes(vault) == [
        "Tag Project › beta › x.md",
        "Tag Project › beta.md",
        "Tag project › alpha.md",
    ]


def test_a_nested_tag_without_an_index_is_counted_but_not_linked(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(
        tmp_path / "v", {".vaultpapers/config.yaml": "index_tags: {exclude: [ml/nlp]}\n", **NESTED}
    )
    link_cli(vault, api)
    assert "Tag ml › nlp.md" not in indexes(vault)
    assert "- `#ml/nlp` (no index) · 2 notes\n" in section(vault / TAGS / "Tag ml.md")


def test_indexes_no_longer_wanted_are_removed_unless_the_user_wrote_in_them(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", NESTED)
    link_cli(vault, api)
    assert "Tag ml.md" in indexes(vault)
    kept = vault / TAGS / "Tag ml › nlp.md"
    kept.write_text(kept.read_text(encoding="utf-8") + "\nMy own words.\n", encoding="utf-8")
    (vault / ".vaultpapers" / "config.yaml").write_text("index_tags: false\n", encoding="utf-8")
    result = link_cli(vault, api)
    assert indexes(vault) == ["Tag ml › nlp.md"]
    assert "removed" in result.output
    assert link_cli(vault, api).output.count("0 index notes written.") == 1  # and it stays so


def test_a_nested_tag_gaining_a_note_updates_its_parents_as_a_full_run_would(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", NESTED)
    link_cli(vault, api)
    (vault / "more.md").write_text("# More\n#ml/vision/deep\n", encoding="utf-8")
    cold = tmp_path / "cold"
    shutil.copytree(vault, cold)
    shutil.rmtree(cold / ".vaultpapers")
    link_cli(vault, api)
    assert "- [[Tag ml › vision|#ml/vision]] · 3 notes\n" in section(vault / TAGS / "Tag ml.md")
    link_cli(cold, api)
    for name in indexes(cold):
        assert (vault / TAGS / name).read_bytes() == (cold / TAGS / name).read_bytes(), name
