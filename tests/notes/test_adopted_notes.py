"""A researcher's own note on a paper (its arXiv URL in a property) is that paper's note.

Real vaults keep one note per paper with `source:`, `url:`, `arxiv:`, `paper:` or `link:` in
the front matter; vaultpapers must link to those notes, not make a second note beside them,
and only ever insert into them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from vaultpapers.cli import main
from vaultpapers.markdown.properties import find_front_matter
from vaultpapers.scan.note import named_paper
from vaultpapers.testing.arxiv_server import FakeArxiv
from vaults import (
    MIXER,
    PERCEIVER,
    PERCEIVER_IO,
    build_vault,
    is_only_insertions,
    link_cli,
    snapshot,
)

OWN_NOTE = """\
---
source: https://arxiv.org/abs/2103.03206
tags: [reading]
rating: 4
---
# Perceiver, my notes

Cross-attention onto a latent array. PDF: https://arxiv.org/pdf/2103.03206v2
Compare with Mixer: https://arxiv.org/abs/2105.01601
"""
LOG = "# Log\n\nRead https://arxiv.org/abs/2103.03206 today.\n"


@pytest.fixture
def api(fake_arxiv: FakeArxiv) -> FakeArxiv:
    for paper in (PERCEIVER, PERCEIVER_IO, MIXER):
        fake_arxiv.add(paper)
    return fake_arxiv


def configure(vault: Path, text: str) -> None:
    (vault / ".vaultpapers").mkdir(exist_ok=True)
    (vault / ".vaultpapers" / "config.yaml").write_text(text, encoding="utf-8")


def papers_folder(vault: Path) -> list[str]:
    return sorted(p.name for p in (vault / "Papers").glob("*.md"))


def properties(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


def test_links_go_to_the_users_own_note_and_no_second_note_is_made(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Perceiver.md": OWN_NOTE, "Log.md": LOG})
    link_cli(vault, api)
    assert papers_folder(vault) == [
        "MLP-Mixer - An all-MLP Architecture for Vision (2105.01601).md"
    ]
    assert (
        (vault / "Log.md")
        .read_text(encoding="utf-8")
        .endswith("2103.03206 [[Perceiver|Perceiver]] today.\n")
    )


def test_the_own_note_only_gains_the_papers_properties_it_lacks_and_our_sections(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Perceiver.md": OWN_NOTE, "Log.md": LOG})
    result = link_cli(vault, api)
    assert "1 paper notes created in Papers/, 0 updated, 1 of your own paper notes;" in (
        result.output
    )
    text = (vault / "Perceiver.md").read_text(encoding="utf-8")
    assert is_only_insertions(OWN_NOTE, text)
    props = properties(vault / "Perceiver.md")
    assert props["source"] == "https://arxiv.org/abs/2103.03206"
    assert props["tags"] == ["reading"]  # no arxiv/… tags pushed into the user's list
    assert props["title"] == PERCEIVER.title
    assert props["authors"] == list(PERCEIVER.authors)
    assert str(props["published"]) == "2021-03-04"
    assert "arxiv_id" not in props and "vaultpapers" not in props
    # Links to other papers, none to itself; mentioned by the log, not by itself.
    assert "[[MLP-Mixer - An all-MLP Architecture for Vision (2105.01601)|MLP-Mixer]]" in text
    assert text.count("[[Perceiver") == 0
    mentions = text.split("<!-- vaultpapers:begin mentions -->")[1]
    assert "- [[Log]]" in mentions and "[[Perceiver]]" not in mentions


def test_a_second_run_writes_nothing(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(tmp_path / "v", {"Perceiver.md": OWN_NOTE, "Log.md": LOG})
    link_cli(vault, api)
    before = snapshot(vault)
    link_cli(vault, api)
    assert snapshot(vault) == before


def test_the_users_own_properties_of_the_same_meaning_are_left_alone(
    tmp_path: Path, api: FakeArxiv
) -> None:
    own = "---\nURL: https://arxiv.org/abs/2103.03206\ntitle: My title\nauthor: Jaegle\n---\nHi\n"
    vault = build_vault(tmp_path / "v", {"p.md": own})
    link_cli(vault, api)
    props = properties(vault / "p.md")
    assert props["title"] == "My title" and "authors" not in props
    assert "published" in props and "categories" in props
    assert papers_folder(vault) == []


@pytest.mark.parametrize(
    "front",
    [
        "source: https://arxiv.org/abs/2103.03206",
        "url: https://arxiv.org/pdf/2103.03206v2",
        "arxiv: '2103.03206'",
        "arxiv: 2103.03206",  # unquoted: YAML reads a number
        "arXiv: arXiv:2103.03206",
        "paper: https://www.alphaxiv.org/abs/2103.03206",
        "link: [https://arxiv.org/abs/2103.03206, https://arxiv.org/pdf/2103.03206]",
        "pdf: https://arxiv.org/pdf/2103.03206.pdf",
    ],
)
def test_every_usual_property_names_the_paper(front: str) -> None:
    assert named_paper(yaml.safe_load(front), front) == "2103.03206"


@pytest.mark.parametrize("written", ["1412.6980", "0704.0010", "2103.03200"])
def test_an_unquoted_id_is_read_as_written_not_as_the_number_yaml_makes_of_it(
    written: str,
) -> None:
    front = f"arxiv: {written}"
    assert named_paper(yaml.safe_load(front), front) == written


@pytest.mark.parametrize(
    "front",
    [
        "source: https://arxiv.org/abs/2103.03206\nurl: https://arxiv.org/abs/2105.01601",
        "links: https://arxiv.org/abs/2103.03206",  # not one of the paper properties
        "source: https://github.com/deepmind/perceiver",
        "paper: '[[Perceiver]]'",
        "arxiv: 2103.032",  # a number that lost its zeros is no id
        "source: https://arxiv.org/abs/2006.162360",  # malformed: never guessed at
    ],
)
def test_a_note_naming_no_single_paper_is_no_papers_note(front: str) -> None:
    assert named_paper(yaml.safe_load(front), front) is None


def test_two_notes_naming_one_paper_leave_it_to_a_paper_note_listing_both(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": OWN_NOTE, "b.md": OWN_NOTE})
    link_cli(vault, api)
    perceiver = next((vault / "Papers").glob("Perceiver*.md"))
    mentions = perceiver.read_text(encoding="utf-8").split("vaultpapers:begin mentions")[1]
    assert "- [[a]]" in mentions and "- [[b]]" in mentions


def test_vaultpapers_false_says_a_note_is_not_the_papers(tmp_path: Path, api: FakeArxiv) -> None:
    mine = OWN_NOTE.replace("rating: 4", "vaultpapers: false")
    vault = build_vault(tmp_path / "v", {"Perceiver.md": mine})
    link_cli(vault, api)
    assert any(name.startswith("Perceiver - ") for name in papers_folder(vault))


def test_a_paper_note_made_before_stays_the_papers_and_the_user_is_told_how_to_switch(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Log.md": LOG})
    link_cli(vault, api)
    (generated,) = (vault / "Papers").glob("Perceiver*.md")
    (vault / "Perceiver.md").write_text(OWN_NOTE, encoding="utf-8")
    result = link_cli(vault, api)
    assert generated.exists()
    assert (
        f"Perceiver.md: names arXiv 2103.03206 in its properties, but Papers/{generated.name}"
        in (result.output)
    )
    assert "vaultpapers:begin" not in (vault / "Perceiver.md").read_text(encoding="utf-8")

    generated.unlink()
    link_cli(vault, api)
    assert not (vault / "Papers" / generated.name).exists()
    assert "<!-- vaultpapers:begin mentions -->" in (vault / "Perceiver.md").read_text("utf-8")


def test_adopt_notes_link_writes_nothing_into_the_own_note(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(tmp_path / "v", {"Perceiver.md": OWN_NOTE, "Log.md": LOG})
    configure(vault, "adopt_notes: link\n")
    link_cli(vault, api)
    assert "[[Perceiver|Perceiver]]" in (vault / "Log.md").read_text(encoding="utf-8")
    own = (vault / "Perceiver.md").read_text(encoding="utf-8")
    assert "vaultpapers:begin" not in own and "title:" not in own
    assert papers_folder(vault) == [
        "MLP-Mixer - An all-MLP Architecture for Vision (2105.01601).md"
    ]


def test_adopt_notes_off_makes_a_paper_note_as_for_any_citing_note(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Perceiver.md": OWN_NOTE})
    configure(vault, "adopt_notes: false\n")
    link_cli(vault, api)
    assert any(name.startswith("Perceiver - ") for name in papers_folder(vault))
    assert "title:" not in (vault / "Perceiver.md").read_text(encoding="utf-8")


def test_a_bad_adopt_notes_value_is_refused_with_its_choices(tmp_path: Path) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "x\n"})
    configure(vault, "adopt_notes: maybe\n")
    result = CliRunner().invoke(main, ["link", str(vault), "--offline"])
    assert result.exit_code == 2
    assert "adopt_notes: expected one of insert, link, off" in result.output


def test_offline_the_own_note_is_still_the_papers_and_completes_later(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Perceiver.md": OWN_NOTE, "Log.md": LOG})
    CliRunner().invoke(main, ["link", str(vault), "--offline"])
    assert not any(name.startswith("arXiv 2103.03206") for name in papers_folder(vault))
    assert "title:" not in (vault / "Perceiver.md").read_text(encoding="utf-8")
    link_cli(vault, api)
    assert properties(vault / "Perceiver.md")["title"] == PERCEIVER.title


def test_the_own_note_is_listed_under_its_tags_as_a_note_and_its_category_as_a_paper(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Perceiver.md": OWN_NOTE})
    link_cli(vault, api)
    reading = (vault / "Papers/Tags/Tag reading.md").read_text(encoding="utf-8")
    assert "## Notes" in reading and "[[Perceiver]]" in reading and "## Papers" not in reading
    vision = (vault / "Papers/Tags/Tag arxiv › cs-CV.md").read_text(encoding="utf-8")
    assert "[[Perceiver|Perceiver]]" in vision


def test_crlf_and_a_missing_final_newline_survive_in_the_own_note(
    tmp_path: Path, api: FakeArxiv
) -> None:
    own = OWN_NOTE.rstrip("\n").replace("\n", "\r\n")
    vault = build_vault(tmp_path / "v", {"Perceiver.md": own, "Log.md": LOG})
    link_cli(vault, api)
    text = (vault / "Perceiver.md").read_bytes().decode("utf-8")
    assert is_only_insertions(own, text)
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")


def test_own_notes_are_related_like_paper_notes_without_touching_their_related_property(
    tmp_path: Path, api: FakeArxiv
) -> None:
    io_note = "---\nsource: https://arxiv.org/abs/2107.14795\nrelated: '[[Mine]]'\n---\nIO.\n"
    vault = build_vault(tmp_path / "v", {"Perceiver.md": OWN_NOTE, "Perceiver IO.md": io_note})
    link_cli(vault, api)
    io_text = (vault / "Perceiver IO.md").read_text(encoding="utf-8")
    assert properties(vault / "Perceiver IO.md")["related"] == "[[Mine]]"
    section = io_text.split("<!-- vaultpapers:begin related -->")[1]
    assert "- [[Perceiver|Perceiver]] · same series: Perceiver; successor of Perceiver: " in section
    assert "[[Perceiver IO|" in (vault / "Perceiver.md").read_text(encoding="utf-8")

    result = CliRunner().invoke(main, ["related", "2107.14795", str(vault)])
    assert result.exit_code == 0, result.output
    assert "related to 2103.03206" in result.output


def test_an_own_note_whose_yaml_breaks_on_its_title_is_still_the_papers_and_left_untouched(
    tmp_path: Path, api: FakeArxiv
) -> None:
    # As clippers write it: `title: A: B` unquoted is not YAML, `source:` is still readable.
    clipped = (
        "---\ntitle: Perceiver: General Perception\nsource: https://arxiv.org/abs/2103.03206\n"
        "---\nSee https://arxiv.org/abs/2103.03206\n"
    )
    vault = build_vault(tmp_path / "v", {"Clipped.md": clipped, "Log.md": LOG})
    result = link_cli(vault, api)
    assert (vault / "Clipped.md").read_text(encoding="utf-8") == clipped
    assert papers_folder(vault) == []
    assert "[[Clipped|Perceiver]]" in (vault / "Log.md").read_text(encoding="utf-8")
    assert result.output.count("Clipped.md") == 1  # its front matter, reported once
    before = snapshot(vault)
    link_cli(vault, api)
    assert snapshot(vault) == before


def test_an_own_note_whose_name_a_wikilink_cannot_hold_is_linked_all_the_same(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"200305 What the [MASK].md": OWN_NOTE, "Log.md": LOG})
    link_cli(vault, api)
    log = (vault / "Log.md").read_text(encoding="utf-8")
    assert "2103.03206 [Perceiver](200305%20What%20the%20%5BMASK%5D.md) today." in log
    before = snapshot(vault)
    link_cli(vault, api)
    assert snapshot(vault) == before


@pytest.mark.parametrize("closing", ["---", "...", "--- "])
def test_an_own_note_ending_at_its_front_matter_keeps_it_readable(
    tmp_path: Path, api: FakeArxiv, closing: str
) -> None:
    own = f"---\nsource: https://arxiv.org/abs/2103.03206\n{closing}"  # no final line break
    vault = build_vault(tmp_path / "v", {"Own.md": own, "Log.md": LOG})
    link_cli(vault, api)
    text = (vault / "Own.md").read_text(encoding="utf-8")
    assert is_only_insertions(own, text)
    assert f"\n{closing}\n<!-- vaultpapers:begin mentions -->" in text
    front = find_front_matter(text)
    assert front is not None and front.data is not None
    assert front.data["source"] == "https://arxiv.org/abs/2103.03206"
    assert papers_folder(vault) == []
    before = snapshot(vault)
    link_cli(vault, api)
    assert snapshot(vault) == before


def test_our_markers_quoted_in_the_users_code_leave_their_sections_alone_not_their_links(
    tmp_path: Path, api: FakeArxiv
) -> None:
    own = (
        "---\nsource: https://arxiv.org/abs/2103.03206\n---\nHow the tool marks its part:\n\n"
        "```\n<!-- vaultpapers:begin mentions -->\nmy example\n"
        "<!-- vaultpapers:end mentions -->\n```\nCompare https://arxiv.org/abs/2105.01601\n"
    )
    vault = build_vault(tmp_path / "v", {"Own.md": own})
    result = link_cli(vault, api)
    text = (vault / "Own.md").read_text(encoding="utf-8")
    assert "my example" in text and is_only_insertions(own, text)
    assert "2105.01601 [[MLP-Mixer - An all-MLP Architecture for Vision (2105.01601)|" in text
    assert "quotes a vaultpapers marker in code" in result.output


def test_vaultpapers_false_holds_when_the_yaml_breaks_on_a_title(
    tmp_path: Path, api: FakeArxiv
) -> None:
    mine = (
        "---\nvaultpapers: false\nsource: https://arxiv.org/abs/2103.03206\n"
        "title: Perceiver: my log\n---\nNotes.\n"
    )
    vault = build_vault(tmp_path / "v", {"Log.md": mine})
    link_cli(vault, api)
    assert any(name.startswith("Perceiver - ") for name in papers_folder(vault))


def test_an_own_note_no_link_can_reach_is_not_the_papers(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(tmp_path / "v", {"C# notes.md": OWN_NOTE, "Log.md": LOG})
    link_cli(vault, api)
    assert any(name.startswith("Perceiver - ") for name in papers_folder(vault))
    assert "[[Perceiver - General Perception" in (vault / "Log.md").read_text(encoding="utf-8")


def test_our_sections_in_an_own_note_are_not_its_line_in_index_notes(tmp_path: Path) -> None:
    own = "---\nsource: https://arxiv.org/abs/2103.03206\ntags: [reading]\n---\n"
    vault = build_vault(tmp_path / "v", {"Own.md": own, "Log.md": LOG})
    CliRunner().invoke(main, ["link", str(vault), "--offline"])  # pending: no title to show
    assert "vaultpapers:begin mentions" in (vault / "Own.md").read_text(encoding="utf-8")
    CliRunner().invoke(main, ["link", str(vault), "--offline"])
    index = (vault / "Papers/Tags/Tag reading.md").read_text(encoding="utf-8")
    assert "- [[Own]]\n" in index
