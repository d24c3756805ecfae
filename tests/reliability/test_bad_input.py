"""Bad input: each odd file gets a message naming it, is left byte for byte as it was, and the
run goes on for the rest of the vault."""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from pathlib import Path

import pytest

from factories import make_paper
from reliability.harness import (
    cached_vault,
    front_matter,
    inserted_link,
    lines_naming,
    link,
    link_in_child,
    notes_on_disk,
    paper_notes,
    without_inserted_links,
)
from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.run.sources import cache_path
from vaultpapers.testing import FakeArxiv
from vaults import MIXER, PERCEIVER, snapshot

PERCEIVER_URL = "https://arxiv.org/abs/2103.03206"
MIXER_URL = "https://arxiv.org/abs/2105.01601"
PERCEIVER_NOTE = "Papers/Perceiver - General Perception with Iterative Attention (2103.03206).md"
GOOD = {"good.md": f"Perceiver {PERCEIVER_URL}\n"}


def assert_the_run_went_on(vault: Path) -> None:
    assert (vault / PERCEIVER_NOTE).is_file()
    assert "[[Perceiver - General" in (vault / "good.md").read_text(encoding="utf-8")


# -- front matter ----------------------------------------------------------------------------

BAD_FRONT_MATTER = {
    "malformed YAML": f"---\ntitle: [unclosed\n---\nMixer {MIXER_URL}\n",
    "a list": f"---\n- one\n- two\n---\nMixer {MIXER_URL}\n",
    "a scalar": f"---\njust a sentence\n---\nMixer {MIXER_URL}\n",
    "tab indentation": f"---\ntags:\n\t- x\n---\nMixer {MIXER_URL}\n",
    "an unknown tag": f"---\nwhen: !!python/object:os.system ls\n---\nMixer {MIXER_URL}\n",
}


@pytest.mark.parametrize("content", BAD_FRONT_MATTER.values(), ids=BAD_FRONT_MATTER.keys())
def test_a_note_with_front_matter_that_is_not_a_mapping_is_reported_and_left_untouched(
    tmp_path: Path, content: str
) -> None:
    vault = cached_vault(tmp_path / "v", {"odd.md": content, **GOOD}, [PERCEIVER, MIXER])
    result = link(vault, None, "--offline")
    assert result.exit_code == 0, result.output
    assert lines_naming(result.stderr, "odd.md", "front matter"), result.stderr
    assert (vault / "odd.md").read_bytes() == content.encode()
    assert_the_run_went_on(vault)


def test_a_paper_note_whose_front_matter_the_user_broke_is_left_alone_and_not_duplicated(
    tmp_path: Path,
) -> None:
    vault = cached_vault(tmp_path / "v", GOOD, [PERCEIVER])
    assert link(vault, None, "--offline").exit_code == 0
    note = vault / PERCEIVER_NOTE
    # One typo while editing the properties by hand: an unclosed flow list.
    broken = note.read_text(encoding="utf-8").replace(
        "primary_category: cs.CV", "primary_category: [cs.CV"
    )
    note.write_text(broken + "\nMy own notes on Perceiver.\n", encoding="utf-8", newline="")
    before = note.read_bytes()

    result = link(vault, None, "--offline")
    assert lines_naming(result.stderr, PERCEIVER_NOTE, "front matter"), result.stderr
    assert note.read_bytes() == before
    created = sorted(p.name for p in (vault / "Papers").glob("*.md"))
    assert created == [note.name], "a second note for the same paper was created"


# -- content that is not UTF-8 text ----------------------------------------------------------

UNREADABLE = {
    "latin-1": f"Café {PERCEIVER_URL}\n".encode("latin-1"),
    "invalid UTF-8 midway": f"ok {PERCEIVER_URL}\n".encode() + b"\xff\xfe broken\n",
    "a lone surrogate": b"\xed\xa0\x80 " + PERCEIVER_URL.encode(),
    "UTF-16 with BOM": f"{PERCEIVER_URL}\n".encode("utf-16"),
    "binary (PNG header)": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + PERCEIVER_URL.encode(),
}


