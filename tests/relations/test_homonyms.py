"""Names that different groups reuse, names papers borrow, and names only abstracts give.

Each case is shaped after real papers of tests/realrelations (ids and texts shortened): the
rules here are what took the relations written on a 2025-26 arXiv crawl from 96 wrong links
to none (tests/relations/test_real_relations.py measures it).
"""

from __future__ import annotations

import functools

import pytest

from factories import make_paper
from vaultpapers.arxiv.papers import Paper
from vaultpapers.relations.aliases import claimed_names, expansion_in, title_expansion
from vaultpapers.relations.detect import (
    Relation,
    explain,
    memo_from_json,
    memo_to_json,
    relate,
    relate_remembering,
    related_from_json,
    related_to_json,
)
from vaultpapers.relations.series import detect_series

# The papers of these tests: cs.CL papers of June 2025 with no abstract, unless a test says so.
paper = functools.partial(make_paper, summary="", published="2025-06-01", categories=("cs.CL",))


def linked(papers: list[Paper]) -> set[frozenset[str]]:
    return {frozenset((r.source, r.target)) for r in relate(papers).relations}


# --- what an abstract says ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("abstract", "names"),
    [
        ("Specifically, we train GPT-3, an autoregressive language model.", ["GPT-3"]),
        ("We introduce Qwen3-VL, the most capable vision-language model.", ["Qwen3-VL"]),
        ("We propose vq-wav2vec to learn discrete representations.", ["vq-wav2vec"]),
        ("we present DeepResearch Bench, a benchmark of 100 tasks", ["DeepResearch Bench"]),
        ("a new language representation model called BERT, which stands for", ["BERT"]),
        ("We present MVTec AD 2, a collection of eight scenarios", ["MVTec AD 2"]),
        # Not claims: ordinary words, a generic acronym, a part, the first word of a longer name.
        ("We propose a simple method that works.", []),
        ("Our MAE approach is simple.", []),
        ("Our UE scheduling improves the rate.", []),
        ("we propose LoRA eXpandable Networks (LoRAX), which", []),
    ],
)
def test_an_abstract_names_its_paper_with_set_phrases(abstract: str, names: list[str]) -> None:
    assert [name for name, _ in claimed_names(abstract)] == names


@pytest.mark.parametrize(
    ("text", "acronym", "meaning"),
    [
        ("transfer the multi-head self-attention (MSA) module", "MSA", "multi-head self-attention"),
        ("Autoregressive language models (ARMs) leak", "ARMs", "Autoregressive language models"),
        ("we introduce ORCA (Online Reasoning and Cognitive Architecture), the", "ORCA",
         "Online Reasoning and Cognitive Architecture"),
        ("We develop CRAFT -- a Contradistinguisher-based Regularization Approach for Flexible "
         "Training", "CRAFT", "Contradistinguisher-based Regularization Approach for Flexible "
         "Training"),
        (r"\textbf{S}elf-Aligning \textbf{M}ultimodal \textbf{A}nswer-O\textbf{r}iented "
         r"\textbf{T}hought (SMART).", "SMART",
         "Self-Aligning Multimodal Answer-Oriented Thought"),
        ("recall@1 on BRIGHT (+21.8 pp over the best baseline)", "BRIGHT", None),
    ],
)  # fmt: skip
def test_what_an_acronym_stands_for_is_read_from_the_text(
    text: str, acronym: str, meaning: str | None
) -> None:
    assert expansion_in(text, acronym) == meaning


def test_a_title_that_spells_its_acronym_out_says_what_it_stands_for() -> None:
    title = "MSA: Memory Sparse Attention for Efficient End-to-End Memory Model Scaling"
    assert title_expansion(title, "MSA") == "Memory Sparse Attention"
    assert title_expansion("BERT: Pre-training of Deep Bidirectional Transformers", "BERT") is None


# --- homonyms and borrowed names ----------------------------------------------------------------

SSD_DECODING = paper(
    "2606.20543",
    "SSD: Spatially Speculative Decoding Accelerates Autoregressive Image Generation",
    published="2026-06-20",
    categories=("cs.CV",),
)
YOLOV3 = paper(
    "1804.02767",
    "YOLOv3: An Incremental Improvement",
    summary="It achieves 57.9 AP50 in 51 ms, as accurate as SSD but three times faster.",
    published="2018-04-08",
    categories=("cs.CV",),
)


def test_a_name_in_use_before_its_paper_appeared_was_borrowed_and_relates_nothing() -> None:
    later_user = paper(
        "2606.30000",
        "Fast detectors",
        summary="We compare with SSD.",
        published="2026-07-01",
        categories=("cs.CV",),
    )
    related = relate([SSD_DECODING, YOLOV3, later_user])
    assert related.relations == ()
    assert related.set_aside["SSD"].startswith('"SSD" was in use before 2606.20543 appeared')
    lines = explain("2606.20543", [SSD_DECODING, YOLOV3, later_user])
    assert any("1804.02767 (2018-04-08) mentions it" in line for line in lines)


