"""Related papers and index notes in the vault, end to end through `vaultpapers link`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from factories import make_paper
from paths import TESTS
from vaultpapers.arxiv.papers import Paper
from vaultpapers.cli import main
from vaultpapers.testing.arxiv_server import FakeArxiv
from vaults import PERCEIVER, PERCEIVER_IO, build_vault, snapshot

CASES = TESTS / "cases"
PERCEIVER_AR = make_paper(
    "2202.07765",
    "General-purpose, long-context autoregressive modeling with Perceiver AR",
    published="2022-02-15",
    authors=("Curtis Hawthorne", "Andrew Jaegle", "Cătălina Cangea"),
    summary="Real-world data is high-dimensional: a book can contain hundreds of thousands of "
    "elements. We build on the Perceiver architecture to handle long contexts.",
)
TRIO = {p.arxiv_id: p for p in (PERCEIVER, PERCEIVER_IO, PERCEIVER_AR)}


def unrelated_papers() -> list[Paper]:
    case = yaml.safe_load((CASES / "titles_unrelated.yaml").read_text(encoding="utf-8"))
    return [
        make_paper(
            str(item["id"]),
            item["title"],
            summary=item["abstract"],
            published=str(item["published"]),
        )
        for item in case["papers"]
    ]


def link(vault: Path, api: FakeArxiv) -> Result:
    env = {"VAULTPAPERS_ARXIV_API": api.url, "VAULTPAPERS_ARXIV_DELAY": "0"}
    result = CliRunner().invoke(main, ["link", str(vault)], env=env)
    assert result.exit_code == 0, result.output
    return result


def properties(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


def paper_note(vault: Path, key: str) -> Path:
    return next((vault / "Papers").glob(f"*({key.replace('/', '_')}).md"))


def resolvable(vault: Path) -> set[str]:
    names = set()
    for note in vault.rglob("*.md"):
        names.add(note.stem.lower())
        names.add(note.relative_to(vault).with_suffix("").as_posix().lower())
    return names


@pytest.fixture
def library(tmp_path: Path, fake_arxiv: FakeArxiv) -> Path:
    """Perceiver, Perceiver IO and Perceiver AR among 65 unrelated real papers."""
    papers = [*TRIO.values(), *unrelated_papers()]
    for paper in papers:
        fake_arxiv.add(paper)
    lines = [f"- https://arxiv.org/abs/{p.arxiv_id} #reading-list" for p in papers]
    return build_vault(
        tmp_path / "v",
        {
            "Reading list.md": "# Reading list\n\n" + "\n".join(lines) + "\n",
            "Ideas/Vision.md": "---\ntags: [ideas, vision/latent]\n---\nLatents for video.\n",
        },
    )


def test_the_perceiver_family_is_linked_both_ways_with_reasons(
    library: Path, fake_arxiv: FakeArxiv
) -> None:
    link(library, fake_arxiv)
    for key, paper in TRIO.items():
        related = {
            re.sub(r"^\[\[|\]\]$", "", e) for e in properties(paper_note(library, key))["related"]
        }
        others = {paper_note(library, k).stem for k in TRIO if k != key}
        assert others <= related, f"{paper.title}: {related}"
        assert properties(paper_note(library, key))["series"] == "Perceiver"
        body = paper_note(library, key).read_text(encoding="utf-8")
        section = body.split("<!-- vaultpapers:begin related -->")[1].split("<!-- vaultpapers:end")[
            0
        ]
        assert section.count("same series: Perceiver") == 2
    io_body = paper_note(library, "2107.14795").read_text(encoding="utf-8")
    assert (
        "|Perceiver]] · same series: Perceiver; successor of Perceiver: its abstract names "
        '"Perceiver"; shared authors: Andrew Jaegle' in io_body
    )
    perceiver_body = paper_note(library, "2103.03206").read_text(encoding="utf-8")
    assert "|Perceiver IO]] · same series: Perceiver; Perceiver IO is its successor: " in (
        perceiver_body
    )


def test_no_unrelated_pair_is_linked(library: Path, fake_arxiv: FakeArxiv) -> None:
    link(library, fake_arxiv)
    # GPT-3 and the two papers of the set that name it (see test_relations.py) are related.
    gpt3 = {"2005.14165", "2106.09685", "2303.10130"}
    for note in (library / "Papers").glob("*.md"):
        key = properties(note)["arxiv_id"]
        if key not in TRIO.keys() | gpt3:
            assert "related" not in properties(note), note.name
            assert "begin related" not in note.read_text(encoding="utf-8"), note.name


def test_the_series_index_lists_members_by_date(library: Path, fake_arxiv: FakeArxiv) -> None:
    link(library, fake_arxiv)
    index = library / "Papers" / "Series" / "Series Perceiver.md"
    assert properties(index) == {"vaultpapers": "series", "series": "Perceiver"}
    members = re.findall(
        r"^- \[\[[^|]+\|([^\]]+)\]\] · (\d{4}-\d\d-\d\d)",
        index.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    assert members == [
        ("Perceiver", "2021-03-04"),
        ("Perceiver IO", "2021-07-30"),
        ("Perceiver AR", "2022-02-15"),
    ]
    assert "Series: [[Series Perceiver]]" in paper_note(library, "2103.03206").read_text(
        encoding="utf-8"
    )


def test_every_tag_has_an_index_listing_its_notes_and_every_link_resolves(
    library: Path, fake_arxiv: FakeArxiv
) -> None:
    link(library, fake_arxiv)
    tags = library / "Papers" / "Tags"
    reading = (tags / "Tag reading-list.md").read_text(encoding="utf-8")
    assert "- [[Reading list]]" in reading
    vision = (tags / "Tag vision.md").read_text(encoding="utf-8")
    # The parent lists its nested tag with what it covers; the note is listed under its tag.
    assert "- [[Tag vision › latent|#vision/latent]] · 1 note\n" in vision
    assert "- [[Vision]]" in (tags / "Tag vision › latent.md").read_text(encoding="utf-8")
    assert properties(tags / "Tag vision › latent.md") == {
        "vaultpapers": "tag",
        "tag": "vision/latent",
    }
    assert "[[Perceiver - General" in (tags / "Tag arxiv › cs-CV.md").read_text(encoding="utf-8")
    names = resolvable(library)
    for note in library.rglob("*.md"):
        for target in re.findall(r"\[\[([^\]|\\#]+)", note.read_text(encoding="utf-8")):
            assert target.lower() in names, f"{note.name}: [[{target}]]"


def test_a_second_run_changes_nothing(library: Path, fake_arxiv: FakeArxiv) -> None:
    link(library, fake_arxiv)
    before = snapshot(library)
    link(library, fake_arxiv)
    assert snapshot(library) == before


@pytest.fixture
def trio(tmp_path: Path, fake_arxiv: FakeArxiv) -> Path:
    for paper in TRIO.values():
        fake_arxiv.add(paper)
    text = "".join(f"- arXiv:{key}\n" for key in TRIO)
    return build_vault(tmp_path / "v", {"log.md": text})


def edit_properties(note: Path, edit) -> None:
    text = note.read_text(encoding="utf-8")
    front, body = text.split("---\n")[1], text.split("---\n", 2)[2]
    data = yaml.safe_load(front)
    edit(data)
    note.write_text(
        "---\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False) + "---\n" + body,
        encoding="utf-8",
    )


def test_a_relation_the_user_adds_is_kept_and_mirrored(
    trio: Path, fake_arxiv: FakeArxiv, tmp_path: Path
) -> None:
    hep = make_paper("hep-th/9711200", "The Large N Limit of Superconformal Field Theories")
    fake_arxiv.add(hep)
    (trio / "physics.md").write_text("hep-th/9711200\n", encoding="utf-8")
    link(trio, fake_arxiv)
    perceiver, maldacena = paper_note(trio, "2103.03206"), paper_note(trio, "hep-th/9711200")
    edit_properties(perceiver, lambda d: d["related"].append(f"[[{maldacena.stem}]]"))

    link(trio, fake_arxiv)
    assert f"[[{maldacena.stem}]]" in properties(perceiver)["related"]
    assert f"[[{maldacena.stem}]] · added by you" in perceiver.read_text(encoding="utf-8")
    assert properties(maldacena)["related"] == [f"[[{perceiver.stem}]]"]
    assert f"· you related them in [[{perceiver.stem}]]" in maldacena.read_text(encoding="utf-8")
    before = snapshot(trio)
    link(trio, fake_arxiv)
    assert snapshot(trio) == before


def test_a_relation_the_user_removes_stays_removed_on_both_sides(
    trio: Path, fake_arxiv: FakeArxiv
) -> None:
    link(trio, fake_arxiv)
    perceiver, ar = paper_note(trio, "2103.03206"), paper_note(trio, "2202.07765")
    edit_properties(perceiver, lambda d: d["related"].remove(f"[[{ar.stem}]]"))

    link(trio, fake_arxiv)
    assert f"[[{ar.stem}]]" not in properties(perceiver)["related"]
    assert properties(perceiver)["unrelated"] == [f"[[{ar.stem}]]"]
    assert f"[[{perceiver.stem}]]" not in properties(ar)["related"]
    assert f"[[{ar.stem}|" not in perceiver.read_text(encoding="utf-8").split("begin mentions")[0]
    before = snapshot(trio)
    link(trio, fake_arxiv)
    assert snapshot(trio) == before, "the veto is remembered, not re-added"
    (trio / "later.md").write_text("Perceiver AR again: arXiv:2202.07765\n", encoding="utf-8")
    link(trio, fake_arxiv)  # the vetoing note is not read again: what was kept of it says it
    assert "[[later]]" in ar.read_text(encoding="utf-8"), "its note was planned again"
    assert f"[[{perceiver.stem}]]" not in properties(ar)["related"], "and the veto still holds"

    edit_properties(perceiver, lambda d: d.pop("unrelated"))
    link(trio, fake_arxiv)
    assert f"[[{ar.stem}]]" in properties(perceiver)["related"], "deleting the veto restores it"


def test_an_index_whose_tag_disappeared_is_removed_unless_the_user_wrote_in_it(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "#draft #keep\n"})
    link(vault, fake_arxiv)
    draft, keep = vault / "Papers/Tags/Tag draft.md", vault / "Papers/Tags/Tag keep.md"
    assert draft.exists() and keep.exists()
    keep.write_text(keep.read_text(encoding="utf-8") + "\nMy own remark.\n", encoding="utf-8")
    (vault / "a.md").write_text("no tags any more\n", encoding="utf-8")

    link(vault, fake_arxiv)
    assert not draft.exists()
    assert keep.read_text(encoding="utf-8").endswith("My own remark.\n")


def test_an_index_note_moved_by_the_user_is_found_again(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "#idea\n"})
    link(vault, fake_arxiv)
    moved = vault / "My indexes" / "Ideas.md"
    moved.parent.mkdir()
    (vault / "Papers/Tags/Tag idea.md").rename(moved)
    (vault / "b.md").write_text("#idea too\n", encoding="utf-8")
    link(vault, fake_arxiv)
    assert not (vault / "Papers/Tags/Tag idea.md").exists()
    assert "- [[b]]" in moved.read_text(encoding="utf-8")


def test_the_related_command_explains_detected_relations_and_the_users_word(
    trio: Path, fake_arxiv: FakeArxiv
) -> None:
    link(trio, fake_arxiv)
    perceiver, ar = paper_note(trio, "2103.03206"), paper_note(trio, "2202.07765")
    edit_properties(perceiver, lambda d: d["related"].remove(f"[[{ar.stem}]]"))
    link(trio, fake_arxiv)

    result = CliRunner().invoke(main, ["related", "arXiv:2107.14795v2", str(trio)])
    assert result.exit_code == 0, result.output
    assert 'is named "Perceiver IO"' in result.output
    assert "related to 2103.03206: same series: Perceiver" in result.output

    vetoed = CliRunner().invoke(main, ["related", "2103.03206", str(trio)])
    assert f"removed by you (listed in `unrelated`): [[{ar.stem}]]" in vetoed.output

    unknown = CliRunner().invoke(main, ["related", "2301.00001", str(trio)])
    assert unknown.exit_code == 1 and "run `vaultpapers link` first" in unknown.output
    malformed = CliRunner().invoke(main, ["related", "2006.162360", str(trio)])
    assert malformed.exit_code == 2 and "6 digits after the dot" in malformed.output
