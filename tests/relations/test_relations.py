"""Relations between papers: golden cases, precision on unrelated papers, the mention rules."""

from __future__ import annotations

import functools
import string
from datetime import datetime, timezone
from datetime import time as clock
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import make_paper
from paths import TESTS
from vaultpapers.arxiv.papers import Paper
from vaultpapers.relations.detect import Relation, explain, find_relations, relate

CASES_DIR = TESTS / "cases"
SERIES_CASES = sorted((CASES_DIR / "series").glob("*.yaml"))


# The papers of these tests: of 2020, with no authors or categories, unless a test says so.
paper = functools.partial(
    make_paper,
    summary="",
    published="2020-01-01",
    authors=(),
    categories=(),
    primary_category="cs.LG",
)


def load(path: Path) -> tuple[list[Paper], dict[str, Any]]:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    papers = []
    for entry in case["papers"]:
        assert isinstance(entry["id"], str), f"{path.name}: quote the id {entry['id']!r}"
        published = datetime.combine(entry["published"], clock(), timezone.utc)
        papers.append(
            paper(entry["id"], entry["title"], summary=entry["abstract"], published=published)
        )
    return papers, case.get("expected", {})


UNRELATED, _ = load(CASES_DIR / "titles_unrelated.yaml")
PERCEIVERS, _ = load(CASES_DIR / "series" / "perceiver.yaml")
PERCEIVER, PERCEIVER_IO, PERCEIVER_AR = (p.arxiv_id for p in PERCEIVERS)


def both_ways(
    source: str, target: str, kind: Literal["series", "mention", "successor"], reason: str
) -> set[Relation]:
    return {Relation(source, target, kind, reason), Relation(target, source, kind, reason)}


def pairs(relations: list[Relation]) -> set[frozenset[str]]:
    return {frozenset((relation.source, relation.target)) for relation in relations}


# --- golden cases ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SERIES_CASES, ids=lambda path: path.stem)
def test_golden_case_relations(path: Path) -> None:
    papers, expected = load(path)
    wanted: set[Relation] = set()
    # `relate` also names papers from their abstracts ("We present YOLO"), which can add members.
    for series in expected.get("series_with_abstract_names", expected["series"]):
        for source in series["members"]:
            for target in series["members"]:
                if source != target:
                    wanted.add(Relation(source, target, "series", f"same series: {series['name']}"))
    for mention in expected["mentions"]:
        wanted |= both_ways(mention["source"], mention["target"], "mention", mention["reason"])
    for successor in expected.get("successors", []):
        wanted |= both_ways(
            successor["later"], successor["earlier"], "successor", successor["reason"]
        )
    assert find_relations(papers) == sorted(wanted)


# --- precision ---------------------------------------------------------------------------------


def test_the_unrelated_set_is_broad_and_has_names_to_confuse() -> None:
    assert len(UNRELATED) >= 60
    assert len({p.arxiv_id for p in UNRELATED}) == len(UNRELATED)
    names = relate(UNRELATED).names
    assert (
        len([key for key, finding in names.items() if finding.name]) >= 8
    )  # so "no relation" is not trivially true


def test_among_unrelated_papers_only_the_two_naming_gpt3_are_related() -> None:
    # GPT-3's title has no name, its abstract gives it one ("we train GPT-3, an ..."), and two
    # papers of the set really name it: LoRA ("GPT-3 175B fine-tuned with Adam") and "GPTs are
    # GPTs" ("alignment with GPT-3"). Nothing else is related.
    related = relate(UNRELATED)
    assert pairs(list(related.relations)) == {
        frozenset(("2005.14165", "2106.09685")),
        frozenset(("2005.14165", "2303.10130")),
    }
    assert {r.reason for r in related.relations} == {
        'abstract of 2106.09685 mentions "GPT-3"',
        'abstract of 2303.10130 mentions "GPT-3"',
    }
    assert related.series == ()