def test_a_model_talked_about_a_few_weeks_before_its_report_is_still_its_name() -> None:
    report = paper(
        "2606.19348", "DeepSeek-V4: Towards Highly Efficient Models", published="2026-06-18"
    )
    early = paper(
        "2605.29668",
        "Skill proposers",
        summary="We compare with DeepSeek-V4.",
        published="2026-05-28",
    )
    assert linked([report, early]) == {frozenset(("2606.19348", "2605.29668"))}


MSA = paper(
    "2603.23516",
    "MSA: Memory Sparse Attention for Efficient End-to-End Memory Model Scaling",
    published="2026-03-25",
)


def test_a_text_that_spells_the_acronym_out_otherwise_means_another_thing() -> None:
    tracker = paper(
        "2606.00001",
        "Hyperspectral adapters for tracking",
        summary="We transfer the multi-head self-attention (MSA) module to hyperspectral inputs.",
        published="2026-06-01",
    )
    same = paper(
        "2606.00002",
        "Longer memories",
        summary="Memory Sparse Attention (MSA) scales to 100M tokens; we extend it.",
        published="2026-06-01",
    )
    related = relate([MSA, tracker, same])
    assert {frozenset((r.source, r.target)) for r in related.relations} == {
        frozenset(("2603.23516", "2606.00002"))
    }
    assert (
        "not linked to 2606.00001 (we did not dare): "
        '"MSA" is "multi-head self-attention" in 2606.00001 but "Memory Sparse Attention" in '
        "2603.23516" in explain("2603.23516", [MSA, tracker, same])
    )


def test_an_acronym_outside_the_named_papers_field_is_another_fields() -> None:
    serc = paper("2605.28837", "SERC: LDPC-Inspired Semantic Error Correction for RAG")
    survey = paper(
        "2606.19630",
        "AI4SE and SE4AI: a decade",
        summary="We assessed 889 SERC publications.",
        published="2026-06-19",
        categories=("cs.AI", "cs.DL", "eess.SY"),
    )
    nlp = paper(
        "2606.19631", "Error correction", summary="We build on SERC.", published="2026-06-19"
    )
    assert linked([serc, survey, nlp]) == {frozenset(("2605.28837", "2606.19631"))}


def test_a_name_two_groups_give_their_papers_is_ambiguous_and_links_nothing() -> None:
    one = paper("2509.05092", "Regression transfer", summary="We develop CRAFT, a regularizer.")
    other = paper("2512.20362", "CRAFT: Continuous Reasoning and Agentic Feedback Tuning")
    user = paper("2601.00001", "A study", summary="We compare with CRAFT.", published="2026-01-05")
    related = relate([one, other, user])
    assert related.relations == ()
    assert related.set_aside["CRAFT"] == (
        '"CRAFT" is ambiguous: 2 papers with no author in common call themselves so '
        "(2509.05092, 2512.20362)"
    )


def test_the_same_group_reusing_its_name_is_a_successor_whatever_else_uses_it() -> None:
    challenge = paper(
        "2507.04942",
        "SIGIR 2025 -- LiveRAG Challenge Report",
        summary="The LiveRAG Challenge ran in spring.",
        published="2025-07-07",
        authors=("David Carmel", "Simone Filice"),
    )
    dataset = paper(
        "2511.14531",
        "LiveRAG: A diverse Q&A dataset",
        published="2025-11-18",
        authors=("David Carmel", "Oren Somekh"),
    )
    team = paper(
        "2506.10844", "CIIR@LiveRAG 2025", summary="Our LiveRAG entry.", published="2025-06-12"
    )
    related = relate([challenge, dataset, team])
    assert related.relations == (
        Relation(
            "2507.04942",
            "2511.14531",
            "successor",
            '2511.14531 is the successor of 2507.04942: title of 2507.04942 names "LiveRAG"; '
            "shared authors: David Carmel",
        ),
        Relation(
            "2511.14531",
            "2507.04942",
            "successor",
            '2511.14531 is the successor of 2507.04942: title of 2507.04942 names "LiveRAG"; '
            "shared authors: David Carmel",
        ),
    )


@pytest.mark.parametrize(
    ("named", "text", "found"),
    [
        ("EfficientLLM: Efficiency in Large Language Models", "Efficient LLM inference.", False),
        ("AgenticRAG: Agentic Retrieval", "Agentic RAG extends this paradigm.", False),
        ("EfficientLLM: Efficiency in Large Language Models", "We test EfficientLLM.", True),
        ("Qwen3 Technical Report", "We fine-tune Qwen-3-0.6B and Qwen3-4B.", True),
    ],
)
def test_words_glued_into_a_name_are_not_that_name_when_written_apart(
    named: str, text: str, found: bool
) -> None:
    papers = [
        paper("2505.13840", named),
        paper("2507.00001", "A study", summary=text, published="2025-07-01"),
    ]
    assert bool(linked(papers)) is found


def test_an_ordinary_word_name_inside_a_capitalised_phrase_is_no_mention() -> None:
    named = paper("2603.23821", "Perturbation: A simple adversarial tracer", published="2026-03-24")
    guidance = paper(
        "2606.10036",
        "Guidance for diffusion models",
        summary="We propose Token Perturbation Guidance (TPG), a novel method.",
        published="2026-06-01",
    )
    assert linked([named, guidance]) == set()


