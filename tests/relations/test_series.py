"""Short names and series: the golden cases in tests/cases/series/, then each rule on its own."""

from __future__ import annotations

import functools
from datetime import datetime, time, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from factories import make_paper
from paths import TESTS
from vaultpapers.arxiv.papers import Paper
from vaultpapers.relations.series import Series, detect_series, find_name, series_stem, short_name

CASES = sorted((TESTS / "cases" / "series").glob("*.yaml"))


# The papers of these tests: of 2020, with no authors or categories, unless a test says so.
paper = functools.partial(
    make_paper,
    summary="",
    published="2020-01-01",
    authors=(),
    categories=(),
    primary_category="cs.LG",
)


def load_case(path: Path) -> tuple[list[Paper], dict[str, Any]]:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    papers = []
    for entry in case["papers"]:
        assert isinstance(entry["id"], str), f"{path.name}: quote the id {entry['id']!r}"
        published = datetime.combine(entry["published"], time(), timezone.utc)
        papers.append(
            paper(entry["id"], entry["title"], summary=entry["abstract"], published=published)
        )
    return papers, case["expected"]


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("path", CASES, ids=lambda path: path.stem)
def test_golden_case_names(path: Path) -> None:
    papers, expected = load_case(path)
    assert {p.arxiv_id: short_name(p) for p in papers} == expected["names"]


@pytest.mark.parametrize("path", CASES, ids=lambda path: path.stem)
def test_golden_case_series(path: Path) -> None:
    papers, expected = load_case(path)
    found = [{"name": s.name, "members": list(s.members)} for s in detect_series(papers)]
    assert found == expected["series"]


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Perceiver: General Perception with Iterative Attention", "Perceiver"),
        ("Perceiver IO: A General Architecture for Structured Inputs & Outputs", "Perceiver IO"),
        ("General-purpose, long-context autoregressive modeling with Perceiver AR", "Perceiver AR"),
        ("Swin Transformer V2: Scaling Up Capacity and Resolution", "Swin Transformer V2"),
        ("YOLOv4: Optimal Speed and Accuracy of Object Detection", "YOLOv4"),
        ("GPT-4 Technical Report", "GPT-4"),
        ("MLP-Mixer: An all-MLP Architecture for Vision", "MLP-Mixer"),
        ("RepVGG: Making VGG-style ConvNets Great Again", "RepVGG"),
        (
            "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
            "BERT",
        ),
        ("Big Transfer (BiT): General Visual Representation Learning", "BiT"),
        ("Searching for MobileNetV3", "MobileNetV3"),
        ("Mistral 7B", "Mistral 7B"),
        (
            "The No-U-Turn Sampler: Adaptively Setting Path Lengths in Hamiltonian Monte Carlo",
            "No-U-Turn Sampler",
        ),
    ],
)
def test_titles_with_a_name(title: str, name: str) -> None:
    assert find_name(title).name == name


@pytest.mark.parametrize(
    "title",
    [
        "Attention Is All You Need",
        "Deep Residual Learning for Image Recognition",
        "Language Models are Few-Shot Learners",
        "Pay Attention to MLPs",
        "A ConvNet for the 2020s",
        "Adam: A Method for Stochastic Optimization",
        "Batch Normalization: Accelerating Deep Network Training by Reducing Internal"
        " Covariate Shift",
        "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
        "GPTs are GPTs: An Early Look at the Labor Market Impact Potential of Large Language"
        " Models",
        "Quantum Spin Hall Effect in Graphene",
        "Observation of a new boson at a mass of 125 GeV with the CMS experiment at the LHC",
        "Mask R-CNN",
        "Generative Adversarial Networks",
    ],
)
def test_titles_without_a_name(title: str) -> None:
    assert find_name(title).name is None