def test_perceiver_family_among_unrelated_papers_is_linked_both_ways() -> None:
    relations = find_relations([*UNRELATED[:30], *PERCEIVERS, *UNRELATED[30:]])
    family = {PERCEIVER, PERCEIVER_IO, PERCEIVER_AR}

    for source in family:
        for target in family - {source}:
            assert Relation(source, target, "series", "same series: Perceiver") in relations
    mention = 'abstract of 2107.14795 mentions "Perceiver"'
    assert both_ways(PERCEIVER_IO, PERCEIVER, "mention", mention) <= set(relations)

    # Perceiver IO's abstract really names BERT ("a Transformer-based BERT baseline"): that link
    # is right. Nothing else leaves the family, and no two unrelated papers are linked.
    outside = {r for r in relations if not {r.source, r.target} <= family}
    bert = 'abstract of 2107.14795 mentions "BERT"'
    gpt3 = pairs([r for r in outside if "GPT-3" in r.reason])  # see the test above
    assert outside - {r for r in outside if "GPT-3" in r.reason} == both_ways(
        PERCEIVER_IO, "1810.04805", "mention", bert
    )
    assert len(gpt3) == 2
    assert len(relations) == 6 + 2 + 2 + 4


# --- mention rules -----------------------------------------------------------------------------

GRAPHENE = paper(
    "0906.3799", "Graphene: Status and Prospects", summary="Graphene is a wonder material."
)


def test_plain_name_at_the_start_of_a_sentence_or_in_title_case_is_no_mention() -> None:
    sentence_start = paper(
        "1803.02342",
        "Unconventional superconductivity in magic-angle graphene superlattices",
        summary="Graphene bilayers twisted by a small angle develop flat bands.",
    )
    title_case = paper("cond-mat/0411737", "Quantum Spin Hall Effect in Graphene")
    assert find_relations([GRAPHENE, sentence_start, title_case]) == []


def test_plain_name_capitalised_mid_sentence_is_a_mention() -> None:
    # A constructed abstract: the capital stands out where "graphene" would be lower case.
    citing = paper(
        "9901.00001", "Devices from layered carbon", summary="We revisit the Graphene review."
    )
    assert find_relations([GRAPHENE, citing]) == sorted(
        both_ways(
            "9901.00001", "0906.3799", "mention", 'abstract of 9901.00001 mentions "Graphene"'
        )
    )


def test_names_are_matched_in_their_own_case() -> None:
    lora_radio = next(p for p in UNRELATED if p.arxiv_id == "1607.08011")  # says "LoRa"
    lora_adapters = next(p for p in UNRELATED if p.arxiv_id == "2106.09685")
    assert find_relations([lora_radio, lora_adapters]) == []

    citing = paper(
        "9901.00002",
        "Cheap fine-tuning",
        summary="We fine-tune with LoRA adapters.",
        published="2022-01-01",
    )
    assert pairs(find_relations([lora_adapters, citing])) == {
        frozenset(("2106.09685", "9901.00002"))
    }


@pytest.mark.parametrize(
    "text",
    [
        "We compare against GPT-3 on every task.",  # another version of the name
        "Our GPT-NeoX-20B baseline is strong.",  # a longer name that starts alike
        "The later Perceiver IO model is faster.",  # a sibling: "Perceiver" + version
        "The later Perceiver-IO model is faster.",  # the same, hyphenated
        "The pre-trained SuperGPT-4 is used.",  # glued to a capitalised word
    ],
)
def test_a_name_inside_a_longer_name_is_no_mention(text: str) -> None:
    gpt4 = paper("2303.08774", "GPT-4 Technical Report")
    perceiver = paper("2103.03206", "Perceiver: General Perception with Iterative Attention")
    citing = paper("9901.00003", "A constructed title", summary=text)
    assert find_relations([gpt4, perceiver, citing]) == []


