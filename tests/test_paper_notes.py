"""Golden cases for paper notes: tests/cases/paper_notes/<case>/ holds case.yaml (the paper and
who mentions it), an optional before.md (the note on disk) and after.md (what we must write).

Regenerate after an intended rendering change with VAULTPAPERS_UPDATE_GOLDEN=1, then read the
diff of every after.md before committing it.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from vaultpapers.config import Settings
from vaultpapers.notes import (
    Mention,
    PaperNoteContent,
    new_paper_note,
    paper_file_stem,
    update_paper_note,
)
from vaultpapers.papers import Paper
from vaultpapers.properties import find_front_matter

CASES = Path(__file__).parent / "cases" / "paper_notes"


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
