"""Relations on real papers (issue 17): what `relate` links, judged against hand-made truth.

The set (`realrelations/papers.json.gz`) holds real arXiv papers: most from a 2025-26 daily crawl,
chosen around the names the current code links wrongly and rightly, plus classic lineages
(Perceiver, YOLO, BERT, ViT/DeiT/MAE, WGAN, ...). `realrelations/truth.yaml` says, pair by pair,
which belong together (series, successor, names) and which must never be linked. Sources:
`realrelations/SOURCES.md`.

`pytest -s -n 0 tests/relations/test_real_relations.py` prints the figures: per relation kind the
relations written, precision (right / judged), the unjudged ones, recall per truth kind, and every
must-not link. The issue's targets (issue 17) are plain tests at the end.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest
import yaml

from factories import make_paper
from paths import TESTS
from vaultpapers.arxiv.papers import Paper
from vaultpapers.relations.detect import RelatedPapers, explain, relate

HERE = TESTS / "realrelations"
CRAWL_SOURCES = ("papers_a", "papers_b")  # the shared crawl files (SOURCES.md)
KINDS = ("series", "successor", "names")

Pair = frozenset[str]


def load_records(name: str = "papers.json.gz") -> list[dict[str, Any]]:
    with gzip.open(HERE / name, "rt", encoding="utf-8") as stream:
        records: list[dict[str, Any]] = json.load(stream)
    return records


def to_paper(record: dict[str, Any]) -> Paper:
    return make_paper(
        record["id"],
        record["title"],
        record["abstract"],
        published=datetime.fromisoformat(record["published"]).replace(tzinfo=timezone.utc),
        authors=tuple(record["authors"]),
        categories=tuple(record["categories"]),
    )


RECORDS = load_records()
PAPERS = [to_paper(record) for record in RECORDS]
# The whole crawl, as collected: every relation `relate` writes on it is judged in truth.yaml.
CRAWL = [to_paper(record) for record in load_records("crawl.json.gz")]
TITLES = {paper.arxiv_id: paper.title for paper in [*CRAWL, *PAPERS]}
ORIGIN = {
    record["id"]: "crawl" if record["source"] in CRAWL_SOURCES else "lineage" for record in RECORDS
}
TRUTH = yaml.safe_load((HERE / "truth.yaml").read_text(encoding="utf-8"))
RELATED: dict[Pair, str] = {frozenset((e["a"], e["b"])): e["kind"] for e in TRUTH["related"]}
UNRELATED: dict[Pair, str] = {frozenset((e["a"], e["b"])): e["why"] for e in TRUTH["unrelated"]}


@dataclass
class Written:
    """The distinct pairs one relation kind links, sorted by what the truth says of them."""

    pairs: set[Pair] = field(default_factory=set)

    @property
    def right(self) -> set[Pair]:
        return {pair for pair in self.pairs if pair in RELATED}

    @property
    def wrong(self) -> set[Pair]:
        return {pair for pair in self.pairs if pair in UNRELATED}

    @property
    def unjudged(self) -> set[Pair]:
        return self.pairs - self.right - self.wrong

    def precision(self) -> float | None:
        judged = len(self.right) + len(self.wrong)
        return len(self.right) / judged if judged else None


def written_by_kind(related: RelatedPapers) -> dict[str, Written]:
    found: dict[str, Written] = defaultdict(Written)
    for relation in related.relations:
        found[relation.kind].pairs.add(frozenset((relation.source, relation.target)))
    return dict(found)


def linked(related: RelatedPapers) -> set[Pair]:
    return {frozenset((r.source, r.target)) for r in related.relations}


def origin(pair: Pair) -> str:
    origins = {ORIGIN.get(key, "crawl") for key in pair}
    return origins.pop() if len(origins) == 1 else "mixed"


def recall(links: set[Pair], kinds: Iterable[str], keys: set[str]) -> tuple[int, int]:
    """(found, wanted) of the truth's pairs of these kinds whose papers are both in `keys`."""
    wanted = {pair for pair, kind in RELATED.items() if kind in kinds and pair <= keys}
    return len(wanted & links), len(wanted)


def percent(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.1f} %)" if whole else "0/0"


def show(pair: Pair) -> str:
    a, b = sorted(pair)
    return f"{a} <-> {b}  [{TITLES[a][:50]} | {TITLES[b][:50]}]"