@pytest.mark.parametrize(
    "text",
    [
        "We start from a BERT-based encoder.",
        "Unlike BERT, we mask spans.",
        "We fine-tune BERT-Large on the task.",
        "Our model beats BERT Large.",
    ],
)
def test_a_name_with_a_lowercase_or_size_word_attached_is_a_mention(text: str) -> None:
    bert = paper("1810.04805", "BERT: Pre-training of Deep Bidirectional Transformers")
    citing = paper("9901.00004", "A constructed title", summary=text, published="2021-01-01")
    assert pairs(find_relations([bert, citing])) == {frozenset(("1810.04805", "9901.00004"))}


def test_a_generic_head_is_no_name_and_relates_nothing() -> None:
    adam = next(p for p in UNRELATED if p.arxiv_id == "1412.6980")
    lora = next(p for p in UNRELATED if p.arxiv_id == "2106.09685")  # "fine-tuned with Adam"
    assert find_relations([adam, lora]) == []
    assert explain("1412.6980", [adam, lora]) == [
        '1412.6980 has no name: the part before ":" ("Adam") is made of ordinary or generic words',
        "no related papers",
    ]


def test_a_name_two_papers_share_is_set_aside_as_ambiguous() -> None:
    other = paper("cond-mat/0612534", "Graphene: carbon in two dimensions")
    citing = paper(
        "9901.00005", "Devices from layered carbon", summary="We revisit the Graphene review."
    )
    related = relate([GRAPHENE, other, citing])
    assert related.relations == ()
    assert related.set_aside == {
        "Graphene": '"Graphene" is ambiguous: 2 papers with no author in common call themselves '
        "so (0906.3799, cond-mat/0612534)"
    }


def test_a_name_too_many_papers_mention_is_set_aside() -> None:
    citing = [
        paper(
            f"9901.{n:05d}",
            f"Constructed study {n}",
            summary="We compare with the Perceiver model.",
            published="2022-01-01",
        )
        for n in range(30)
    ]
    related = relate([*PERCEIVERS, *citing])
    assert {r.kind for r in related.relations} == {"series"}
    assert related.set_aside == {
        "Perceiver": '"Perceiver" is mentioned by 31 of 33 papers: too common to relate them'
    }
    assert (
        '"Perceiver" relates nothing: "Perceiver" is mentioned by 31 of 33 papers: '
        "too common to relate them" in explain(PERCEIVER, [*PERCEIVERS, *citing])
    )


# --- shape of the answer -----------------------------------------------------------------------


def test_every_relation_has_its_mirror() -> None:
    papers = [p for path in SERIES_CASES for p in load(path)[0]]
    relations = set(find_relations(papers))
    assert relations
    assert {Relation(r.target, r.source, r.kind, r.reason) for r in relations} == relations


def test_result_does_not_depend_on_input_order() -> None:
    papers = [*UNRELATED, *(p for path in SERIES_CASES for p in load(path)[0])]
    assert find_relations(papers) == find_relations(list(reversed(papers)))


def test_explain_gives_the_name_the_series_and_each_relation() -> None:
    assert explain(PERCEIVER_IO, [*UNRELATED, *PERCEIVERS]) == [
        '2107.14795 is named "Perceiver IO": the part of the title before ":"',
        "member of series Perceiver:",
        '  2103.03206 is named "Perceiver" (the part of the title before ":")',
        '  2107.14795 is named "Perceiver IO" (the part of the title before ":") = Perceiver + IO',
        '  2202.07765 is named "Perceiver AR" (the end of the title) = Perceiver + AR',
        'related to 1810.04805: abstract of 2107.14795 mentions "BERT"',
        'related to 2103.03206: abstract of 2107.14795 mentions "Perceiver"',
        "related to 2103.03206: same series: Perceiver",
        "related to 2202.07765: same series: Perceiver",
    ]


def test_explain_refuses_an_unknown_paper() -> None:
    with pytest.raises(KeyError):
        explain("0000.00000", PERCEIVERS)


