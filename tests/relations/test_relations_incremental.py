"""`relate_remembering` reuses what it found in earlier libraries; its answer must always be
the one `relate` gives from scratch, whatever papers came, went or changed in between."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_relations import PERCEIVERS, SERIES_CASES, UNRELATED, load, paper

from vaultpapers.relations.detect import (
    GaveWay,
    RelatedPapers,
    RelationMemo,
    memo_from_json,
    memo_to_json,
    relate,
    relate_remembering,
)

SERIES_PAPERS = [p for path in SERIES_CASES for p in load(Path(path))[0]]
# Enough citing papers to cross the "too common" floor (25), and a namesake to make
# "Perceiver" ambiguous while both are in the library.
CITING = [
    paper(
        f"9902.{n:05d}",
        f"Notes on sensing, part {n}",
        summary=f"Unlike the Perceiver, we train {n} small models with ordinary methods.",
        published="2022-01-01",  # after the Perceiver: a name cited before its paper was another's
    )
    for n in range(30)
]
NAMESAKE = paper("9903.00001", "Perceiver: A Camera That Perceives", summary="A camera. Not BERT.")
POOL = list({p.arxiv_id: p for p in [*SERIES_PAPERS, *UNRELATED[:25], *CITING, NAMESAKE]}.values())
# New versions whose abstracts now name other papers (or stop naming them).
REVISIONS = [
    replace(POOL[n], version=POOL[n].version + 1, summary=text)
    for n, text in enumerate(
        [
            "We compare against Perceiver IO and BERT.",
            "Nothing named here.",
            "Building on YOLOv3 and Swin Transformer V2, we ...",
            "A Perceiver AR variant.",
        ]
    )
]

libraries = st.lists(
    st.tuples(
        st.sets(st.integers(0, len(POOL) - 1), max_size=len(POOL)),
        st.sets(st.integers(0, len(REVISIONS) - 1), max_size=len(REVISIONS)),
        st.booleans(),  # every citing paper in: "Perceiver" becomes too common
    ),
    min_size=1,
    max_size=6,
)


def library(members: set[int], revised: set[int], all_citing: bool) -> list:
    if all_citing:
        members = members | {POOL.index(p) for p in CITING}
    revisions = {REVISIONS[n].arxiv_id: REVISIONS[n] for n in revised}
    return [revisions.get(POOL[n].arxiv_id, POOL[n]) for n in sorted(members)]


def same(incremental: RelatedPapers, full: RelatedPapers) -> None:
    assert incremental.relations == full.relations
    assert incremental.series == full.series
    assert incremental.set_aside == full.set_aside
    assert incremental.names == full.names


@settings(max_examples=60, deadline=None)
@given(libraries)
def test_remembered_findings_give_the_full_answer(steps: list) -> None:
    memo: RelationMemo | None = None
    for members, revised, all_citing in steps:
        papers = library(members, revised, all_citing)
        related, memo = relate_remembering(papers, memo)
        same(related, relate(papers))
        memo = memo_from_json(memo_to_json(memo))  # as kept between runs


def test_a_new_name_is_found_in_abstracts_read_before_it_existed() -> None:
    citing = CITING[0]
    _, memo = relate_remembering([citing, *UNRELATED[:5]])
    related, _ = relate_remembering([citing, *UNRELATED[:5], PERCEIVERS[0]], memo)
    assert {(r.source, r.target) for r in related.relations} == {
        (citing.arxiv_id, PERCEIVERS[0].arxiv_id),
        (PERCEIVERS[0].arxiv_id, citing.arxiv_id),
    }


@pytest.mark.parametrize("written", ["GPT-3", "GPT 3", "GPT3", "(GPT-3)"])
def test_a_new_name_is_found_however_an_earlier_abstract_spaced_it(written: str) -> None:
    citing = paper(
        "9904.00001", "Notes on prompting", summary=f"Unlike {written}, our model is small."
    )
    named = paper("2005.14165", "GPT-3: Language Models are Few-Shot Learners")
    _, memo = relate_remembering([citing, *UNRELATED[:5]])
    related, _ = relate_remembering([citing, *UNRELATED[:5], named], memo)
    assert related.relations == relate([citing, *UNRELATED[:5], named]).relations
    assert {(r.source, r.target) for r in related.relations} == {
        (citing.arxiv_id, named.arxiv_id),
        (named.arxiv_id, citing.arxiv_id),
    }


def test_a_name_made_ambiguous_stops_relating() -> None:
    _, memo = relate_remembering([CITING[0], PERCEIVERS[0]])
    related, _ = relate_remembering([CITING[0], PERCEIVERS[0], NAMESAKE], memo)
    assert related.relations == ()
    assert "Perceiver" in related.set_aside


def test_asked_to_stop_it_gives_way_at_every_checkpoint_and_else_answers_in_full() -> None:
    _, memo = relate_remembering(POOL[:-5])
    asked = []

    def never() -> bool:
        asked.append(True)
        return False

    answer, _ = relate_remembering(POOL, memo, never)
    assert answer == relate(POOL)
    for stop_at in range(len(asked)):
        calls = iter(range(len(asked)))
        with pytest.raises(GaveWay):
            relate_remembering(POOL, memo, lambda c=calls, s=stop_at: next(c) >= s)
