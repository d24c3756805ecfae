"""Writing from the vault: citekeys in paper notes, a bibliography kept written, Pandoc citations
counted as references, and `vaultpapers export`; read back by real consumers (bibtexparser,
citeproc-py, pandoc --citeproc), not only by our own code."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import example, given, settings
from hypothesis import strategies as st

from factories import make_paper
from paths import REPO
from vaultpapers.cli import main
from vaultpapers.markdown.spans import code_spans
from vaultpapers.notes.bibliography import entries, render_bibtex, render_csl_json
from vaultpapers.notes.citekeys import assign_citekeys, base_citekey, pandoc_citekeys
from vaultpapers.testing.arxiv_server import FakeArxiv
from vaults import MALDACENA, PERCEIVER, build_vault, link_cli

ENTRIES = REPO / "examples" / "arxiv-entries"
PERCEIVER_NOTE = "Papers/Perceiver - General Perception with Iterative Attention (2103.03206).md"
# Real metadata of DeiT (arXiv 2012.12877, as arXiv lists it); Perceiver IO comes from its
# real Atom entry (examples/arxiv-entries), with Olivier Hénaff among its authors.
DEIT = make_paper(
    "2012.12877",
    "Training data-efficient image transformers & distillation through attention",
    version=2,
    published="2020-12-23",
    updated="2021-01-15",
    authors=(
        "Hugo Touvron",
        "Matthieu Cord",
        "Matthijs Douze",
        "Francisco Massa",
        "Alexandre Sablayrolles",
        "Hervé Jégou",
    ),
    categories=("cs.CV",),
)
# Synthetic: arXiv lists few authors in Hangul; the names a Korean group might give.
KOREAN = make_paper(
    "2301.00001",
    "한국어 문서를 위한 검색 증강 생성",
    published="2023-01-02",
    authors=("김철수", "이영희"),
    categories=("cs.CL",),
    journal_ref="Proceedings of ACL 2023",
    doi="10.18653/v1/2023.acl-long.1",
)


def front_matter(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


def write_config(vault: Path, text: str) -> None:
    (vault / ".vaultpapers").mkdir(exist_ok=True)
    (vault / ".vaultpapers" / "config.yaml").write_text(text, encoding="utf-8")


@pytest.fixture
def api(fake_arxiv: FakeArxiv) -> FakeArxiv:
    for paper in (PERCEIVER, MALDACENA, DEIT, KOREAN):
        fake_arxiv.add(paper)
    fake_arxiv.add_entry_xml("2107.14795", (ENTRIES / "2107.14795.xml").read_text("utf-8"))
    return fake_arxiv


CITING = """\
# Reading

