"""The planner in memory: notes as `{path: text}`, papers as records, and the writes it plans.
No disk, no network, no threads: what `plan_link` decides from what it is given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from factories import make_paper
from vaultpapers.arxiv.papers import Paper, Resolution
from vaultpapers.config import Settings
from vaultpapers.model import FileState, Note, content_digest
from vaultpapers.plan.planner import Plan, plan_link
from vaultpapers.scan.note import NoteScan, scan_note
from vaults import PERCEIVER, PERCEIVER_IO

ATTENTION = make_paper("1706.03762", "Attention Is All You Need", categories=("cs.CL",))


def scans_of(vault: Mapping[str, str]) -> list[NoteScan]:
    scans = []
    for path, text in sorted(vault.items()):
        data = text.encode("utf-8")
        state = FileState(1, len(data), content_digest(data))
        scans.append(scan_note(Note(path, text, False, state, f"1:1:{len(data)}:1")))
    return scans


def plan_of(
    vault: Mapping[str, str],
    papers: list[Paper],
    settings: Settings | None = None,
    **options: Any,
) -> Plan:
    resolution = Resolution({paper.arxiv_id: paper for paper in papers})
    return plan_link(scans_of(vault), resolution, settings or Settings(), **options)


def applied(vault: Mapping[str, str], plan: Plan) -> dict[str, str]:
    """The vault as the writer would leave it after this plan."""
    after = dict(vault)
    for write in plan.writes:
        if write.replaces is not None:
            del after[write.replaces]
        if write.delete:
            del after[write.path]
        else:
            after[write.path] = write.new_text(after.get(write.path, ""))
    return after


def written(plan: Plan, vault: Mapping[str, str]) -> dict[str, str]:
    """Each file the plan writes, with its text as written."""
    return {w.path: w.new_text(vault.get(w.path, "")) for w in plan.writes if not w.delete}


def paper_note_path(plan: Plan, key: str) -> str:
    (path,) = [w.path for w in plan.writes if w.kind == "paper" and f"({key})" in w.path]
    return path


def test_a_cited_paper_gets_a_new_note_and_the_citing_note_a_link() -> None:
    vault = {"Reading.md": "Read https://arxiv.org/abs/1706.03762 today.\n"}
    plan = plan_of(vault, [ATTENTION])
    note = paper_note_path(plan, "1706.03762")
    assert note == "Papers/Attention Is All You Need (1706.03762).md"
    writes = written(plan, vault)
    assert "Attention Is All You Need" in writes[note]
    assert "[[Reading]]" in writes[note]  # mentioned in
    assert writes["Reading.md"] == (
        "Read https://arxiv.org/abs/1706.03762 "
        "[[Attention Is All You Need (1706.03762)|Attention Is All You Need]] today.\n"
    )
    assert plan.links_inserted == 1
    # The plan holds the links, not a copy of the note, and the new note's rendering.
    (linked,) = [w for w in plan.writes if w.path == "Reading.md"]
    assert not linked.text and linked.insertions
    (new,) = [w for w in plan.writes if w.path == note]
    assert not new.text and new.render is not None
    assert plan.cited == {"1706.03762"}
    assert plan.pending == {}


def test_nothing_is_planned_when_the_vault_is_up_to_date() -> None:
    vault = {
        "Reading.md": "Read https://arxiv.org/abs/1706.03762 today. #nlp\n",
        "Ideas.md": "---\ntags: [ideas]\n---\nPerceiver https://arxiv.org/abs/2103.03206\n",
    }
    papers = [ATTENTION, PERCEIVER, PERCEIVER_IO]
    first = plan_of(vault, papers)
    assert first.writes
    second = plan_of(applied(vault, first), papers)
    assert second.writes == []
    assert second.links_inserted == 0
    assert second.problems == []


def test_a_tag_gets_an_index_note_listing_its_notes_and_papers() -> None:
    vault = {"Reading.md": "---\ntags: [transformers]\n---\nSee arXiv:1706.03762\n"}
    plan = plan_of(vault, [ATTENTION])
    writes = written(plan, vault)
    index = writes["Papers/Tags/Tag transformers.md"]
    assert "tag: transformers" in index
    assert "- [[Reading]] · See arXiv:1706.03762 Attention Is All You Need" in index  # with links
    # The paper carries its category tag: listed under that tag's index, not this one.
    assert "[[Attention Is All You Need (1706.03762)" not in index
    assert "[[Attention Is All You Need (1706.03762)" in writes["Papers/Tags/Tag arxiv › cs-CL.md"]


def test_a_series_is_shown_in_both_paper_notes_and_gets_its_index() -> None:
    vault = {"Reading.md": "arXiv:2103.03206 and arXiv:2107.14795\n"}
    plan = plan_of(vault, [PERCEIVER, PERCEIVER_IO])
    writes = written(plan, vault)
    for key in ("2103.03206", "2107.14795"):
        note = writes[paper_note_path(plan, key)]
        assert "series: Perceiver" in note
        assert "same series: Perceiver" in note
    other_of = {"2103.03206": "2107.14795", "2107.14795": "2103.03206"}
    for key, other in other_of.items():
        other_stem = paper_note_path(plan, other).rsplit("/", 1)[-1].removesuffix(".md")
        assert f"[[{other_stem}" in writes[paper_note_path(plan, key)]
    assert any(path.startswith("Papers/Series/") for path in writes)


def test_index_notes_are_left_to_a_later_run_once_should_yield_says_so() -> None:
    vault = {"Reading.md": "---\ntags: [transformers]\n---\nSee arXiv:1706.03762\n"}
    asked: list[int] = []

    def should_yield() -> bool:
        asked.append(1)
        return True

    plan = plan_of(vault, [ATTENTION], should_yield=should_yield)
    assert asked
    assert [w.kind for w in plan.writes if w.kind == "index"] == []
    assert plan.indexes_deferred
    # The paper's own note and the link do not wait for the index notes.
    assert paper_note_path(plan, "1706.03762")
    assert plan.links_inserted == 1


def test_a_deferred_paper_without_metadata_gets_no_note_yet() -> None:
    vault = {"Reading.md": "arXiv:1706.03762 and arXiv:2103.03206\n"}
    plan = plan_of(vault, [PERCEIVER], defer_papers={"1706.03762"})
    paths = [w.path for w in plan.writes]
    assert not any("1706.03762" in path for path in paths)
    assert paper_note_path(plan, "2103.03206")
    # Without deferral the same paper gets a pending stub named by its id.
    stub = plan_of(vault, [PERCEIVER])
    assert "Papers/arXiv 1706.03762.md" in [w.path for w in stub.writes]
    assert "1706.03762" in stub.pending


def test_a_note_whose_text_must_be_read_again_is_read_through_read_text() -> None:
    vault = {"Reading.md": "Read https://arxiv.org/abs/1706.03762 today.\n"}
    (scan,) = scans_of(vault)
    # As an earlier run's kept scan stands for an unchanged note: without its text.
    kept = replace(scan, note=replace(scan.note, text=None))
    read: list[str] = []

    def read_text(note: Note) -> Note | None:
        read.append(note.path)
        return None  # changed since the scan

    plan = plan_link([kept], Resolution({"1706.03762": ATTENTION}), Settings(), read_text=read_text)
    assert read == ["Reading.md"]
    assert "Reading.md" in plan.skipped
    assert "Reading.md" not in written(plan, vault)