@pytest.mark.parametrize("content", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_a_note_that_is_not_utf8_text_is_reported_and_left_untouched(
    tmp_path: Path, content: bytes
) -> None:
    vault = cached_vault(tmp_path / "v", {"odd.md": content, **GOOD}, [PERCEIVER])
    result = link(vault, None, "--offline")
    assert result.exit_code == 0, result.output
    assert lines_naming(result.stderr, "odd.md", "skipped"), result.stderr
    assert (vault / "odd.md").read_bytes() == content
    assert_the_run_went_on(vault)


def test_a_named_pipe_called_md_neither_hangs_the_run_nor_is_touched(tmp_path: Path) -> None:
    vault = cached_vault(tmp_path / "v", GOOD, [PERCEIVER])
    os.mkfifo(vault / "pipe.md")
    completed = link_in_child(vault, None, "--offline", timeout=30)
    assert completed.returncode == 0, completed.stderr
    assert stat.S_ISFIFO(os.lstat(vault / "pipe.md").st_mode)
    assert_the_run_went_on(vault)


@pytest.mark.parametrize("content", ["", "\n\n", "---\n---\n", "\ufeff"])
def test_an_empty_note_is_left_untouched(tmp_path: Path, content: str) -> None:
    vault = cached_vault(tmp_path / "v", {"empty.md": content.encode(), **GOOD}, [PERCEIVER])
    result = link(vault, None, "--offline")
    assert result.exit_code == 0, result.output
    assert (vault / "empty.md").read_bytes() == content.encode()
    assert_the_run_went_on(vault)


# -- encodings and line endings --------------------------------------------------------------


def test_a_bom_is_kept_and_front_matter_behind_it_is_read(tmp_path: Path) -> None:
    text = f"\ufeff---\ntags: [review]\n---\nPerceiver {PERCEIVER_URL}\n"
    vault = cached_vault(tmp_path / "v", {"bom.md": text.encode()}, [PERCEIVER])
    assert link(vault, None, "--offline").exit_code == 0
    data = (vault / "bom.md").read_bytes()
    assert data.startswith("\ufeff---\ntags: [review]\n---\n".encode())
    assert without_inserted_links(data.decode(), [Path(PERCEIVER_NOTE).stem]) == text
    assert (vault / "Papers/Tags/Tag review.md").is_file()


LINE_ENDINGS = {
    "CRLF": b"# T\r\n\r\nSee https://arxiv.org/abs/2103.03206\r\nand arXiv:2105.01601\r\n",
    "mixed": b"a https://arxiv.org/abs/2103.03206\nb arXiv:2105.01601\r\nc arXiv:2105.01601\rd\n",
    "old Mac CR": b"old mac https://arxiv.org/abs/2103.03206\rnext line\r",
    "no final newline": b"last line cites https://arxiv.org/abs/2103.03206",
}


@pytest.mark.parametrize("content", LINE_ENDINGS.values(), ids=LINE_ENDINGS.keys())
def test_line_endings_are_preserved_exactly(tmp_path: Path, content: bytes) -> None:
    vault = cached_vault(tmp_path / "v", {"note.md": content}, [PERCEIVER, MIXER])
    assert link(vault, None, "--offline").exit_code == 0
    data = (vault / "note.md").read_bytes()
    stems = [Path(p).stem for paths in paper_notes(vault).values() for p in paths]
    assert without_inserted_links(data.decode(), stems).encode() == content
    for ending in (b"\r\n", b"\n", b"\r"):
        assert re.findall(re.escape(ending), data) == re.findall(re.escape(ending), content)
    assert b"\r [[" not in data, "a link between the CR and the LF of a line ending"


def test_a_paper_note_saved_with_crlf_and_bom_keeps_them_when_updated(tmp_path: Path) -> None:
    vault = cached_vault(tmp_path / "v", GOOD, [PERCEIVER])
    assert link(vault, None, "--offline").exit_code == 0
    note = vault / PERCEIVER_NOTE
    windows = b"\xef\xbb\xbf" + note.read_bytes().replace(b"\n", b"\r\n") + b"Mine.\r\n"
    note.write_bytes(windows)
    (vault / "later.md").write_text(f"Again {PERCEIVER_URL}\n", encoding="utf-8")

    assert link(vault, None, "--offline").exit_code == 0
    data = note.read_bytes()
    assert data != windows, "the new mention was not added"
    assert data.startswith(b"\xef\xbb\xbf---\r\n")
    assert b"- [[later]]\r\n" in data
    assert re.search(rb"(?<!\r)\n", data) is None, "a bare LF in a CRLF note"
    assert data.endswith(b"Mine.\r\n")


# -- size --------------------------------------------------------------------------------------


def test_a_20_mb_note_is_skipped_with_a_warning(tmp_path: Path) -> None:
    huge = b"# Export\n" + b"lorem ipsum " * (20 * 1024 * 1024 // 12) + PERCEIVER_URL.encode()
    vault = cached_vault(tmp_path / "v", {"huge.md": huge, **GOOD}, [PERCEIVER])
    result = link(vault, None, "--offline")
    assert result.exit_code == 0, result.output
    assert lines_naming(result.stderr, "huge.md", "max_note_bytes"), result.stderr
    assert (vault / "huge.md").read_bytes() == huge
    assert_the_run_went_on(vault)


def test_the_size_limit_is_configurable(tmp_path: Path) -> None:
    files = {
        ".vaultpapers/config.yaml": "max_note_bytes: 1000\n",
        "long.md": f"{'word ' * 300}{PERCEIVER_URL}\n",
        **GOOD,
    }
    vault = cached_vault(tmp_path / "v", files, [PERCEIVER])
    result = link(vault, None, "--offline")
    assert result.exit_code == 0, result.output
    assert lines_naming(result.stderr, "long.md", "over max_note_bytes (1,000)"), result.stderr
    assert (vault / "long.md").read_text(encoding="utf-8") == files["long.md"]
    assert_the_run_went_on(vault)


# -- symlinks ----------------------------------------------------------------------------------


def vault_with_symlinks(tmp_path: Path) -> tuple[Path, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "elsewhere.md").write_text(f"Mixer {MIXER_URL}\n", encoding="utf-8")
    vault = cached_vault(tmp_path / "v", GOOD, [PERCEIVER, MIXER])
    (vault / "Shared").symlink_to(outside, target_is_directory=True)
    (vault / "Nested").mkdir()
    (vault / "Nested/loop").symlink_to(vault, target_is_directory=True)
    (vault / "self").symlink_to("self")
    (vault / "linked note.md").symlink_to(outside / "elsewhere.md")
    (vault / "alias of good.md").symlink_to(vault / "good.md")
    return vault, outside


def test_symlinks_are_never_followed_out_of_the_vault_nor_round_a_loop(tmp_path: Path) -> None:
    vault, outside = vault_with_symlinks(tmp_path)
    outside_before = snapshot(outside)
    completed = link_in_child(vault, None, "--offline", timeout=30)
    assert completed.returncode == 0, completed.stderr
    assert snapshot(outside) == outside_before
    assert "2105.01601" not in paper_notes(vault), "a note cited only outside got a paper note"
    assert (vault / "good.md").read_text(encoding="utf-8").count("[[") == 1
    assert os.readlink(vault / "linked note.md") == str(outside / "elsewhere.md")
    assert_the_run_went_on(vault)


def test_each_symlink_skipped_is_named_in_a_message(tmp_path: Path) -> None:
    vault, _ = vault_with_symlinks(tmp_path)
    completed = link_in_child(vault, None, "--offline", timeout=30)
    for name in ("Shared", "Nested/loop", "linked note.md", "alias of good.md"):
        assert lines_naming(completed.stderr, name, "symlink") or lines_naming(
            completed.stderr, name, "symbolic link"
        ), f"no message about {name}:\n{completed.stderr}"


def test_a_papers_folder_that_links_out_of_the_vault_is_not_written_through(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    vault = cached_vault(tmp_path / "v", GOOD, [PERCEIVER])
    (vault / "Papers").symlink_to(outside, target_is_directory=True)
    result = link(vault, None, "--offline")
    assert result.exit_code == 1, result.output
    assert list(outside.iterdir()) == []
    assert lines_naming(result.stderr, PERCEIVER_NOTE, "outside the vault"), result.stderr


# -- names -------------------------------------------------------------------------------------


def test_nfd_and_nfc_names_are_linked_as_they_are_on_disk(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "논문 café")
    nfc = unicodedata.normalize("NFC", "논문 café")
    title = unicodedata.normalize("NFD", "Schrödinger Bridges: 확산 모델")
    bridges = make_paper("2201.00009", title)
    files = {
        f"{nfd}.md": f"macOS wrote this name {PERCEIVER_URL}\n",
        f"Linux/{nfc}.md": f"Linux wrote this one {PERCEIVER_URL} and arXiv:2201.00009\n",
    }
    vault = cached_vault(tmp_path / "v", files, [PERCEIVER, bridges])
    assert link(vault, None, "--offline").exit_code == 0

    for path in files:
        assert (vault / path).read_text(encoding="utf-8").count("[[") >= 1, path
    mentions = (vault / PERCEIVER_NOTE).read_text(encoding="utf-8").split("## Mentioned in")[1]
    targets = re.findall(r"\[\[([^\]|]+)\]\]", mentions)
    stems = {p.relative_to(vault).with_suffix("").as_posix() for p in notes_on_disk(vault)}
    names = {Path(stem).name for stem in stems}
    assert len(targets) == 2 and all(t in stems or t in names for t in targets), targets
    (bridges_note,) = paper_notes(vault)["2201.00009"]
    assert unicodedata.is_normalized("NFC", bridges_note), "paper note names are NFC everywhere"
    data = front_matter((vault / bridges_note).read_text(encoding="utf-8"))
    assert data is not None and data["title"] == title
    again = link(vault, None, "--offline")
    assert "0 paper notes created in Papers/, 0 updated; 0 links inserted" in again.output


def test_names_that_differ_only_in_case_never_clash(tmp_path: Path) -> None:
    taken = "perceiver - general perception with iterative attention (2103.03206).md"
    files = {
        taken: "My own note, whose name only differs in case from the paper note's.\n",
        "Reading/Week.md": f"{PERCEIVER_URL} #Review\n",
        "Archive/week.md": f"{PERCEIVER_URL} #review\n",
        "Tag review.md": "My own note about reviewing.\n",
    }
    vault = cached_vault(tmp_path / "v", files, [PERCEIVER])
    assert link(vault, None, "--offline").exit_code == 0

    assert (vault / taken).read_text(encoding="utf-8") == files[taken]
    assert (vault / "Tag review.md").read_text(encoding="utf-8") == files["Tag review.md"]
    notes = notes_on_disk(vault)
    folders: dict[tuple[Path, str], list[str]] = {}
    for path in notes:
        folders.setdefault((path.parent, path.name.casefold()), []).append(path.name)
    assert all(len(names) == 1 for names in folders.values()), "a clash on macOS or Windows"
    generated = [p for p in notes if p.relative_to(vault).parts[0] == "Papers"]
    all_stems = [p.stem.casefold() for p in notes]
    for path in generated:
        assert all_stems.count(path.stem.casefold()) == 1, f"ambiguous [[{path.stem}]]"
    (paper,) = paper_notes(vault)["2103.03206"]
    mentions = (vault / paper).read_text(encoding="utf-8").split("## Mentioned in")[1]
    assert "[[Archive/week]]" in mentions and "[[Reading/Week]]" in mentions
    assert len(list((vault / "Papers/Tags").glob("Tag review*.md"))) == 1


def test_file_names_stay_under_255_bytes_with_long_titles_korean_included(
    tmp_path: Path,
) -> None:
    papers = [
        make_paper("2201.00001", "초거대 언어 모델의 추론 능력에 관한 연구: " * 30),
        make_paper("2201.00002", "A Very Long Title About Everything We Ever Learned " * 12),
        make_paper("2201.00003", "Ω" * 400, authors=("Ñ" * 300,)),
    ]
    long_tag = "주제/" + "가" * 120
    files = {
        ".vaultpapers/config.yaml": "filename_pattern: '{year} {first_author} {title} ({id})'\n",
        "a.md": " ".join(f"arXiv:{p.arxiv_id}" for p in papers) + f"\n#{long_tag}\n",
    }
    vault = cached_vault(tmp_path / "v", files, papers)
    result = link(vault, None, "--offline")
    assert result.exit_code == 0, result.output
    for path in vault.rglob("*"):
        assert len(path.name.encode("utf-8")) <= 255, path.name
    claims = paper_notes(vault)
    assert sorted(claims) == [p.arxiv_id for p in papers]
    assert all(len(paths) == 1 for paths in claims.values())
    assert len(list((vault / "Papers/Tags").glob("Tag 주제 › 가*.md"))) == 1


def test_the_id_survives_in_every_paper_note_name_however_long_the_other_fields(
    tmp_path: Path,
) -> None:
    papers = [
        make_paper("2201.00011", "Ω" * 400),
        make_paper("2201.00012", "Short", authors=("Ñ" * 300,)),
    ]
    files = {
        ".vaultpapers/config.yaml": "filename_pattern: '{first_author} {title} ({id})'\n",
        "a.md": " ".join(f"arXiv:{p.arxiv_id}" for p in papers) + "\n",
    }
    vault = cached_vault(tmp_path / "v", files, papers)
    assert link(vault, None, "--offline").exit_code == 0
    for key, (path,) in paper_notes(vault).items():
        assert key in Path(path).name, f"{key}: {path}"


# -- titles and abstracts full of Markdown and YAML ------------------------------------------

SPECIAL_PAPERS = [
    make_paper(
        "2201.00101",
        "Evil: # [[x]] --- | \" ' $\\alpha$ ../../etc/passwd",
        authors=('O\'Brien, "Jr."', "Ä: Ö", "- dash"),
        summary="---\nvaultpapers: index\n<!-- vaultpapers:end paper -->\n# Not a heading %% x",
        comment="12 pages; see [[Other]] | and: #tag",
        journal_ref="J. Phys. A: 1 (2020) --- 'quoted'",
    ),
    make_paper("2201.00102", "yes", summary="```\nunclosed fence"),
    make_paper("2201.00103", "2021-01-01"),
    make_paper("2201.00104", "- not a list item: ? neither & *alias !tag %directive @at `tick`"),
    make_paper("2201.00105", "../outside/x", summary="$$ \\int_0^1 x\\,dx $$"),
    make_paper("2201.00106", "C:\\Windows\\System32\\.. and /etc/passwd"),
    make_paper("2201.00107", "...", summary="... and then"),
    make_paper("2201.00108", "null"),
]


def test_titles_and_abstracts_with_specials_round_trip_and_stay_inside_the_vault(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    for paper in SPECIAL_PAPERS:
        fake_arxiv.add(paper)
    root = tmp_path / "root"
    vault = root / "vault"
    text = "\n".join(f"- https://arxiv.org/abs/{p.arxiv_id}" for p in SPECIAL_PAPERS) + "\n"
    cached_vault(vault, {"list.md": text}, [])
    (root / "sibling").mkdir()
    result = link(vault, fake_arxiv)
    assert result.exit_code == 0, result.output

    assert sorted(p.name for p in root.iterdir()) == ["sibling", "vault"]
    assert list((root / "sibling").iterdir()) == []
    with PaperCache(cache_path(vault)) as cache:
        stored = cache.get_many(p.arxiv_id for p in SPECIAL_PAPERS)
    claims = paper_notes(vault)
    for key, paper in stored.items():
        (path,) = claims[key]
        assert path.startswith("Papers/") and path.count("/") == 1, path
        note = (vault / path).read_text(encoding="utf-8")
        data = front_matter(note)
        assert data is not None
        assert data["title"] == paper.title
        assert data["authors"] == list(paper.authors)
        assert data.get("comment") == paper.comment
        assert data.get("journal_ref") == paper.journal_ref
        assert data["arxiv_id"] == key and data["aliases"] == [paper.title]
        for section in ("paper", "mentions"):
            assert note.count(f"<!-- vaultpapers:begin {section} -->") == 1, (path, section)
            assert note.count(f"<!-- vaultpapers:end {section} -->") == 1, (path, section)
    again = link(vault, fake_arxiv)
    assert "0 paper notes created in Papers/, 0 updated; 0 links inserted" in again.output


LABEL_TITLES = [
    "Ranking [Extended Version]",
    "See [[Other]]: a title",
    "A | B: piped",
    "Brackets ]] inside [[ out",
]


def test_inserted_links_stay_single_well_formed_wikilinks_whatever_the_title(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    papers = [make_paper(f"2201.0020{i}", title) for i, title in enumerate(LABEL_TITLES)]
    for paper in papers:
        fake_arxiv.add(paper)
    text = "".join(f"- arXiv:{p.arxiv_id} then more text\n" for p in papers)
    vault = cached_vault(tmp_path / "v", {"list.md": text}, [])
    assert link(vault, fake_arxiv).exit_code == 0
    claims = paper_notes(vault)
    linked = (vault / "list.md").read_text(encoding="utf-8").splitlines()
    broken = []
    for paper, line in zip(papers, linked, strict=True):
        (path,) = claims[paper.arxiv_id]
        inserted = line.removeprefix(f"- arXiv:{paper.arxiv_id} ").removesuffix(" then more text")
        head = f"[[{Path(path).stem}|"
        label = inserted.removeprefix(head).removesuffix("]]")
        # The link must close at our final `]]`: nothing inside may open or close another.
        if (
            not inserted.startswith(head)
            or not inserted.endswith("]]")
            or "[[" in label
            or "]]" in label
            or label.endswith("]")
        ):
            broken.append(inserted)
    assert not broken, "broken wikilinks:\n" + "\n".join(broken)


DOTTED_TITLES = [
    "../../../outside",
    ". . . Dots all the way",
    "/.hidden",
    ".env files considered harmful",
]


def test_a_title_starting_with_dots_never_makes_a_hidden_note(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    papers = [make_paper(f"2201.0030{i}", title) for i, title in enumerate(DOTTED_TITLES)]
    for paper in papers:
        fake_arxiv.add(paper)
    text = "".join(f"- arXiv:{p.arxiv_id}\n" for p in papers)
    vault = cached_vault(tmp_path / "v", {"list.md": text}, [])
    assert link(vault, fake_arxiv).exit_code == 0
    names = sorted(p.name for p in (vault / "Papers").iterdir() if p.is_file())
    # Obsidian, sync tools' defaults and vaultpapers itself all skip dot-files.
    hidden = [name for name in names if name.startswith(".")]
    assert not hidden, f"hidden paper notes: {hidden}"
    assert sorted(paper_notes(vault)) == [p.arxiv_id for p in papers]
    again = link(vault, fake_arxiv)
    assert again.exit_code == 0, again.output
    assert "0 paper notes created in Papers/, 0 updated; 0 links inserted" in again.output


DELIMITER_TITLES = [
    "Why ``Deep'' Networks Generalise: a `Simple' Answer",  # TeX quotes, common on arXiv
    "Budgets of $$ and Costs",
    "%% of Errors Explained",
]


def test_an_inserted_link_never_opens_code_math_or_a_comment_in_the_users_text(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    papers = [make_paper(f"2201.0040{i}", title) for i, title in enumerate(DELIMITER_TITLES)]
    for paper in papers:
        fake_arxiv.add(paper)
    # Code spans, math and comments take precedence over links (CommonMark, Obsidian): a
    # delimiter inside an inserted link pairs with the user's own and re-renders the line.
    text = "".join(
        f"Read https://arxiv.org/abs/{p.arxiv_id} then run `make {i}` and $$x$$ %%c%%.\n"
        for i, p in enumerate(papers)
    )
    vault = cached_vault(tmp_path / "v", {"Lab.md": text}, [])
    assert link(vault, fake_arxiv).exit_code == 0
    linked = (vault / "Lab.md").read_text(encoding="utf-8")
    stems = [Path(p).stem for paths in paper_notes(vault).values() for p in paths]
    assert without_inserted_links(linked, stems) == text
    inserted = [m.group(0) for m in inserted_link(stems).finditer(linked)]
    assert len(inserted) == len(papers)
    offending = [link for link in inserted if any(d in link for d in ("`", "$$", "%%"))]
    assert not offending, "links holding code, math or comment delimiters:\n" + "\n".join(offending)
    again = link(vault, fake_arxiv)
    assert again.exit_code == 0, again.output
    assert "0 paper notes created in Papers/, 0 updated; 0 links inserted" in again.output