- https://arxiv.org/abs/2103.03206
- https://arxiv.org/abs/2107.14795
- https://arxiv.org/abs/2012.12877
- https://arxiv.org/abs/hep-th/9711200
- https://arxiv.org/abs/2301.00001
"""


def linked_vault(tmp_path: Path, api: FakeArxiv, config: str = "") -> Path:
    vault = build_vault(tmp_path / "v", {"Reading.md": CITING})
    write_config(vault, config or "bibliography: [Papers/library.bib, Papers/library.json]\n")
    link_cli(vault, api)
    return vault


# -- citekeys ----------------------------------------------------------------------------------


def test_citekeys_are_shaped_like_better_bibtex_ones() -> None:
    assert base_citekey("2103.03206", PERCEIVER) == "jaegle2021perceiver"
    assert base_citekey("2012.12877", DEIT) == "touvron2020training"
    assert base_citekey("hep-th/9711200", MALDACENA) == "maldacena1997large"
    jegou = make_paper("1", "The Attention Is All", authors=("Hervé Jégou",))
    assert base_citekey("1", jegou) == "jegou2021attention"
    assert base_citekey("2301.00001", KOREAN) == "gimcheolsu2023hangugeo"  # anyascii's romanising
    assert base_citekey("2103.03206", PERCEIVER, "{id}-{author}") == "2103.03206-jaegle"


def test_two_papers_wanting_one_citekey_are_told_apart_by_arxiv_id() -> None:
    io = make_paper("2107.14795", "Perceiver IO", authors=("Andrew Jaegle",))
    keys, collisions = assign_citekeys({"2107.14795": io, "2103.03206": PERCEIVER}, {})
    assert keys == {"2103.03206": "jaegle2021perceiver", "2107.14795": "jaegle2021perceivera"}
    assert collisions == []
    # A key held already stays, even the plain one by a later paper.
    keys, _ = assign_citekeys(
        {"2107.14795": io, "2103.03206": PERCEIVER}, {"2107.14795": "jaegle2021perceiver"}
    )
    assert keys["2103.03206"] == "jaegle2021perceivera"


_same_names = st.lists(
    st.tuples(
        st.sampled_from(["Andrew Jaegle", "Hervé Jégou", "김철수", "Ada Lovelace"]),
        st.sampled_from(["Perceiver", "The Perceiver", "Attention", "주의"]),
        st.integers(2019, 2021),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(_same_names, st.randoms(use_true_random=False), st.integers(0, 12))
def test_citekeys_are_unique_and_stable_under_any_order(specs, random, split) -> None:
    papers = {
        f"2{i:03d}.{i:05d}": make_paper(
            f"2{i:03d}.{i:05d}", title, authors=(author,), published=f"{year}-05-01"
        )
        for i, (author, title, year) in enumerate(specs)
    }
    order = list(papers)
    random.shuffle(order)
    keys, _ = assign_citekeys({k: papers[k] for k in order}, {})
    assert len({c.casefold() for c in keys.values()}) == len(keys)
    assert keys == assign_citekeys(papers, {})[0]  # any order: the same keys
    # Papers coming over two runs: the first run's keys stay, all stay unique.
    first, _ = assign_citekeys({k: papers[k] for k in order[:split]}, {})
    later, _ = assign_citekeys(papers, first)
    assert {k: later[k] for k in first} == first
    assert len({c.casefold() for c in later.values()}) == len(later)


def test_every_paper_note_gets_a_citekey_and_the_users_edit_is_kept(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = linked_vault(tmp_path, api)
    note = vault / PERCEIVER_NOTE
    assert front_matter(note)["citekey"] == "jaegle2021perceiver"
    io = next((vault / "Papers").glob("Perceiver IO*"))
    assert front_matter(io)["citekey"] == "jaegle2021perceivera"
    note.write_text(
        note.read_text("utf-8").replace("citekey: jaegle2021perceiver", "citekey: Perceiver21"),
        encoding="utf-8",
    )
    link_cli(vault, api)
    assert front_matter(note)["citekey"] == "Perceiver21"
    assert "@misc{Perceiver21," in (vault / "Papers/library.bib").read_text("utf-8")


def test_citekey_aliases_only_when_turned_on(tmp_path: Path, api: FakeArxiv) -> None:
    vault = linked_vault(tmp_path, api, "citekey_aliases: true\n")
    aliases = front_matter(vault / PERCEIVER_NOTE)["aliases"]
    assert aliases == [PERCEIVER.title, "@jaegle2021perceiver"]
    other = linked_vault(tmp_path / "off", api)
    assert front_matter(other / PERCEIVER_NOTE)["aliases"] == [PERCEIVER.title]
    # The user changes the citekey: the alias we added for the old one goes, theirs stays.
    note = vault / PERCEIVER_NOTE
    text = note.read_text("utf-8").replace("citekey: jaegle2021perceiver", "citekey: perceiver")
    note.write_text(
        text.replace('  - "@jaegle2021perceiver"', '  - "@jaegle2021perceiver"\n  - "@mine"'),
        "utf-8",
    )
    link_cli(vault, api)
    assert front_matter(note)["aliases"] == [PERCEIVER.title, "@mine", "@perceiver"]


def test_a_citekey_two_notes_hold_is_reported_with_both_and_changed_in_neither(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = linked_vault(tmp_path, api)
    deit = next((vault / "Papers").glob("Training data-efficient*"))
    deit.write_text(
        deit.read_text("utf-8").replace(
            "citekey: touvron2020training", "citekey: JAEGLE2021perceiver"
        ),
        encoding="utf-8",
    )
    result = link_cli(vault, api)
    assert (
        result.stderr.count("citekey 'JAEGLE2021perceiver' is also the citekey of")
        + result.stderr.count("citekey 'jaegle2021perceiver' is also the citekey of")
        == 2
    ), result.stderr
    assert PERCEIVER_NOTE in result.stderr and deit.relative_to(vault).as_posix() in result.stderr
    assert front_matter(deit)["citekey"] == "JAEGLE2021perceiver"
    assert front_matter(vault / PERCEIVER_NOTE)["citekey"] == "jaegle2021perceiver"


def set_citekey(note: Path, yaml_value: str) -> str:
    """The note with its citekey line replaced by `citekey: <yaml_value>`; its new text."""
    text = note.read_text("utf-8")
    line = next(line for line in text.splitlines() if line.startswith("citekey:"))
    text = text.replace(line, f"citekey: {yaml_value}", 1)
    note.write_text(text, encoding="utf-8")
    return text


@pytest.mark.parametrize("typed", ['"smith 2020"', '"@mixer"', "a..b", "trailing-"])
def test_a_citekey_pandoc_cannot_cite_is_reported_kept_and_left_out_of_the_bibliography(
    tmp_path: Path, api: FakeArxiv, typed: str
) -> None:
    vault = linked_vault(tmp_path, api)
    note = vault / PERCEIVER_NOTE
    text = set_citekey(note, typed)
    result = link_cli(vault, api)
    assert f"{PERCEIVER_NOTE}: citekey {yaml.safe_load(typed)!r} cannot be cited" in result.stderr
    assert note.read_text("utf-8") == text
    bib = (vault / "Papers/library.bib").read_text("utf-8")
    assert "2103.03206" not in bib and bib.count("@") == 4
    assert "2103.03206" not in (vault / "Papers/library.json").read_text("utf-8")
    if shutil.which("pandoc"):
        assert _pandoc_bibliography(bib).returncode == 0


def test_a_citekey_yaml_reads_as_a_number_is_the_users_and_kept_as_written(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = linked_vault(tmp_path, api)
    note = vault / PERCEIVER_NOTE
    text = set_citekey(note, "2021")
    result = link_cli(vault, api)
    assert note.read_text("utf-8") == text, result.output
    assert "@misc{2021," in (vault / "Papers/library.bib").read_text("utf-8")
    assert "citekey" not in result.stderr


def test_a_citekey_that_is_a_list_is_reported_and_left_alone(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = linked_vault(tmp_path, api)
    note = vault / PERCEIVER_NOTE
    text = set_citekey(note, "[a, b]")
    result = link_cli(vault, api)
    assert f"{PERCEIVER_NOTE}: citekey is a list or a mapping" in result.stderr
    assert note.read_text("utf-8") == text
    bib = (vault / "Papers/library.bib").read_text("utf-8")
    assert "2103.03206" not in bib and bib.count("@") == 4


# -- the bibliography file -------------------------------------------------------------------


def test_link_keeps_the_bibliography_written_and_rewrites_it_only_when_it_changes(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = linked_vault(tmp_path, api)
    bib = vault / "Papers/library.bib"
    text = bib.read_text("utf-8")
    keys = [line.split("{", 1)[1].rstrip(",") for line in text.splitlines() if line[:1] == "@"]
    assert keys == sorted(keys) and len(keys) == 5
    before = bib.stat().st_mtime_ns, (vault / "Papers/library.json").stat().st_mtime_ns
    link_cli(vault, api)
    assert (bib.stat().st_mtime_ns, (vault / "Papers/library.json").stat().st_mtime_ns) == before
    (vault / "More.md").write_text("MLP-Mixer https://arxiv.org/abs/2105.01601\n", "utf-8")
    authors = ("Ilya Tolstikhin", "Neil Houlsby")
    api.add(
        make_paper("2105.01601", "MLP-Mixer: An all-MLP Architecture for Vision", authors=authors)
    )
    link_cli(vault, api)
    assert "@misc{tolstikhin2021mlpmixer," in bib.read_text("utf-8")
    assert len(json.loads((vault / "Papers/library.json").read_text("utf-8"))) == 6


def test_a_bibliography_edited_by_hand_is_reported_and_left_alone(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = linked_vault(tmp_path, api)
    bib = vault / "Papers/library.bib"
    edited = bib.read_text("utf-8").replace("year = {2021}", "year = {2022}", 1)
    bib.write_text(edited, encoding="utf-8")
    (vault / "More.md").write_text("https://arxiv.org/abs/2105.01601\n", "utf-8")
    api.add(make_paper("2105.01601", "MLP-Mixer: An all-MLP Architecture for Vision"))
    result = CliRunner().invoke(
        main,
        ["link", str(vault)],
        env={"VAULTPAPERS_ARXIV_API": api.url, "VAULTPAPERS_ARXIV_DELAY": "0"},
    )
    assert "Papers/library.bib: bibliography edited by hand" in result.stderr
    assert bib.read_text("utf-8") == edited
    # The CSL-JSON one, ours, follows.
    assert len(json.loads((vault / "Papers/library.json").read_text("utf-8"))) == 6


def test_a_bibliography_deleted_or_edited_is_looked_at_again_when_its_papers_did_not_change(
    tmp_path: Path, api: FakeArxiv
) -> None:
    """A run remembers what the file held and skips rendering it while neither its papers nor
    the file changed; a file deleted or edited meanwhile is no such file."""
    vault = linked_vault(tmp_path, api)
    bib = vault / "Papers/library.bib"
    written = bib.read_text("utf-8")
    bib.unlink()
    (vault / "Reading.md").write_text(CITING + "\nMore thoughts.\n", encoding="utf-8")
    link_cli(vault, api)
    assert bib.read_text("utf-8") == written
    bib.write_text(written + "% my note\n", encoding="utf-8")
    (vault / "Reading.md").write_text(CITING + "\nEven more.\n", encoding="utf-8")
    result = link_cli(vault, api)
    assert "Papers/library.bib: bibliography edited by hand" in result.stderr
    assert bib.read_text("utf-8") == written + "% my note\n"


def test_a_bibliography_outside_the_vault_is_refused_in_the_config(tmp_path: Path) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "x"})
    write_config(vault, "bibliography: ../paper/refs.bib\n")
    result = CliRunner().invoke(main, ["link", "--offline", str(vault)])
    assert result.exit_code == 2
    assert "not a file inside the vault" in result.output and "export -o" in result.output


def test_published_papers_become_articles_and_proceedings() -> None:
    papers = {"hep-th/9711200": MALDACENA, "2301.00001": KOREAN, "2103.03206": PERCEIVER}
    keys, _ = assign_citekeys(papers, {})
    text = render_bibtex(entries(papers, keys))
    assert "@article{maldacena1997large," in text
    assert "  journal = {Adv.Theor.Math.Phys.2:231-252,1998}," in text
    assert "  doi = {10.1023/A:1026654312961}," in text
    assert (
        "@inproceedings{gimcheolsu2023" in text and "booktitle = {Proceedings of ACL 2023}" in text
    )
    assert "@misc{jaegle2021perceiver," in text
    assert "  eprint = {2103.03206},\n  archivePrefix = {arXiv},\n  primaryClass = {cs.CV}," in text


def test_latex_specials_are_escaped_and_maths_kept() -> None:
    paper = make_paper("1", "Fast & Free: 100% of $O(n_1)$ in #ImageNet_1k", authors=("A B",))
    text = render_bibtex(entries({"1": paper}, {"1": "b2021fast"}))
    assert r"title = {Fast \& Free: 100\% of $O(n_1)$ in \#{ImageNet}\_1k}," in text


@pytest.mark.parametrize(
    ("title", "written"),
    [
        ("Costs under $5 per GPU-hour", r"Costs under \$5 per {GPU}-hour"),
        ("Costs from $5 to $10 a day", r"Costs from $5 to $10 a day"),  # LaTeX pairs them too
        (r"Sets \{x\} and a lone \{ brace", r"Sets \{x\} and a lone \{ brace"),
        ("A } stray brace and a { lone one", r"A \} stray brace and a \{ lone one"),
        ("A title ending in a backslash \\", r"A title ending in a backslash \textbackslash{}"),
        ("Approx. ~3x faster", r"Approx. \textasciitilde{}3x faster"),
        (r"Schr\"odinger \& $x^{2}$", r"Schr\"odinger \& $x^{2}$"),
    ],
)
def test_what_latex_would_misread_is_escaped(title: str, written: str) -> None:
    paper = make_paper("1", title, authors=("A B",))
    assert f"  title = {{{written}}},\n" in render_bibtex(entries({"1": paper}, {"1": "k"}))


def test_group_authors_and_names_holding_and_stay_one_author() -> None:
    import bibtexparser
    from bibtexparser.middlewares import SeparateCoAuthors

    paper = make_paper(
        "1", "T", authors=("The ATLAS Collaboration", "Tom and Jerry Smith", "Ada Lovelace")
    )
    text = render_bibtex(entries({"1": paper}, {"1": "k"}))
    library = bibtexparser.parse_string(text, append_middleware=[SeparateCoAuthors()])
    assert len(library.entries[0]["author"]) == 3, library.entries[0]["author"]
    items = json.loads(render_csl_json(entries({"1": paper}, {"1": "k"})))
    assert items[0]["author"][0] == {"literal": "The ATLAS Collaboration"}


def test_csl_json_titles_are_plain_text() -> None:
    paper = make_paper("1", r"Sequence \& Structure: 100\% of it", authors=("A B",))
    items = json.loads(render_csl_json(entries({"1": paper}, {"1": "k"})))
    assert items[0]["title"] == "Sequence & Structure: 100% of it"


# -- real consumers ----------------------------------------------------------------------------


def test_bibtexparser_reads_back_every_entry_with_non_ascii_names_intact(
    tmp_path: Path, api: FakeArxiv
) -> None:
    import bibtexparser

    vault = linked_vault(tmp_path, api)
    library = bibtexparser.parse_string((vault / "Papers/library.bib").read_text("utf-8"))
    assert not library.failed_blocks
    by_key = {entry.key: entry for entry in library.entries}
    assert set(by_key) == {
        "gimcheolsu2023hangugeo",
        "jaegle2021perceiver",
        "jaegle2021perceivera",
        "maldacena1997large",
        "touvron2020training",
    }
    assert "Jégou, Hervé" in by_key["touvron2020training"]["author"]
    assert "Hénaff, Olivier" in by_key["jaegle2021perceivera"]["author"]
    korean = by_key["gimcheolsu2023hangugeo"]
    assert korean["author"] == "{김철수} and {이영희}"
    assert korean.entry_type == "inproceedings"


def test_citeproc_py_renders_the_csl_json(tmp_path: Path, api: FakeArxiv) -> None:
    from citeproc import (
        Citation,
        CitationItem,
        CitationStylesBibliography,
        CitationStylesStyle,
        formatter,
    )
    from citeproc.source.json import CiteProcJSON

    vault = linked_vault(tmp_path, api)
    items = json.loads((vault / "Papers/library.json").read_text("utf-8"))
    source = CiteProcJSON(items)
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bibliography = CitationStylesBibliography(style, source, formatter.plain)
    for item in items:
        bibliography.register(Citation([CitationItem(item["id"])]))
    rendered = "\n".join(str(entry) for entry in bibliography.bibliography())
    # Cite Them Right names the first author only past three ("et al.").
    assert "Touvron, H. et al. (2020) “Training data-efficient image transformers" in rendered
    assert "김철수 and 이영희 (2023) “한국어 문서를 위한 검색 증강 생성”" in rendered
    assert "Adv.Theor.Math.Phys.2:231-252,1998" in rendered


# CI installs pandoc (.ci/run); elsewhere, without it, these are skipped, never passed.
pandoc = pytest.mark.skipif(
    shutil.which("pandoc") is None and not os.environ.get("CI"), reason="pandoc not installed"
)

DRAFT = """\
---
title: Draft
---
Perception [@jaegle2021perceiver], distillation [see @touvron2020training, p. 3] and
retrieval in Korean [@{KOREAN}].
"""


@pandoc
@pytest.mark.parametrize("name", ["library.bib", "library.json"])
def test_pandoc_renders_a_document_citing_three_papers(
    tmp_path: Path, api: FakeArxiv, name: str
) -> None:
    vault = linked_vault(tmp_path, api)
    korean = front_matter(next((vault / "Papers").glob("한국어*")))["citekey"]
    draft = tmp_path / "draft.md"
    draft.write_text(DRAFT.replace("{KOREAN}", korean), encoding="utf-8")
    rendered = subprocess.run(
        ["pandoc", "--citeproc", "--bibliography", str(vault / "Papers" / name), "-t", "plain"],
        input=draft.read_text("utf-8"),
        capture_output=True,
        text=True,
        check=True,
    )
    out = " ".join(rendered.stdout.split())
    assert "[CSL STYLE ERROR" not in out and "???" not in out, rendered.stderr
    assert "(Jaegle et al. 2021)" in out and "(see Touvron et al. 2020, 3)" in out
    assert "(김철수 and 이영희 2023)" in out
    assert "Touvron, Hugo, Matthieu Cord" in out and "Hervé Jégou. 2020" in out
    assert "“Training Data-Efficient Image Transformers" in out
    assert "Proceedings of ACL 2023" in out and "10.18653/v1/2023.acl-long.1" in out
    assert "Perceiver: General Perception with Iterative Attention" in out
    assert "Maldacena" not in out  # not cited


# Titles and names as arXiv's free text may hold them: words, TeX the authors typed, and the
# characters LaTeX reads as markup, in any order, spaced or not.
_TEX = ["$", "{", "}", "\\", "~", "^", "&", "%", "#", "_", r"\{", r"\}", r"\&", r"\\", r"\"o"]
_TEX_PIECES = st.sampled_from(
    [*_TEX, "$x^{2}$", "$O(n)$", "and", "Jégou", "김철수", "GPT-3", "ImageNet"]
)
_WORDS = st.from_regex(r"[a-z]{3,8}", fullmatch=True)
_free_text = st.lists(
    st.tuples(st.one_of(_TEX_PIECES, _WORDS), st.sampled_from(["", " "])), min_size=1, max_size=12
).map(lambda pieces: "".join(piece + gap for piece, gap in pieces).strip() or "x")


def _plain_words(title: str) -> list[str]:
    """The title's own words that any reading must show: spaced, outside maths."""
    if "$" in title:
        return []
    return [w for w in title.split(" ") if re.fullmatch(r"[a-z]{3,8}", w)]


