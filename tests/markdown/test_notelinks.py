"""Links to notes resolve in Obsidian whatever the note is called (issue 16, item 6).

`obsidian_model` says which note a rendered link opens, following what Obsidian documents and
was observed to do, and failing wherever that is unknown."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import example, given, settings
from hypothesis import strategies as st

from factories import make_paper
from obsidian_model import resolve
from vaultpapers.cli import main
from vaultpapers.markdown.notelinks import (
    linkable,
    links_at,
    note_link,
    plain_name,
    property_link,
    why_unlinkable,
    wikilink_safe,
)
from vaultpapers.model import FileState, Note
from vaultpapers.notes.index_notes import SERIES_KIND, TAG_KIND, index_file_stem
from vaultpapers.notes.paper_note import paper_file_stem
from vaultpapers.notes.related import link_target
from vaultpapers.plan.names import LinkNames
from vaultpapers.scan.catalog import stem_of
from vaultpapers.scan.note import scan_note
from vaultpapers.testing import FakeArxiv
from vaults import MIXER, PERCEIVER, PERCEIVER_IO, build_vault, snapshot

NOTES = ["Sub/My Note.md", "Reading log.md", "a/b/Note.md", "zzzz/Note.md"]


@pytest.mark.parametrize(
    ("link", "source", "opens"),
    [
        # Obsidian Help, "Internal links": the two forms are equivalent.
        ("[[Reading log]]", "x.md", "Reading log.md"),
        ("[Reading log](Reading%20log.md)", "x.md", "Reading log.md"),
        # Observed on 1.13.7: decoded, then looked up vault-wide, from any folder.
        ("[y](My%20Note.md)", "root.md", "Sub/My Note.md"),
        ("[x](Sub/My%20Note.md)", "Sub/src.md", "Sub/My Note.md"),
        ("[w](Sub/My Note.md)", "root.md", None),  # a literal space: no link
        # Own folder first, else the shortest path string.
        ("[[Note]]", "zzzz/src.md", "zzzz/Note.md"),
        ("[[Note]]", "src.md", "a/b/Note.md"),
        ("[[../Reading log]]", "Sub/src.md", "Reading log.md"),
        ("[[reading LOG]]", "x.md", "Reading log.md"),  # case-insensitive
    ],
)
def test_the_model_follows_what_obsidian_documents_and_was_seen_doing(
    link: str, source: str, opens: str | None
) -> None:
    assert resolve(link, source, NOTES) == opens


def test_the_model_fails_a_hash_in_a_name_however_it_is_written() -> None:
    notes = ["Sub/We!rd (name) [x] #1.md"]
    # What Obsidian 1.13.7 itself writes for this note, observed unresolved.
    assert resolve("[t](Sub/We!rd%20(name)%20[x]%20#1.md)", "a.md", notes) is None
    # Encoded: decodeURI keeps '%23' (no such file), decodeURIComponent makes it a heading.
    assert resolve("[t](Sub/We!rd%20%28name%29%20%5Bx%5D%20%231.md)", "a.md", notes) is None
    assert resolve("[[Sub/We!rd (name) [x] #1]]", "a.md", notes) is None


WEB_LINK = "[P](https://arxiv.org/abs/2103.03206)"


@pytest.mark.parametrize(
    ("text", "cited"),
    [
        # Our Markdown link after a reference: its label is no second citation.
        ("arXiv:1706.03762 [arXiv:2103.03206](Perceiver%20%5Bx%5D.md)", ["1706.03762"]),
        # A web link after a reference is the user's own citation.
        (f"arXiv:1706.03762 {WEB_LINK}", ["1706.03762", "2103.03206"]),
        (f"arXiv:1706.03762 [[A]] {WEB_LINK}", ["1706.03762", "2103.03206"]),
        ("arXiv:1706.03762 [arXiv:2103.03206](p.pdf)", ["1706.03762", "2103.03206"]),
    ],
)
def test_the_label_of_a_link_to_a_note_after_a_reference_is_no_citation(
    text: str, cited: list[str]
) -> None:
    note = Note("n.md", text, False, FileState(0, len(text), ""))
    assert list(scan_note(note).cited) == cited


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


NAME = (
    st.one_of(
        st.text(
            st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), max_size=24
        ),
        st.text(st.sampled_from(list("[]$^#|%\\`()<>&;:.~!?*\"' aZ9한국-")), max_size=14),
    )
    .map(_nfc)
    .filter(lambda n: n not in ("", ".", "..") and len(f"{n}.md".encode()) <= 255)
)
FOLDER = st.sampled_from(["", "Notes", "Papers/Tags", "a b", "한국어 노트", "x [y]", "Notes/Deep"])
SOURCES = ["Source.md", "Notes/Deep/Source.md", "한국어 노트/원본.md", "Papers/Tags/Tag x.md"]


@st.composite
def vaults(draw: st.DrawFn) -> list[str]:
    names = draw(st.lists(NAME, min_size=1, max_size=4))
    paths = [f"{folder}/{name}.md".lstrip("/") for name in names for folder in [draw(FOLDER)]]
    if draw(st.booleans()):  # the same name in a second folder: the path tells them apart
        paths.append(f"{draw(FOLDER)}/{names[0]}.md".lstrip("/"))
    unique = {_nfc(p).lower(): p for p in paths}  # names differing only in case: not documented
    return sorted(unique.values())


@settings(max_examples=400, deadline=None)
@given(notes=vaults(), label=st.none() | NAME, in_table=st.booleans())
@example(notes=["200305 What the [MASK].md", "200518 U$^2$-Net.md"], label=None, in_table=False)
@example(notes=["Notes/a  b.md", "a b.md", "trailing .md"], label="x", in_table=True)
@example(notes=["Reading/Perceiver #1.md", "x.md.md", "x.md"], label=None, in_table=False)
@example(
    notes=["Notes/http:x.md", "http:y.md", "Tom &amp; Jerry [1].md"], label=None, in_table=False
)
def test_a_link_to_any_note_opens_exactly_that_note_from_any_folder(
    notes: list[str], label: str | None, in_table: bool
) -> None:
    names = LinkNames(Counter(stem_of(path).lower() for path in notes))
    for path in notes:
        target = names.target(path)
        link = note_link(target, label=label, in_table=in_table)
        if not linkable(target):
            # No form reaches it: its name, as text that is no link.
            assert link == plain_name(target) and "[[" not in link and "](" not in link
            assert why_unlinkable(target)
            continue
        for source in [*SOURCES, *notes]:
            assert resolve(link, source, notes) == path, (link, source)
        assert not any(d in link for d in ("`", "%%", "<!--")), link
        assert "$" not in link.split("](", 1)[0], link  # no maths in what is shown
        assert "|" not in link.replace("\\|", "") or (link.startswith("[[") and not in_table)
        # What we wrote reads back as the same target, after a reference and in a property.
        assert links_at(f" {link} rest", 0) == [target]
        entry = property_link(target)
        assert entry is not None and link_target(entry) == target.lower()


# --------------------------------------------------------------------------------------------
# End to end: `vaultpapers link` on notes named as researchers name them.

MASK = "200305 What the [MASK].md"  # from a public Korean paper-notes vault (issue 16)
U2NET = "Notes/200518 U$^2$-Net.md"
PERCEIVER_NOTE = "Papers/Perceiver - General Perception with Iterative Attention (2103.03206).md"
_ANY_LINK = re.compile(r"!?\[\[[^\]\n]*\]\]|\[(?:[^\[\]\\\n]|\\.)*\]\([^()\s]+\)")


def run_link(vault: Path, api: FakeArxiv) -> Result:
    env = {"VAULTPAPERS_ARXIV_DELAY": "0", "VAULTPAPERS_ARXIV_API": api.url}
    return CliRunner().invoke(main, ["link", str(vault)], env=env)


def notes_of(vault: Path) -> list[str]:
    return sorted(
        p.relative_to(vault).as_posix()
        for p in vault.rglob("*.md")
        if not p.relative_to(vault).parts[0].startswith(".")
    )


def front_matter(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


def links_in(vault: Path, path: str) -> list[str]:
    text = (vault / path).read_text(encoding="utf-8")
    return [link for link in _ANY_LINK.findall(text) if "://" not in link]


@pytest.fixture
def api(fake_arxiv: FakeArxiv) -> FakeArxiv:
    for paper in (PERCEIVER, PERCEIVER_IO, MIXER):
        fake_arxiv.add(paper)
    return fake_arxiv


def test_notes_named_with_brackets_and_dollars_are_linked_from_mentions_and_indexes(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(
        tmp_path / "v",
        {
            MASK: "# What the [MASK]\n\nProbing: https://arxiv.org/abs/2103.03206 #nlp\n",
            U2NET: "Saliency, after arXiv:2103.03206. #nlp\n",
            "Notes/two  spaces.md": "https://arxiv.org/abs/2103.03206\n",
        },
    )
    assert run_link(vault, api).exit_code == 0
    notes = notes_of(vault)
    mentions = links_in(vault, PERCEIVER_NOTE)
    assert [resolve(link, PERCEIVER_NOTE, notes) for link in mentions] == [
        MASK,
        U2NET,
        "Notes/two  spaces.md",
    ]
    assert mentions == [
        "[200305 What the (MASK)](200305%20What%20the%20%5BMASK%5D.md)",
        "[200518 U^2-Net](200518%20U$%5E2$-Net.md)",
        "[two  spaces](two%20%20spaces.md)",
    ]
    index = "Papers/Tags/Tag nlp.md"
    assert [resolve(link, index, notes) for link in links_in(vault, index)] == [MASK, U2NET]
    for path in notes:  # every link anywhere opens a note of the vault
        for link in links_in(vault, path):
            assert resolve(link, path, notes) is not None, (path, link)

    before = snapshot(vault)
    again = run_link(vault, api)
    assert again.exit_code == 0 and snapshot(vault) == before


@pytest.mark.parametrize(
    ("name", "link"),
    [
        ("MLP-Mixer [vision].md", "[MLP-Mixer](MLP-Mixer%20%5Bvision%5D.md)"),
        ("MLP-Mixer.md.md", "[MLP-Mixer](MLP-Mixer.md.md)"),
    ],
)
def test_a_paper_note_renamed_with_brackets_gets_links_a_second_run_leaves_alone(
    tmp_path: Path, api: FakeArxiv, name: str, link: str
) -> None:
    vault = build_vault(tmp_path / "v", {"m.md": "Mixer https://arxiv.org/abs/2105.01601\n"})
    assert run_link(vault, api).exit_code == 0
    mixer = next((vault / "Papers").glob("MLP-Mixer*"))
    (vault / "Reading").mkdir()
    mixer.rename(vault / "Reading" / name)
    cites = "| paper | link |\n|---|---|\n| Mixer | arXiv:2105.01601 |\nAlso arXiv:2105.01601\n"
    (vault / "b.md").write_text(cites, encoding="utf-8")

    assert run_link(vault, api).exit_code == 0
    linked = (vault / "b.md").read_text(encoding="utf-8")
    assert linked == cites.replace("2105.01601", f"2105.01601 {link}")
    assert resolve(link, "b.md", notes_of(vault)) == f"Reading/{name}"

    before = snapshot(vault)
    again = run_link(vault, api)
    assert again.exit_code == 0, again.output
    assert "0 links inserted" in again.output and snapshot(vault) == before
    # Edited later, the note is read again: the links it has are seen as ours.
    (vault / "b.md").write_text(linked + "More.\n", encoding="utf-8")
    assert run_link(vault, api).exit_code == 0
    assert (vault / "b.md").read_text(encoding="utf-8") == linked + "More.\n"


def test_a_paper_note_renamed_with_a_hash_is_listed_by_name_and_reported(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "arXiv:2103.03206 and arXiv:2107.14795 #nlp\n"})
    assert run_link(vault, api).exit_code == 0
    io_note = next((vault / "Papers").glob("Perceiver IO*"))
    (vault / "Reading").mkdir()
    io_note.rename(vault / "Reading" / "Perceiver IO #1.md")
    cites_io = "See https://arxiv.org/abs/2107.14795 #nlp\n"
    (vault / "b.md").write_text(cites_io, encoding="utf-8")

    result = run_link(vault, api)
    assert result.exit_code == 0
    assert "Reading/Perceiver IO #1.md: no link can point to this note: its name has '#'" in (
        result.output
    )
    # No link that would open a new, empty note "Perceiver IO " is inserted; the paper note's
    # related list and the indexes name it as text.
    assert (vault / "b.md").read_text(encoding="utf-8") == cites_io
    related = (vault / PERCEIVER_NOTE).read_text(encoding="utf-8")
    assert "\n- Reading/Perceiver IO \\#1 · " in related
    cs_lg = (vault / "Papers/Tags/Tag arxiv › cs-LG.md").read_text(encoding="utf-8")
    assert "\n- Reading/Perceiver IO \\#1 · " in cs_lg
    for path in notes_of(vault):
        if path.startswith("Papers/"):  # generated notes: every link resolves
            for link in links_in(vault, path):
                assert resolve(link, path, notes_of(vault)) is not None, (path, link)

    before = snapshot(vault)
    assert run_link(vault, api).exit_code == 0 and snapshot(vault) == before


def test_related_papers_round_trip_a_name_a_wikilink_cannot_hold(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "arXiv:2103.03206 and arXiv:2107.14795\n"})
    assert run_link(vault, api).exit_code == 0
    (vault / "Reading").mkdir()
    (vault / PERCEIVER_NOTE).rename(vault / "Reading" / "Perceiver [ICML].md")
    assert run_link(vault, api).exit_code == 0
    io_path = next((vault / "Papers").glob("Perceiver IO*"))
    entry = "[Perceiver (ICML)](Perceiver%20%5BICML%5D.md)"
    assert front_matter(io_path)["related"] == [entry]
    assert "\n- [Perceiver](Perceiver%20%5BICML%5D.md) · " in io_path.read_text(encoding="utf-8")
    before = snapshot(vault)
    assert run_link(vault, api).exit_code == 0 and snapshot(vault) == before

    # The user deletes it from `related`: a veto, kept in `unrelated`, on both sides.
    text = io_path.read_text(encoding="utf-8")
    io_path.write_text(text.replace(f'related:\n  - "{entry}"\n', "related: []\n"), "utf-8")
    assert run_link(vault, api).exit_code == 0
    assert front_matter(io_path)["unrelated"] == [entry]
    assert "[Perceiver](Perceiver%20%5BICML%5D.md) · " not in io_path.read_text(encoding="utf-8")
    assert not front_matter(vault / "Reading" / "Perceiver [ICML].md").get("related")
    before = snapshot(vault)
    assert run_link(vault, api).exit_code == 0 and snapshot(vault) == before


@settings(max_examples=300, deadline=None)
@given(
    title=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80),
    pattern=st.sampled_from(["{title} ({id})", "{id} {title}", "{first_author} {year} {id}"]),
)
@example(title="Reading\u200b list\x80", pattern="{title} ({id})")
@example(title="notes.MD", pattern="{id} {title}")
def test_the_names_vaultpapers_gives_its_notes_always_fit_in_a_wikilink(
    title: str, pattern: str
) -> None:
    paper = make_paper("2103.03206", title, authors=(title,))
    assert wikilink_safe(paper_file_stem("2103.03206", paper, pattern))
    assert wikilink_safe(index_file_stem(TAG_KIND, title))
    assert wikilink_safe(index_file_stem(SERIES_KIND, title))