@pytest.fixture(scope="module")
def related() -> RelatedPapers:
    return relate(PAPERS)


@pytest.fixture(scope="module")
def crawl() -> RelatedPapers:
    return relate(CRAWL)


# --- what holds today ---------------------------------------------------------------------------


def test_the_set_holds_at_least_300_real_papers_each_with_its_metadata() -> None:
    assert len(PAPERS) >= 300
    assert len({paper.arxiv_id for paper in PAPERS}) == len(PAPERS)
    for record in RECORDS:
        assert record["title"] and record["abstract"] and record["published"], record["id"]
        assert record["source"], record["id"]
    assert sum(1 for record in RECORDS if record["source"] in CRAWL_SOURCES) >= 250


def test_the_truth_names_only_papers_of_the_set_and_judges_no_pair_both_ways() -> None:
    for entry in TRUTH["related"] + TRUTH["unrelated"]:
        assert entry["a"] in TITLES and entry["b"] in TITLES and entry["a"] != entry["b"], entry
        assert entry["why"], entry
    assert {entry["kind"] for entry in TRUTH["related"]} <= set(KINDS)
    assert len(RELATED) == len(TRUTH["related"]) and len(UNRELATED) == len(TRUTH["unrelated"])
    assert not RELATED.keys() & UNRELATED.keys()
    assert len(RELATED) >= 60 and len(UNRELATED) >= 100


def test_the_crawl_is_the_whole_collection_and_holds_every_crawl_paper_of_the_set() -> None:
    assert len(CRAWL) == len({paper.arxiv_id for paper in CRAWL}) == 4310
    crawled = {key for key, where in ORIGIN.items() if where == "crawl"}
    assert crawled <= {paper.arxiv_id for paper in CRAWL}


@pytest.mark.parametrize("which", ["set", "crawl"])
def test_every_relation_written_today_is_judged_by_the_truth(
    which: str, related: RelatedPapers, crawl: RelatedPapers
) -> None:
    """Precision is measured on judged pairs only: a change that links a new pair must say in
    truth.yaml whether that pair is right, after reading both abstracts."""
    unjudged = linked(related if which == "set" else crawl) - RELATED.keys() - UNRELATED.keys()
    assert not unjudged, "\n".join(map(show, sorted(unjudged, key=sorted)))


def test_relations_do_not_depend_on_the_order_of_the_papers(related: RelatedPapers) -> None:
    again = relate(list(reversed(PAPERS)))
    assert again.relations == related.relations
    assert again.series == related.series


def test_lineage_pairs_written_today_are_all_right(related: RelatedPapers) -> None:
    lineage = {pair for pair in linked(related) if origin(pair) == "lineage"}
    assert lineage and lineage <= RELATED.keys()


def test_a_field_term_spelled_out_in_a_title_relates_no_paper_that_mentions_it(
    related: RelatedPapers,
) -> None:
    # "... Generation (RAG) Pipelines for ... (ORAN)" and "... Token Pruning in MLLMs": RAG and
    # MLLMs are the field's acronyms, no paper's name; ORAN, found in parentheses, is a name
    # that relates no paper by mention (none of the 446 such pairs on the crawl were right).
    by_id = {paper.arxiv_id: paper for paper in PAPERS}
    assert related.names["2506.10967"].name is None
    assert related.names["2507.03608"].name == "ORAN"
    assert not [r for r in related.relations_of("2507.03608") if '"ORAN"' in r.reason]
    assert "abstracts mentioning 'ORAN' are not related to it for that" in "\n".join(
        explain("2507.03608", [by_id["2507.03608"], by_id["2503.21911"], by_id["2503.21817"]])
    )