@settings(max_examples=50, deadline=None)
@given(title=_free_text, names=st.lists(_free_text, min_size=1, max_size=3))
@example(title="\\and{aaa aaa", names=["$"])  # Pandoc dropped a title holding `\and`
def test_any_title_and_name_is_read_back_as_one_entry(title: str, names: list[str]) -> None:
    import bibtexparser

    paper = make_paper("1", title, authors=tuple(names))
    text = render_bibtex(entries({"1": paper}, {"1": "k2021"}))
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks, text
    assert [entry.key for entry in library.entries] == ["k2021"], text
    if shutil.which("pandoc") is None:
        return
    rendered = _pandoc_bibliography(text)
    assert rendered.returncode == 0, (text, rendered.stderr)
    shown = rendered.stdout.casefold()
    for word in _plain_words(title):
        assert word in shown, (text, rendered.stdout)


def _pandoc_bibliography(bib: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "refs.bib"
        path.write_text(bib, encoding="utf-8")
        return subprocess.run(
            ["pandoc", "--citeproc", "--bibliography", str(path), "-t", "plain", "--wrap=none"],
            input='---\nnocite: "@*"\n---\n',
            capture_output=True,
            text=True,
        )


@pandoc
@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("Costs under $5 per GPU-hour", "costs under $5 per gpu-hour"),
        (r"Sets \{x\} and a lone \{ brace", "sets {x} and a lone { brace"),
        ("A title ending in a backslash \\", "ending in a backslash \\"),
        ("Approx. ~3x faster", "approx. ~3x faster"),
    ],
)
def test_pandoc_shows_titles_latex_would_misread(title: str, shown: str) -> None:
    paper = make_paper("1", title, authors=("Ada Lovelace",))
    rendered = _pandoc_bibliography(render_bibtex(entries({"1": paper}, {"1": "k"})))
    assert rendered.returncode == 0, rendered.stderr
    assert shown in " ".join(rendered.stdout.split()).casefold(), rendered.stdout