@pytest.mark.parametrize(
    ("title", "reason"),
    [
        ("Perceiver IO: A General Architecture", 'the part of the title before ":"'),
        ("General-purpose modeling with Perceiver AR", "the end of the title"),
        (
            "Big Transfer (BiT): General Visual Representation Learning",
            "in parentheses in the title",
        ),
        ("PaLM 2 Technical Report", 'the title is "<name> Technical Report"'),
        ("Mistral 7B", "the whole title"),
        (
            "Adam: A Method for Stochastic Optimization",
            'no name: the part before ":" ("Adam") is made of ordinary or generic words',
        ),
        (
            "GPTs are GPTs: An Early Look at the Labor Market",
            'no name: the part before ":" ("GPTs are GPTs") reads as a phrase, not a name',
        ),
        (
            "Estimation and Inference of Heterogeneous Treatment Effects: A Long Phrase Here",
            'no name: the part before ":" ("Estimation and Inference of Heterogeneous Treatment '
            'Effects") is too long for a name',
        ),
        ("Attention Is All You Need", "no name: no distinctive coined word in the title"),
    ],
)
def test_every_name_decision_says_why(title: str, reason: str) -> None:
    assert find_name(title).reason == reason


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("Perceiver IO", "Perceiver"),
        ("Perceiver AR", "Perceiver"),
        ("Swin Transformer V2", "Swin Transformer"),
        ("YOLOv4", "YOLO"),
        ("YOLO9000", "YOLO"),
        ("GPT-3", "GPT"),
        ("GPT-3.5 Turbo", "GPT"),
        ("BERT", "BERT"),
        ("MobileNetV2", "MobileNet"),
        ("wav2vec 2.0", "wav2vec"),
        ("Llama 2", "Llama"),
        ("UNet++", "UNet"),
        ("Inception-v4", "Inception"),
        ("Mistral 7B", "Mistral"),
        ("Transformer-XL", "Transformer"),
        ("GPT-NeoX-20B", "GPT-NeoX"),
        ("Scaled-YOLOv4", "Scaled-YOLO"),
        ("MLP-Mixer", "MLP-Mixer"),
        ("RepMLP", "RepMLP"),
        ("T5", "T5"),
        ("wav2vec", "wav2vec"),
    ],
)
def test_series_stem_drops_version_like_suffixes(name: str, stem: str) -> None:
    assert series_stem(name) == stem


def test_series_members_are_ordered_by_publication_and_explained() -> None:
    papers = [
        paper(
            "2202.07765",
            "Long-context autoregressive modeling with Perceiver AR",
            published="2022-02-15",
        ),
        paper(
            "2103.03206",
            "Perceiver: General Perception with Iterative Attention",
            published="2021-03-04",
        ),
        paper("2107.14795", "Perceiver IO: A General Architecture", published="2021-07-30"),
    ]
    assert detect_series(papers) == [
        Series(
            name="Perceiver",
            members=("2103.03206", "2107.14795", "2202.07765"),
            names=("Perceiver", "Perceiver IO", "Perceiver AR"),
            evidence=(
                '2103.03206 is named "Perceiver" (the part of the title before ":")',
                '2107.14795 is named "Perceiver IO" (the part of the title before ":")'
                " = Perceiver + IO",
                '2202.07765 is named "Perceiver AR" (the end of the title) = Perceiver + AR',
            ),
        )
    ]


def test_detection_does_not_depend_on_input_order() -> None:
    papers = [p for path in CASES for p in load_case(path)[0]]
    assert detect_series(papers) == detect_series(list(reversed(papers)))


def test_a_series_needs_a_distinctive_stem() -> None:
    # Both names are fine on their own; "Transformer" is too ordinary to tie them together.
    papers = [
        paper("1901.02860", "Transformer-XL: Attentive Language Models Beyond a Fixed Context"),
        paper("9901.00001", "Transformer-XXL: A constructed title for this test"),
    ]
    assert [short_name(p) for p in papers] == ["Transformer-XL", "Transformer-XXL"]
    assert detect_series(papers) == []


def test_two_papers_with_the_same_name_are_no_series() -> None:
    papers = [
        paper("0906.3799", "Graphene: Status and Prospects"),
        paper("cond-mat/0612534", "Graphene: carbon in two dimensions"),
    ]
    assert detect_series(papers) == []


def test_duplicate_keys_count_once() -> None:
    perceiver = paper("2103.03206", "Perceiver: General Perception with Iterative Attention")
    io = paper("2107.14795", "Perceiver IO: A General Architecture")
    assert detect_series([perceiver, io, io])[0].members == ("2103.03206", "2107.14795")
