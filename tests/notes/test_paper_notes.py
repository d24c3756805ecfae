"""Golden cases for paper notes: tests/cases/paper_notes/<case>/ holds case.yaml (the paper and
who mentions it), an optional before.md (the note on disk) and after.md (what we must write).

Regenerate after an intended rendering change with VAULTPAPERS_UPDATE_GOLDEN=1, then read the
diff of every after.md before committing it.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import make_paper
from paths import TESTS
from vaultpapers.arxiv.ids import arxiv_categories
from vaultpapers.arxiv.papers import Paper
from vaultpapers.config import Settings
from vaultpapers.markdown.properties import find_front_matter
from vaultpapers.model import FileState, Note
from vaultpapers.notes.paper_note import (
    Mention,
    PaperNoteContent,
    new_paper_note,
    owned_spans,
    paper_file_stem,
    render_new_paper_note,
    update_paper_note,
)
from vaultpapers.scan.note import scan_note, scan_to_row

CASES = TESTS / "cases" / "paper_notes"


def load_case(folder: Path) -> PaperNoteContent:
    case = yaml.safe_load((folder / "case.yaml").read_text(encoding="utf-8"))
    raw = case["paper"]
    paper = None
    if raw is not None:
        paper = Paper(
            arxiv_id=case["key"],
            version=raw["version"],
            title=raw["title"],
            authors=tuple(raw["authors"]),
            summary=raw["summary"],
            published=datetime.fromisoformat(raw["published"]),
            updated=datetime.fromisoformat(raw["updated"]),
            primary_category=raw["primary_category"],
            categories=tuple(raw["categories"]),
            doi=raw.get("doi"),
            journal_ref=raw.get("journal_ref"),
            comment=raw.get("comment"),
        )
    mentions = [Mention(link) for link in case["mentions"]]
    return PaperNoteContent(case["key"], paper, mentions)


def render(folder: Path) -> str:
    content = load_case(folder)
    before = folder / "before.md"
    if before.exists():
        return update_paper_note(before.read_bytes().decode("utf-8"), content, Settings())
    return new_paper_note(content, Settings())


@pytest.mark.parametrize("folder", sorted(CASES.iterdir()), ids=lambda p: p.name)
def test_paper_note_matches_golden(folder: Path) -> None:
    rendered = render(folder)
    expected = folder / "after.md"
    if os.environ.get("VAULTPAPERS_UPDATE_GOLDEN"):
        expected.write_bytes(rendered.encode("utf-8"))
    assert rendered == expected.read_bytes().decode("utf-8")


@pytest.mark.parametrize("folder", sorted(CASES.iterdir()), ids=lambda p: p.name)
def test_rendering_is_a_fixed_point(folder: Path) -> None:
    once = render(folder)
    assert update_paper_note(once, load_case(folder), Settings()) == once


@pytest.mark.parametrize("folder", sorted(CASES.iterdir()), ids=lambda p: p.name)
def test_properties_round_trip_exactly(folder: Path) -> None:
    content = load_case(folder)
    key, paper = content.key, content.paper
    front = find_front_matter(render(folder))
    assert front is not None and front.data is not None
    assert front.data["arxiv_id"] == key
    if paper is not None:
        assert front.data["title"] == paper.title
        assert front.data["authors"] == list(paper.authors)
        assert front.data["published"] == paper.published_date


def test_file_names_are_safe_everywhere_and_keep_the_id() -> None:
    paper = load_case(CASES / "specials_in_title").paper
    assert paper is not None
    stem = paper_file_stem("2301.00001", paper, "{title} ({id})")
    assert not set(stem) & set('\\/:*?"<>|#^[]')
    assert stem.endswith("(2301.00001)") and ".." not in stem.split("/")
    long = Paper(**{**paper.__dict__, "title": "초장문 제목 " * 60})  # 3 bytes a character
    stem = paper_file_stem("2301.00001", long, "{title} ({id})")
    assert len((stem + ".md").encode("utf-8")) <= 255 and stem.endswith("(2301.00001)")


# --- the properties a new note says it holds are what its YAML reads back -------------------

_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)
_moment = st.datetimes(
    min_value=datetime(1991, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(timezone.utc)
)


@settings(max_examples=200, deadline=None)
@given(
    title=_text,
    authors=st.lists(_text, max_size=4),
    summary=_text,
    comment=st.none() | _text,
    journal_ref=st.none() | _text,
    series=st.none() | _text,
    categories=st.lists(st.sampled_from(["cs.LG", "cs.CV", "hep-th", "math.GT", "x"]), max_size=3),
    published=_moment,
)
def test_a_new_notes_properties_are_what_its_front_matter_reads(
    title, authors, summary, comment, journal_ref, series, categories, published
) -> None:
    """`render_new_paper_note` hands its properties to the scan after writing, which then
    skips parsing the YAML: they must be exactly what parsing would give, types included."""
    paper = Paper(
        arxiv_id="2103.03206",
        version=2,
        title=title,
        authors=tuple(authors),
        summary=summary,
        published=published,
        updated=published,
        primary_category="cs.LG",
        categories=tuple(categories),
        journal_ref=journal_ref,
        comment=comment,
    )
    content = PaperNoteContent("2103.03206", paper, [Mention("Reading log")], series=series)
    text, properties = render_new_paper_note(content, Settings())
    parsed = find_front_matter(text)
    assert parsed is not None and parsed.data is not None
    assert parsed.data == properties
    assert [type(v) for v in parsed.data.values()] == [type(v) for v in properties.values()]
    note = Note("Papers/p.md", text, False, FileState(0, len(text), ""), "1:1:1:1")
    assert scan_to_row(scan_note(note, properties)) == scan_to_row(scan_note(note))


# How a generated section was first defined; `owned_spans` finds the same ones faster.
SECTION_PATTERN = re.compile(
    r"<!-- vaultpapers:begin (?P<name>[a-z]+) -->.*?<!-- vaultpapers:end (?P=name) -->",
    re.DOTALL,
)
_PIECES = st.sampled_from(
    [
        "<!-- vaultpapers:begin related -->",
        "<!-- vaultpapers:end related -->",
        "<!-- vaultpapers:begin index -->",
        "<!-- vaultpapers:end index -->",
        "<!-- vaultpapers:begin  -->",
        "<!-- vaultpapers:end Index -->",
        "<!-- vaultpapers:begin ",
        " -->",
        "text",
        "\n",
        "<",
    ]
)


@settings(max_examples=500)
@given(st.lists(_PIECES, max_size=14).map("".join))
def test_owned_spans_are_the_sections_the_marker_pattern_matches(text: str) -> None:
    """Found by their markers alone (an index note's section is thousands of lines long), they
    are exactly the matches of the section pattern, unclosed and mismatched markers included."""
    assert owned_spans(text) == [match.span() for match in SECTION_PATTERN.finditer(text)]


def test_msc_and_acm_classes_are_no_categories_and_make_no_tags() -> None:
    # Real arXiv records list them among the categories: '68T05', 'I.2.7; H.3.3'.
    paper = make_paper("2503.21800", "ELM", categories=("cs.CL", "68T50", "I.2.7; H.3.3", "cs.AI"))
    text = new_paper_note(PaperNoteContent("2503.21800", paper), Settings())
    properties = yaml.safe_load(text.split("---\n")[1])
    assert properties["categories"] == ["cs.CL", "cs.AI"]
    assert properties["tags"] == ["arxiv/cs-CL", "arxiv/cs-AI"]
    assert "- **Categories:** cs.CL, cs.AI\n" in text


@pytest.mark.parametrize(
    "category", ["cs.LG", "hep-th", "math.GT", "q-bio.NC", "astro-ph.CO", "cond-mat.str-el"]
)
def test_every_shape_of_arxiv_category_is_kept(category: str) -> None:
    assert arxiv_categories([category, "68T05"]) == (category,)