# -- Pandoc citations in notes ----------------------------------------------------------------


def test_pandoc_citations_are_found_outside_code() -> None:
    text = "[see @a, p. 3; @b] and @c. mail me@x.org `@d` [-@e_f:g]\n```\n@h\n```\n"
    assert pandoc_citekeys(text, code_spans(text)) == ("a", "b", "c", "e_f:g")


def test_a_pandoc_citation_counts_as_citing_the_paper_and_gets_no_link(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = linked_vault(tmp_path, api)
    draft = "# Draft\n\nPerceiver [@jaegle2021perceiver, p. 2] and @maldacena1997large.\n"
    (vault / "Draft.md").write_text(draft, encoding="utf-8")
    link_cli(vault, api)
    assert (vault / "Draft.md").read_text("utf-8") == draft
    assert "- [[Draft]]" in (vault / PERCEIVER_NOTE).read_text("utf-8")
    maldacena = next((vault / "Papers").glob("The Large N*"))
    assert "- [[Draft]]" in maldacena.read_text("utf-8")
    (vault / "Draft.md").write_text("# Draft\n\nNothing cited.\n", encoding="utf-8")
    link_cli(vault, api)
    assert "[[Draft]]" not in (vault / PERCEIVER_NOTE).read_text("utf-8")


# -- export ------------------------------------------------------------------------------------


def export(vault: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["export", str(vault), *args])


def test_export_prints_the_whole_bibliography_or_one_notes_papers(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = linked_vault(tmp_path, api)
    whole = export(vault)
    assert whole.exit_code == 0
    assert whole.stdout == (vault / "Papers/library.bib").read_text("utf-8")
    (vault / "Outline.md").write_text(
        "See https://arxiv.org/abs/2012.12877 and [@maldacena1997large].\n", "utf-8"
    )
    outline = export(vault, "--note", "Outline", "--format", "csl-json")
    assert outline.exit_code == 0, outline.output
    assert [item["id"] for item in json.loads(outline.stdout)] == [
        "maldacena1997large",
        "touvron2020training",
    ]
    assert export(vault, "--note", "Nope").exit_code == 2


def test_export_writes_outside_the_vault_only_where_o_names(tmp_path: Path, api: FakeArxiv) -> None:
    vault = linked_vault(tmp_path, api)
    target = tmp_path / "paper" / "refs.json"
    target.parent.mkdir()
    result = export(vault, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert len(json.loads(target.read_text("utf-8"))) == 5
    assert sorted(p.name for p in tmp_path.joinpath("paper").iterdir()) == ["refs.json"]


def test_export_never_replaces_a_note_or_a_file_it_did_not_write(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = linked_vault(tmp_path, api)
    draft = vault / "Draft.md"
    draft.write_text("# Draft\n\nMy text [@jaegle2021perceiver].\n", encoding="utf-8")
    mine = tmp_path / "ex" / "mine.md"
    mine.parent.mkdir()
    refs = tmp_path / "ex" / "refs.bib"
    for target in (draft, mine, tmp_path / "ex" / "new.markdown"):
        before = target.read_text("utf-8") if target.exists() else None
        for force in ([], ["--force"]):
            result = export(vault, "-o", str(target), *force)
            assert result.exit_code == 2, result.output
            assert "a Markdown file" in result.output
            assert (target.read_text("utf-8") if target.exists() else None) == before
    hand = "@book{knuth1984, title = {The TeXbook}, author = {Knuth, Donald}, year = {1984}}\n"
    refs.write_text(hand, encoding="utf-8")
    result = export(vault, "-o", str(refs))
    assert result.exit_code == 2 and "not a bibliography vaultpapers wrote" in result.output
    assert refs.read_text("utf-8") == hand
    assert export(vault, "-o", str(refs), "--force").exit_code == 0
    ours = refs.read_text("utf-8")
    assert ours.startswith("% vaultpapers bibliography ") and ours.count("\n@") == 5
    # A bibliography it wrote is replaced without asking: exporting one note's papers there.
    (vault / "Outline.md").write_text("See [@maldacena1997large].\n", "utf-8")
    result = export(vault, "--note", "Outline", "-o", str(refs))
    assert result.exit_code == 0, result.output
    assert refs.read_text("utf-8").count("\n@") == 1


def test_a_bibliography_converted_to_crlf_is_still_ours(tmp_path: Path, api: FakeArxiv) -> None:
    vault = linked_vault(tmp_path, api)
    bib = vault / "Papers/library.bib"
    crlf = bib.read_bytes().replace(b"\n", b"\r\n")
    bib.write_bytes(crlf)
    (vault / "Reading.md").write_text(CITING + "\nMore.\n", encoding="utf-8")
    result = link_cli(vault, api)
    assert "edited by hand" not in result.stderr
    assert bib.read_bytes() == crlf
    (vault / "More.md").write_text("https://arxiv.org/abs/2105.01601\n", "utf-8")
    api.add(make_paper("2105.01601", "MLP-Mixer: An all-MLP Architecture for Vision"))
    result = link_cli(vault, api)
    assert "edited by hand" not in result.stderr
    text = bib.read_bytes()
    assert text.count(b"\r\n@") == 6 and b"\n" not in text.replace(b"\r\n", b"")


def test_csl_json_marks_preprints_as_arxiv_ones() -> None:
    items = json.loads(render_csl_json(entries({"2103.03206": PERCEIVER}, {"2103.03206": "p"})))
    assert items == [
        {
            "id": "p",
            "type": "article",
            "title": PERCEIVER.title,
            "author": [
                {"family": "Jaegle", "given": "Andrew"},
                {"family": "Gimeno", "given": "Felix"},
                {"family": "Brock", "given": "Andrew"},
                {"family": "Zisserman", "given": "Andrew"},
            ],
            "issued": {"date-parts": [[2021, 3, 4]]},
            "URL": "https://arxiv.org/abs/2103.03206",
            "publisher": "arXiv",
            "number": "arXiv:2103.03206",
            "DOI": "10.48550/arXiv.2103.03206",
        }
    ]