# --- series: borrowed stems, variants -----------------------------------------------------------

YOLO_AUTHORS = ("Chien-Yao Wang", "Alexey Bochkovskiy", "Hong-Yuan Mark Liao")
YOLOV4 = paper(
    "2004.10934", "YOLOv4: Optimal Speed and Accuracy", published="2020-04-23", authors=YOLO_AUTHORS
)
YOLOV7 = paper(
    "2207.02696", "YOLOv7: Trainable bag-of-freebies", published="2022-07-06", authors=YOLO_AUTHORS
)


def test_a_version_named_only_in_parentheses_joins_no_series_without_a_shared_author() -> None:
    calf = paper("2504.17943", "Predicting Calf Body Weight from Depth Images (YOLOv8)")
    assert [s.members for s in detect_series([YOLOV4, YOLOV7, calf])] == [
        ("2004.10934", "2207.02696")
    ]


def test_a_bare_stem_title_joins_a_series_only_with_a_shared_author() -> None:
    survey = paper("2507.09955", "DeepSeek: Paradigm Shifts and Technical Evolution")
    v32 = paper(
        "2512.02556", "DeepSeek-V3.2: Open LLMs", published="2025-12-02", authors=("DeepSeek-AI",)
    )
    v4 = paper(
        "2606.19348", "DeepSeek-V4: Long context", published="2026-06-18", authors=("DeepSeek-AI",)
    )
    series = detect_series([survey, v32, v4])
    assert [(s.name, s.members) for s in series] == [("DeepSeek", ("2512.02556", "2606.19348"))]


def test_a_name_with_a_modifier_joins_its_base_series_when_the_group_is_the_same() -> None:
    scaled = paper(
        "2011.08036",
        "Scaled-YOLOv4: Scaling Cross Stage Partial Network",
        published="2020-11-16",
        authors=YOLO_AUTHORS,
    )
    vr_yolo = paper("2507.02963", "VR-YOLO: Enhancing PCB Defect Detection")
    related = relate([YOLOV4, YOLOV7, scaled, vr_yolo])
    (series,) = related.series
    assert series.members == ("2004.10934", "2011.08036", "2207.02696")
    assert (
        'related to 2004.10934: 2011.08036 is the successor of 2004.10934: "Scaled-YOLOv4" is '
        '"YOLOv4" with "Scaled"; shared authors: Chien-Yao Wang, Alexey Bochkovskiy, '
        "Hong-Yuan Mark Liao" in explain("2011.08036", [YOLOV4, YOLOV7, scaled, vr_yolo])
    )


def test_a_name_only_the_abstract_gives_makes_a_series_and_is_shown_as_an_alias() -> None:
    gpt3 = paper(
        "2005.14165",
        "Language Models are Few-Shot Learners",
        summary="Specifically, we train GPT-3, an autoregressive language model.",
        published="2020-05-28",
    )
    gpt4 = paper("2303.08774", "GPT-4 Technical Report", published="2023-03-15")
    related = relate([gpt3, gpt4])
    assert [(s.name, s.members) for s in related.series] == [("GPT", ("2005.14165", "2303.08774"))]
    assert 'also known as "GPT-3": abstract: "we train GPT-3"' in explain(
        "2005.14165", [gpt3, gpt4]
    )


# --- remembering --------------------------------------------------------------------------------


def test_what_other_rules_found_is_not_reused() -> None:
    related, memo = relate_remembering([MSA, YOLOV3])
    for saved, load in ((memo_to_json(memo), memo_from_json),
                        (related_to_json(related), related_from_json)):  # fmt: skip
        assert load(saved) is not None
        with pytest.raises(ValueError, match="rules"):
            load({**saved, "rules": 1})


def test_a_series_name_that_becomes_one_papers_name_is_read_again_in_remembered_texts() -> None:
    # Without YOLO v1, "YOLO" names the series {YOLO9000, YOLOv3}, and YOLO9000's own "YOLO"
    # is one model of it; once "We present YOLO" joins, "YOLO" is that paper's name, and the
    # texts read before must be read again (found by review on the evaluation set).
    authors = ("Joseph Redmon", "Ali Farhadi")
    v1 = paper(
        "1506.02640",
        "You Only Look Once",
        summary="We present YOLO, a new approach.",
        published="2015-06-08",
        authors=authors,
    )
    v2 = paper(
        "1612.08242",
        "YOLO9000: Better, Faster, Stronger",
        summary="We introduce YOLO9000. We improve YOLO.",
        published="2016-12-25",
        authors=authors,
    )
    v3 = paper(
        "1804.02767", "YOLOv3: An Incremental Improvement", published="2018-04-08", authors=authors
    )
    _, memo = relate_remembering([v2, v3])
    again, _ = relate_remembering([v2, v3, v1], memo)
    assert again.relations == relate([v2, v3, v1]).relations
    assert any(r.kind == "successor" and r.source == "1612.08242" for r in again.relations)