def _coined(n: int) -> str:
    letters = ""
    while True:
        n, digit = divmod(n, 26)
        letters += string.ascii_lowercase[digit]
        if n == 0:
            return f"Zq{letters}Net"


def test_a_library_of_five_thousand_papers_relates_each_to_the_one_it_names() -> None:
    """At library scale (its speed is the benchmark harness's business, not a test's)."""
    filler = " We report accuracy, latency and memory on standard benchmarks." * 10
    papers = [
        paper(
            f"9901.{n:05d}",
            f"{_coined(n)}: Parsing with fewer resources",
            summary=f"We improve on {_coined(n - 1)} for parsing.{filler}" if n else filler,
        )
        for n in range(5000)
    ]
    relations = find_relations(papers)
    pairs = {(r.source, r.target) for r in relations}
    assert len(relations) == 2 * 4999
    assert all(
        (f"9901.{n:05d}", f"9901.{n - 1:05d}") in pairs
        and (f"9901.{n - 1:05d}", f"9901.{n:05d}") in pairs
        for n in range(1, 5000)
    )


# -- finding names in a text: the shortcut reads what reading every token would ----------------

# Names that overlap ("Perceiver", "Perceiver IO", "IO"), plain and coined, and words of both
# cases, so that which span wins and whether a text is in Title Case both vary.
NAMES = ["GPT", "GPT-3", "Perceiver", "Perceiver IO", "IO", "LoRA", "A", "UNet++", "Swin", "T5"]
WORDS = [*NAMES, "learning", "Learning", "based", "Large", "v2", "3.5", "Model", "models", "non"]
GAPS = [" ", "-", ". ", ", ", "  ", "(", ") ", ": ", "\n", "_"]


def names_read_token_by_token(text: str, index: dict[str, Any], prefixes: set[str]) -> list[str]:
    """`_names_in` as first written: every token tried as the start of a name, in order."""
    from vaultpapers.relations.detect import _in_capitalised_run, _split_as_named, _stands_alone
    from vaultpapers.relations.series import Tokens

    made = Tokens(text)
    tokens = list(made)  # every token made, as at first
    loose = [t.text for t in tokens if not t.starts_sentence and not t.joined]
    words = [word for word in loose if word.isalpha() and len(word) >= 4]
    title_case = not words or sum(word[0].isupper() for word in words) * 2 >= len(words)
    found, start = [], 0
    while start < len(tokens):
        candidates, form = [], ""
        for end in range(start, len(tokens)):
            if end > start and not (tokens[end].joined or tokens[end].spaced):
                break
            form += tokens[end].text
            if form not in prefixes:
                break
            if form in index:
                candidates.append((end + 1, form))
        for end, name in reversed(candidates):
            if not _stands_alone(made, start, end):
                continue
            if not _split_as_named([t.text for t in tokens[start:end]], index[name].name):
                continue
            if index[name].plain and (
                tokens[start].starts_sentence or title_case or _in_capitalised_run(made, start, end)
            ):
                continue
            found.append(name)
            start = end
            break
        else:
            start += 1
    return found


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(GAPS), st.sampled_from(WORDS)), max_size=24),
    st.sets(st.sampled_from(NAMES), min_size=1),
)
def test_names_are_found_as_reading_every_token_finds_them(
    pieces: list[tuple[str, str]], indexed: set[str]
) -> None:
    from vaultpapers.relations.detect import _names_in, _Target
    from vaultpapers.relations.series import is_plain, normalized

    text = "".join(gap + word for gap, word in pieces)
    index = {normalized(name): _Target(name, ("1",), is_plain(name)) for name in indexed}
    prefixes = {form[:end] for form in index for end in range(1, len(form) + 1)}
    expected = names_read_token_by_token(text, index, prefixes)
    assert list(_names_in(text, index, prefixes)) == expected