def figures(title: str, papers: list[Paper], related: RelatedPapers) -> list[str]:
    """The figures of one library, as printed; asserts only that they add up."""
    written = written_by_kind(related)
    links = linked(related)
    keys = {paper.arxiv_id for paper in papers}
    lines = ["", f"{title}: {len(papers)} real papers, {len(links)} related pairs written"]
    for kind, found in sorted(written.items()):
        precision = found.precision()
        lines.append(
            f"  {kind:9} written {len(found.pairs):4}  right {len(found.right):4}  "
            f"must-not {len(found.wrong):4}  unjudged {len(found.unjudged):3}  precision "
            + (f"{100 * precision:.1f} %" if precision is not None else "-")
        )
        assert len(found.right) + len(found.wrong) + len(found.unjudged) == len(found.pairs)
    for where in ("crawl", "lineage", "mixed"):
        pairs = {pair for pair in links if origin(pair) == where}
        right, wrong = len(pairs & RELATED.keys()), len(pairs & UNRELATED.keys())
        if right + wrong:
            lines.append(f"  precision on {where} pairs: {percent(right, right + wrong)}")
    for kind in KINDS:
        lines.append(f"  recall of truth's {kind} pairs: {percent(*recall(links, [kind], keys))}")
    lineages = recall(links, ["series", "successor"], keys)
    lines.append(f"  recall of series + successor: {percent(*lineages)}")
    must_not = sorted(links & UNRELATED.keys(), key=sorted)
    lines.append(f"  must-not links made: {len(must_not)}")
    lines.extend(f"    {show(pair)}: {UNRELATED[pair]}" for pair in must_not)
    unjudged = sorted(links - RELATED.keys() - UNRELATED.keys(), key=sorted)
    lines.append(f"  unjudged links: {len(unjudged)}")
    lines.extend(f"    {show(pair)}" for pair in unjudged)
    lineage_pairs = [p for p, kind in RELATED.items() if kind != "names" and p <= keys]
    missed = sorted((pair for pair in lineage_pairs if pair not in links), key=sorted)
    lines.append(f"  series/successor pairs missed: {len(missed)}")
    lines.extend(f"    {RELATED[pair]:9} {show(pair)}" for pair in missed)
    lines.append(
        f"  not dared: {len(related.set_aside)} names set aside, "
        f"{len(related.declined)} mentions declined on evidence"
    )
    return lines


def test_figures_per_relation_kind(related: RelatedPapers, crawl: RelatedPapers) -> None:
    """Prints the figures (`pytest -s -n 0`) of the evaluation set and of the whole crawl."""
    lines = figures("evaluation set (crawl picks + classic lineages)", PAPERS, related)
    lines += figures("the whole crawl (2025-26)", CRAWL, crawl)
    print("\n".join(lines))


# --- the targets (issue 17, "Evidence") ------------------------------------------------

LIBRARY = ["set", "crawl"]


def pick(which: str, related: RelatedPapers, crawl: RelatedPapers) -> RelatedPapers:
    return related if which == "set" else crawl


@pytest.mark.parametrize("which", LIBRARY)
def test_no_must_not_pair_is_linked(
    which: str, related: RelatedPapers, crawl: RelatedPapers
) -> None:
    wrong = linked(pick(which, related, crawl)) & UNRELATED.keys()
    assert not wrong, "\n".join(f"{show(p)}: {UNRELATED[p]}" for p in sorted(wrong, key=sorted))


@pytest.mark.parametrize("which", LIBRARY)
def test_precision_on_crawl_papers_is_at_least_95_percent(
    which: str, related: RelatedPapers, crawl: RelatedPapers
) -> None:
    pairs = {pair for pair in linked(pick(which, related, crawl)) if origin(pair) == "crawl"}
    right, wrong = len(pairs & RELATED.keys()), len(pairs & UNRELATED.keys())
    assert right + wrong and right / (right + wrong) >= 0.95, (right, wrong)


def test_precision_on_the_lineage_set_is_at_least_95_percent(related: RelatedPapers) -> None:
    pairs = {pair for pair in linked(related) if origin(pair) != "crawl"}
    right, wrong = len(pairs & RELATED.keys()), len(pairs & UNRELATED.keys())
    assert right + wrong and right / (right + wrong) >= 0.95, (right, wrong)


@pytest.mark.parametrize("which", LIBRARY)
def test_precision_of_every_relation_kind_is_at_least_95_percent(
    which: str, related: RelatedPapers, crawl: RelatedPapers
) -> None:
    for kind, found in written_by_kind(pick(which, related, crawl)).items():
        precision = found.precision()
        assert precision is not None and precision >= 0.95, (kind, found.right, found.wrong)


def test_recall_of_series_and_successor_pairs_is_at_least_90_percent(
    related: RelatedPapers,
) -> None:
    keys = {paper.arxiv_id for paper in PAPERS}
    found, wanted = recall(linked(related), ["series", "successor"], keys)
    assert found >= 0.9 * wanted, (found, wanted)
