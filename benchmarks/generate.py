"""Deterministic synthetic vaults for the benchmark, and the arXiv metadata they cite.

`make_corpus(notes, seed)` decides everything that is global (note names and folders, which
note cites which paper, the papers themselves) and is cheap; `write_vault(corpus, root)` writes
the notes, each from its own seeded generator. The same `(notes, seed)` always gives the same
bytes, so a vault can be regenerated instead of kept, and `serve.py` can serve the matching
metadata without writing anything.

Shape of a vault of n notes: nested folders (depth 1-4), notes of 2-8 KB in English, Korean or
both, front matter on most, `#tags` (nested too), wikilinks; about one note in three cites 1-6
papers in the forms people paste, about n/2 distinct valid ids overall (a few of which arXiv does
not know), a few malformed ids, and arXiv URLs inside code that are not references.

    python benchmarks/generate.py --notes 10000 benchmarks/out/vault-10000
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from vaultpapers.arxiv.papers import Paper

DEFAULT_SEED = 20240601
SPARE_PAPERS = 256  # served by the fake API, cited nowhere: the benchmark's edits cite these
UNKNOWN_SHARE = 0.003  # cited, well-formed, but arXiv has no such paper
TITLE_SHARE = 0.25  # of the citations of a popular paper, those by its title alone
MALFORMED_SHARE = 0.01  # citing notes that also hold a malformed id (six digits after the dot)
OLD_STYLE_SHARE = 0.02
MIN_NOTE_BYTES = 2048
MAX_NOTE_BYTES = 8192
# Citations are added after the body reached its size, so the body aims below the maximum.
BODY_TARGET_MAX = 7400


@dataclass(frozen=True)
class NotePlan:
    path: str  # vault-relative, POSIX
    citations: tuple[str, ...]  # canonical keys, in order of appearance
    malformed: bool
    code_decoy: str | None  # a key that appears only inside code, never as a reference


@dataclass(frozen=True)
class Corpus:
    seed: int
    notes: tuple[NotePlan, ...]
    papers: dict[str, Paper]  # every cited key arXiv knows -> its record
    unknown: frozenset[str]  # cited keys arXiv does not know
    spare: tuple[Paper, ...]  # known to the API, cited nowhere
    series_names: tuple[str, ...]
    # Papers some notes name by their title alone (no URL): popular ones, so that a URL
    # elsewhere makes them known to the vault.
    by_title: frozenset[str] = frozenset()

    @property
    def cited_keys(self) -> frozenset[str]:
        return frozenset(key for note in self.notes for key in note.citations)

    @property
    def citing_notes(self) -> int:
        return sum(1 for note in self.notes if note.citations)

    def served_papers(self) -> list[Paper]:
        return [*self.papers.values(), *self.spare]


# -- vocabulary ------------------------------------------------------------------------------


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


ADJECTIVES = _words(
    "efficient scalable robust sparse hierarchical contrastive generative adaptive latent "
    "unsupervised self-supervised multimodal causal differentiable equivariant provable "
    "lightweight deep shallow implicit explicit continual federated probabilistic neural "
    "structured recurrent convolutional variational stochastic distributed"
)
NOUNS = _words(
    "attention transformers representations embeddings networks priors objectives "
    "diffusion models encoders decoders graphs kernels bottlenecks tokenizers policies "
    "value functions gradients optimizers features manifolds operators memories retrieval "
    "distillation pretraining alignment calibration benchmarks datasets estimators"
)
TASKS = _words(
    "image classification|object detection|semantic segmentation|machine translation|"
    "language modeling|speech recognition|question answering|video understanding|"
    "reinforcement learning|protein folding|few-shot learning|domain adaptation|"
    "graph classification|time series forecasting|code generation|text-to-image synthesis|"
    "optical flow|point cloud registration|quantum error correction|black hole entropy",
    sep="|",
)
FIRST_NAMES = _words(
    "Andrew Felix Oriol Joao Ashish Noam Niki Jakob Llion Aidan Lukasz Illia Kaiming Xiangyu "
    "Shaoqing Jian Alexey Lucas Dirk Xiaohua Minseo Jiwoo Seungwoo Hyunjung Yuki Haruto Wei "
    "Ying Jürgen Sébastien Zoë Łukasz Dvořák Ana María José Søren Ahmed Fatima Priya Arjun "
    "Olga Dmitri Chiara Matteo Ines Tomás Nnamdi Amara Kofi"
)
LAST_NAMES = _words(
    "Jaegle Gimeno Brock Zisserman Vinyals Carreira Vaswani Shazeer Parmar Uszkoreit Jones "
    "Gomez Kaiser Polosukhin He Zhang Ren Sun Dosovitskiy Beyer Weissenborn Kim Lee Park Choi "
    "Jung Tanaka Sato Wang Li Chen Schmidhuber Bubeck Müller Ødegaard García Núñez Nielsen "
    "Hassan Sharma Gupta Ivanova Petrov Rossi Bianchi Okafor Mensah Dubois Kowalski Novák"
)
CATEGORIES = (
    ("cs.LG", 30),
    ("cs.CV", 25),
    ("cs.CL", 18),
    ("stat.ML", 6),
    ("cs.AI", 5),
    ("cs.RO", 3),
    ("math.OC", 2),
    ("quant-ph", 2),
    ("hep-th", 2),
    ("cond-mat.stat-mech", 1),
    ("eess.AS", 1),
    ("cs.SD", 1),
    ("q-bio.QM", 1),
    ("astro-ph.CO", 1),
)
OLD_ARCHIVES = (
    ("hep-th", "hep-th", None),
    ("hep-ph", "hep-ph", None),
    ("astro-ph", "astro-ph", None),
    ("quant-ph", "quant-ph", None),
    ("gr-qc", "gr-qc", None),
    ("cond-mat", "cond-mat.str-el", None),
    ("math", "math.GT", "GT"),
    ("math", "math.AG", "AG"),
    ("math", "math.PR", "PR"),
    ("cs", "cs.LG", "LG"),
)
SYLLABLES = _words(
    "per cei ver zor vex ka li mo ra ne tro flu xen qua vi lu sa dri po gen tor nix "
    "bel cor dax fen gal hel jun kel lum mar nov orb pyx ryn sel tav ul vor wyn yar zel"
)
SERIES_SUFFIXES = (" IO", " AR", " V2", "-2", "-3", " 2.0", "++", " XL", " v3")
COMMENTS = (
    "ICML 2021",
    "NeurIPS 2022 camera-ready",
    "Accepted at ICLR 2023",
    "12 pages, 5 figures",
    "CVPR 2021 (oral)",
    "Technical report; code available",
    "ACL 2020",
    "34 pages, 11 figures, 6 tables",
)

EN_SENTENCES = (
    "The {noun} trick is the part I keep coming back to, mostly because it is so simple.",
    "Their ablation on {noun} is more convincing than the headline numbers.",
    "I am not sure the {adj} variant helps once the baseline is tuned properly.",
    "Worth re-reading section {n} before the group meeting.",
    "Tried this on our {task} setup last week; it is {n}% slower and no better.",
    "The appendix has the real story: {adj} {noun} only pays off at scale.",
    "Minseo pointed out that the {noun} are just a wide convolution with tied weights.",
    "Open question: does this transfer to {task}, or is it an artefact of the benchmark?",
    "Compute budget is roughly {n}k GPU hours, so reproducing it is out of the question.",
    "Nice figure on page {n}; steal it for the tutorial.",
    "The {adj} objective is equivalent to a reweighted likelihood, which nobody mentions.",
    "Results on {task} look strong but the comparison uses an old baseline.",
    "If this holds up, {noun} are a preprocessing choice rather than an architecture choice.",
    "They tune the learning rate per method, which is fair and rarely done.",
    "I don't believe the {task} numbers until someone reruns them with {n} seeds.",
    "Connection to {adj} {noun}: same idea, different notation.",
    "The main limitation is memory, quadratic in sequence length as usual.",
    "Code is out and it actually runs, which already puts it above average.",
    "Reviewer {n} asked exactly the question I had about {noun}.",
    "Key number: {n}.{n}% on {task} with a tenth of the parameters.",
)
KO_SENTENCES = (
    "오늘은 {noun} 부분만 다시 읽었다. 생각보다 단순한 아이디어다.",
    "핵심은 {adj} 구조로 연산량을 줄인 것이다.",
    "우리 연구실 규모로는 재현하기 어렵다. GPU {n}장으로는 무리다.",
    "{task} 쪽으로 옮겨도 잘 될지는 아직 모르겠다.",
    "솔직히 베이스라인이 너무 약해서 결과를 그대로 믿기 어렵다.",
    "부록의 ablation이 본문보다 훨씬 설득력 있다.",
    "민서가 지적한 대로 결국 {noun}를 다시 들여온 셈이다.",
    "다음 주 세미나 전에 {n}절을 다시 읽어 둘 것.",
    "학습률만 맞춰 주면 기존 방법도 비슷하게 나온다는 점이 재미있다.",
    "이 논문 이후로 {adj} 방법이 사실상 표준이 되었다.",
    "메모: 코드 공개됨. 실제로 돌아가는지 확인 필요.",
    "결론만 보면 데이터 규모가 전부라는 이야기다.",
    "{task} 실험 결과는 인상적이지만 비교 대상이 오래됐다.",
    "지우 씨와 이야기해 보니 같은 문제를 다른 각도에서 보고 있었다.",
    "표 {n}의 숫자가 본문과 다르다. 버전 차이인지 확인할 것.",
)
KO_TASKS = ("이미지 분류", "객체 탐지", "기계 번역", "언어 모델링", "음성 인식", "강화학습")
KO_HEADINGS = ("요약", "핵심 아이디어", "실험", "한계", "질문", "메모", "관련 논문", "다음에 할 것")
EN_HEADINGS = (
    "Summary",
    "Key idea",
    "Experiments",
    "Limitations",
    "Open questions",
    "Notes",
    "Related work",
    "Next steps",
    "Reading list",
    "Discussion",
)
TAGS = _words(
    "reading-log paper ml vision nlp rl meeting idea draft todo research/ml research/vision "
    "research/vision/detection project/alpha project/beta 비전 언어모델 정리 읽을거리 연구/논문"
)
TOP_FOLDERS = (
    "Reading log",
    "Weekly digest",
    "Projects",
    "Ideas",
    "Meetings",
    "Journal club",
    "논문 메모",
    "Lab",
    "Daily",
    "Archive",
    "Courses",
    "Drafts",
    "_posts",
    "연구",
)
SUB_FOLDERS = _words(
    "2019 2020 2021 2022 2023 2024 Vision NLP RL Theory Optimization Physics 비전 언어모델 "
    "강화학습 이론 Q1 Q2 Q3 Q4 old misc Detection Segmentation Alpha Beta Gamma"
)


def _coined_word(rng: random.Random) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3))))
    return word[0].upper() + word[1:]


def _fill(template: str, rng: random.Random, tasks: tuple[str, ...] = TASKS) -> str:
    return template.format(
        noun=rng.choice(NOUNS),
        adj=rng.choice(ADJECTIVES),
        task=rng.choice(tasks),
        n=rng.randint(2, 9),
    )


# -- papers ----------------------------------------------------------------------------------


def _new_style_key(rng: random.Random) -> str:
    year = rng.choices(
        range(7, 25), weights=[1, 1, 1, 1, 2, 2, 3, 3, 4, 5, 7, 9, 11, 13, 14, 13, 12, 10]
    )[0]
    month = rng.randint(4 if year == 7 else 1, 12)
    yymm = f"{year:02d}{month:02d}"
    if int(yymm) <= 1412:
        return f"{yymm}.{rng.randint(1, 9999):04d}"
    return f"{yymm}.{rng.randint(1, 29999):05d}"


def _old_style_key(rng: random.Random) -> tuple[str, str, str | None]:
    """(canonical key, primary category, subject class used in some references)."""
    archive, category, subject = rng.choice(OLD_ARCHIVES)
    year = rng.choice([*range(92, 100), *range(0, 7)])
    month = rng.randint(1, 12)
    return f"{archive}/{year:02d}{month:02d}{rng.randint(1, 999):03d}", category, subject


def _published(key: str, rng: random.Random) -> datetime:
    digits = key.split("/")[-1]
    year = int(digits[:2])
    year += 1900 if year >= 90 else 2000
    month = int(digits[2:4])
    return datetime(
        year,
        month,
        rng.randint(1, 28),
        rng.randint(0, 23),
        rng.randint(0, 59),
        rng.randint(0, 59),
        tzinfo=timezone.utc,
    )


def _plain_title(rng: random.Random) -> str:
    shapes = (
        "{Adj} {Noun} for {Task}",
        "Towards {Adj} {Task} with {Noun}",
        "On the {Noun} of {Adj} {Noun2}",
        "Learning {Adj} {Noun} from {Noun2}",
        "Rethinking {Noun} in {Task}",
        "{Adj} and {Adj2} {Noun} at Scale",
        "When Do {Noun} Help {Task}?",
        "A Study of {Adj} {Noun} for {Task}",
    )
    return rng.choice(shapes).format(
        Adj=rng.choice(ADJECTIVES).capitalize(),
        Adj2=rng.choice(ADJECTIVES).capitalize(),
        Noun=rng.choice(NOUNS).title(),
        Noun2=rng.choice(NOUNS).title(),
        Task=rng.choice(TASKS).title(),
    )


ABSTRACT_SENTENCES = (
    "Existing {noun} scale poorly with input size and require {adj} supervision.",
    "Our method replaces {noun} with a {adj} mechanism that is {n} times cheaper to train.",
    "On {task} it improves over strong baselines by {n}.{n} points while using fewer parameters.",
    "We further show that {adj} {noun} emerge without any explicit supervision signal.",
    "Ablations isolate the contribution of each component and of the training schedule.",
    "Code and pretrained models are publicly available to facilitate future research.",
    "A theoretical analysis shows convergence under mild {adj} assumptions on the data.",
    "Experiments span {n} datasets, {n} model sizes and several compute budgets.",
    "Despite their success, current approaches to {task} remain brittle under distribution shift.",
    "We identify {adj} {noun} as the main bottleneck and propose a simple remedy.",
    "The resulting model matches the state of the art on {task} at a fraction of the cost.",
    "Surprisingly, the gains persist when the {noun} are frozen after pretraining.",
    "We also release a benchmark of {n}k examples that targets {adj} generalization.",
    "Extensive experiments on {task} and {task} demonstrate the generality of the approach.",
    "Our analysis reveals a trade-off between {adj} capacity and sample efficiency.",
    "Finally, we discuss limitations and directions for {adj} {noun} in {task}.",
)


def _abstract(rng: random.Random, name: str | None) -> str:
    """About 130-220 words, like most arXiv abstracts."""
    opening = (
        f"We introduce {name}, a {rng.choice(ADJECTIVES)} approach to {rng.choice(TASKS)}."
        if name
        else f"We study {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} for {rng.choice(TASKS)}."
    )
    body = [_fill(s, rng) for s in rng.sample(ABSTRACT_SENTENCES, rng.randint(9, 14))]
    return " ".join([opening, *body])


def _paper(
    key: str, rng: random.Random, title: str, name: str | None, category: str | None
) -> Paper:
    published = _published(key, rng)
    version = rng.choices((1, 2, 3, 4, 5), weights=(45, 30, 15, 7, 3))[0]
    updated = published + timedelta(days=rng.randint(20, 400)) if version > 1 else published
    primary = category or rng.choices([c for c, _ in CATEGORIES], [w for _, w in CATEGORIES])[0]
    others = [c for c, _ in rng.sample(CATEGORIES, rng.randint(0, 3)) if c != primary]
    authors = tuple(
        f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        for _ in range(rng.choices((1, 2, 3, 4, 5, 6, 8, 12), (5, 12, 18, 20, 16, 12, 10, 7))[0])
    )
    return Paper(
        arxiv_id=key,
        version=version,
        title=title,
        authors=authors,
        summary=_abstract(rng, name),
        published=published,
        updated=updated,
        primary_category=primary,
        categories=(primary, *others),
        doi=f"10.1000/bench.{key.replace('/', '.')}" if rng.random() < 0.1 else None,
        journal_ref=f"Proc. Bench Conf. {published.year}, {rng.randint(1, 900)}"
        if rng.random() < 0.1
        else None,
        comment=rng.choice(COMMENTS) if rng.random() < 0.4 else None,
    )


def _make_papers(count: int, rng: random.Random, taken: set[str]) -> tuple[list[Paper], list[str]]:
    """`count` papers with unique keys; about a fifth carry a short name, a third of those in a
    series ("Zorvex", "Zorvex IO", "Zorvex V2"), so name and relation code has work to do."""
    papers: list[Paper] = []
    series: list[str] = []
    names_used: set[str] = set()
    pending_series: list[tuple[str, list[str]]] = []
    while len(papers) < count:
        old = rng.random() < OLD_STYLE_SHARE
        category = None
        if old:
            key, category, _ = _old_style_key(rng)
        else:
            key = _new_style_key(rng)
        if key in taken:
            continue
        taken.add(key)
        roll = rng.random()
        name: str | None = None
        if pending_series and roll < 0.08:
            stem, suffixes = pending_series[-1]
            name = stem + suffixes.pop()
            if not suffixes:
                pending_series.pop()
            title = f"{name}: {_plain_title(rng)}"
        elif roll < 0.20:
            name = _coined_word(rng)
            if name in names_used:
                name = None
                title = _plain_title(rng)
            else:
                names_used.add(name)
                if rng.random() < 0.35:
                    series.append(name)
                    pending_series.append((name, rng.sample(SERIES_SUFFIXES, rng.randint(1, 3))))
                title = (
                    f"{name}: {_plain_title(rng)}"
                    if rng.random() < 0.7
                    else f"{name} Technical Report"
                )
        elif roll < 0.26:
            words = [
                rng.choice(ADJECTIVES).capitalize(),
                *(w.title() for w in rng.sample(NOUNS, 2)),
            ]
            acronym = "".join(w[0] for w in words).upper() + rng.choice(("", "", "-2", "v2"))
            title = f"{' '.join(words)} ({acronym}): {_plain_title(rng)}"
            name = acronym
        else:
            title = _plain_title(rng)
        papers.append(_paper(key, rng, title, name, category))
    return papers, series


# -- the corpus -------------------------------------------------------------------------------


def _folders(count: int, rng: random.Random) -> list[str]:
    folders = {""}
    for top in TOP_FOLDERS:
        folders.add(top)
    while len(folders) < count:
        depth = rng.choices((1, 2, 3, 4), weights=(2, 4, 3, 1))[0]
        parts = [rng.choice(TOP_FOLDERS), *rng.sample(SUB_FOLDERS, depth - 1)]
        folders.add("/".join(parts))
    return sorted(folders)


def _note_stem(rng: random.Random, index: int) -> str:
    day = datetime(2019, 1, 1) + timedelta(days=rng.randint(0, 6 * 365))
    shapes = (
        f"{day:%Y-%m-%d}",
        f"{day:%Y-%m} reading log",
        f"{day:%G}-W{day:%V}",
        f"{_coined_word(rng)} notes",
        f"Meeting {day:%Y-%m-%d}",
        f"{rng.choice(('비전', '언어모델', '강화학습', '최적화'))} 정리",
        f"1-1 with {rng.choice(FIRST_NAMES)} {day:%Y-%m-%d}",
        f"{rng.choice(ADJECTIVES).capitalize()} {rng.choice(NOUNS)} ideas",
        f"{day:%Y-%m-%d}-{rng.choice(NOUNS).replace(' ', '-')}",
        f"논문 메모 {index}",
    )
    return rng.choice(shapes)


def make_corpus(notes: int, seed: int = DEFAULT_SEED, spare: int = SPARE_PAPERS) -> Corpus:
    """Everything about a vault of `notes` notes except the note text itself."""
    rng = random.Random(f"corpus:{seed}:{notes}")
    distinct = max(1, notes // 2)
    taken: set[str] = set()
    cited_papers, series = _make_papers(distinct, rng, taken)
    spare_papers, _ = _make_papers(spare, rng, taken)
    decoys, _ = _make_papers(max(1, notes // 50), rng, taken)
    unknown_count = round(distinct * UNKNOWN_SHARE)
    # From the end of the list: the first ids are the popular ones, cited everywhere.
    unknown = frozenset(p.arxiv_id for p in cited_papers[len(cited_papers) - unknown_count :])
    keys = [p.arxiv_id for p in cited_papers]

    citing = sorted(rng.sample(range(notes), max(1, notes // 3)))
    counts = [rng.choices((1, 2, 3, 4, 5, 6), weights=(24, 24, 18, 14, 10, 10))[0] for _ in citing]
    slots = sum(counts)
    if slots < distinct:  # every distinct id must be cited at least once
        raise ValueError(f"{notes} notes give {slots} citation slots for {distinct} ids")
    # Every id once, then the rest skewed towards a popular few (the papers everybody cites).
    order = keys[:]
    rng.shuffle(order)
    popular = keys[: max(1, distinct // 20)]
    fill = order + [
        rng.choice(popular) if rng.random() < 0.4 else rng.choice(keys)
        for _ in range(slots - distinct)
    ]
    head, tail = fill[:distinct], fill[distinct:]
    rng.shuffle(tail)
    fill = head + tail
    rng.shuffle(fill)

    folders = _folders(max(12, notes // 30), rng)
    stems: set[str] = set()
    paths: list[str] = []
    for index in range(notes):
        stem = _note_stem(rng, index)
        if stem.casefold() in stems:
            stem = f"{stem} {index}"
        stems.add(stem.casefold())
        folder = rng.choice(folders)
        paths.append(f"{folder}/{stem}.md" if folder else f"{stem}.md")

    plans: list[NotePlan] = []
    position = 0
    citing_counts = dict(zip(citing, counts, strict=True))
    decoy_keys = [p.arxiv_id for p in decoys]
    for index, path in enumerate(paths):
        count = citing_counts.get(index, 0)
        citations = tuple(fill[position : position + count])
        position += count
        plans.append(
            NotePlan(
                path=path,
                citations=citations,
                malformed=bool(count) and rng.random() < MALFORMED_SHARE,
                code_decoy=rng.choice(decoy_keys) if rng.random() < 0.05 else None,
            )
        )
    known = {p.arxiv_id: p for p in cited_papers if p.arxiv_id not in unknown}
    return Corpus(
        seed=seed,
        notes=tuple(plans),
        papers=known,
        unknown=unknown,
        spare=tuple(spare_papers),
        series_names=tuple(series),
        by_title=frozenset(key for key in popular if key in known),
    )


# -- note text --------------------------------------------------------------------------------


def _old_style_forms(key: str, paper: Paper | None) -> str:
    """Old ids as people write them, sometimes with the subject class."""
    archive, number = key.split("/")
    if paper is not None and "." in paper.primary_category and archive in ("math", "cs"):
        return f"{paper.primary_category}/{number}"
    return key


def reference_text(key: str, paper: Paper | None, rng: random.Random, korean: bool) -> str:
    """One reference to `key` in a form real notes use."""
    version = paper.version if paper else 1
    vn = f"v{rng.randint(1, version)}"
    if "/" in key:
        shown = _old_style_forms(key, paper)
        return rng.choice(
            (
                shown,
                f"arXiv:{shown}",
                f"https://arxiv.org/abs/{shown}",
                f"https://arxiv.org/abs/{key}{vn}",
            )
        )
    label = _label(paper, key)
    forms = (
        (f"https://arxiv.org/abs/{key}", 30),
        (f"https://arxiv.org/abs/{key}{vn}", 10),
        (f"https://arxiv.org/pdf/{key}", 8),
        (f"https://arxiv.org/pdf/{key}{vn}", 8),
        (f"https://arxiv.org/abs/{key}.pdf", 4),
        (f"https://arxiv.org/pdf/{key}{vn}.pdf", 3),
        (f"arXiv:{key}", 10),
        (f"arXiv:{key}{vn} [{paper.primary_category if paper else 'cs.LG'}] 17 Aug 2021", 3),
        (f"[{label}](https://arxiv.org/abs/{key})", 12),
        (f"<https://arxiv.org/abs/{key}>", 3),
        (
            f"(https://arxiv.org/abs/{key}){rng.choice(('가', '에서', '는', '를', '의'))}",
            6 if korean else 1,
        ),
        (f"https://www.arxiv.org/abs/{key}?context=cs", 2),
        (f"https://doi.org/10.48550/arXiv.{key}", 1),
        (f"https://arxiv.org/html/{key}{vn}", 1),
    )
    return rng.choices([f for f, _ in forms], weights=[w for _, w in forms])[0]


def _label(paper: Paper | None, key: str) -> str:
    if paper is None:
        return key
    head = paper.title.split(":")[0]
    return head if len(head) < 40 else paper.title[:37] + "..."


def _yaml_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class _NoteWriter:
    """Builds one note's text from its own seeded generator."""

    def __init__(self, corpus: Corpus, plan: NotePlan, index: int, others: list[str]) -> None:
        self.corpus = corpus
        self.plan = plan
        self.rng = random.Random(f"note:{corpus.seed}:{index}")
        self.others = others
        self.language = self.rng.choices(("en", "ko", "mixed"), weights=(60, 25, 15))[0]

    def korean_now(self) -> bool:
        if self.language == "mixed":
            return self.rng.random() < 0.5
        return self.language == "ko"

    def sentence(self) -> str:
        if self.korean_now():
            return _fill(self.rng.choice(KO_SENTENCES), self.rng, KO_TASKS)
        return _fill(self.rng.choice(EN_SENTENCES), self.rng)

    def wikilink(self) -> str:
        target = self.rng.choice(self.others)
        roll = self.rng.random()
        if roll < 0.6:
            return f"[[{target}]]"
        if roll < 0.85:
            return f"[[{target}|{self.rng.choice(('see', 'this', '이전 메모', 'earlier notes'))}]]"
        return f"[[{target}#{self.rng.choice(EN_HEADINGS)}]]"

    def tag(self) -> str:
        return "#" + self.rng.choice(TAGS)

    def paragraph(self) -> str:
        parts = [self.sentence() for _ in range(self.rng.randint(2, 6))]
        if self.rng.random() < 0.3:
            parts.insert(self.rng.randint(0, len(parts)), f"See {self.wikilink()}.")
        if self.rng.random() < 0.15:
            parts.append(self.tag())
        return " ".join(parts)

    def bullet_list(self) -> str:
        numbered = self.rng.random() < 0.3
        items = []
        for i in range(self.rng.randint(3, 6)):
            marker = f"{i + 1}." if numbered else "-"
            items.append(f"{marker} {self.sentence()}")
        if self.rng.random() < 0.2:
            items.append(f"- related: {self.wikilink()}")
        return "\n".join(items)

    def table(self) -> str:
        rows = ["| paper | status | note |", "|---|---|---|"]
        for _ in range(self.rng.randint(2, 5)):
            rows.append(
                f"| {_plain_title(self.rng)} | {self.rng.choice(('read', 'skimmed', 'todo'))} "
                f"| {self.rng.choice(('★', '★★', '★★★', '-'))} |"
            )
        return "\n".join(rows)

    def code(self) -> str:
        if self.plan.code_decoy and self.rng.random() < 0.3:
            return f"Download with `curl -LO https://arxiv.org/abs/{self.plan.code_decoy}` later."
        lines = [
            "```" + self.rng.choice(("python", "bash", "")),
            "for step in range(num_steps):",
            "    loss = model(batch).mean()  # " + self.rng.choice(NOUNS),
        ]
        if self.plan.code_decoy:
            lines.append(f"curl -L -o paper.pdf https://arxiv.org/pdf/{self.plan.code_decoy}v1")
        lines.append("```")
        return "\n".join(lines)

    def quote(self) -> str:
        return "> " + self.sentence()

    def heading(self) -> str:
        return "## " + self.rng.choice(KO_HEADINGS if self.korean_now() else EN_HEADINGS)

    def front_matter(self, stem: str) -> str:
        rng = self.rng
        day = datetime(2019, 1, 1) + timedelta(days=rng.randint(0, 6 * 365))
        tags = rng.sample(TAGS, rng.randint(1, 4))
        lines = ["---", f"title: {_yaml_text(stem)}"]
        lines.append(f"{rng.choice(('date', 'created'))}: {day:%Y-%m-%d}")
        if rng.random() < 0.5:
            lines.append(f"tags: [{', '.join(tags)}]")
        else:
            lines += ["tags:", *(f"  - {t}" for t in tags)]
        if rng.random() < 0.1:
            lines.append(f"aliases: [{_yaml_text(stem + ' (old)')}]")
        lines.append("---")
        return "\n".join(lines)

    def citation_line(self, key: str) -> str:
        korean = self.korean_now()
        ref = reference_text(key, self.corpus.papers.get(key), self.rng, korean)
        if korean:
            shapes = (
                "오늘 {ref} 읽었다.",
                "{ref} 참고.",
                "논문: {ref}",
                "- {ref} 다시 볼 것",
                "관련: {ref}",
            )
        else:
            shapes = (
                "Read {ref} today.",
                "Finally went through {ref}; the ablations are the interesting part.",
                "The baseline comes from {ref}, see section 4.",
                "- {ref}",
                "Related: {ref}",
                "Link as it was pasted in Slack: {ref}",
            )
        return self.rng.choice(shapes).format(ref=ref)

    def title_line(self, paper: Paper) -> str:
        """A citation by title alone, in the shapes review lists and reading logs use."""
        title, year = paper.title, paper.published.year
        return self.rng.choice(
            (f"- {title} ({year})", f"{title}({year})", f'Read "{title}" today.', f"- {title}")
        )

    def text(self) -> str:
        rng = self.rng
        stem = self.plan.path.rsplit("/", 1)[-1].removesuffix(".md")
        blocks: list[str] = []
        if rng.random() < 0.85:
            blocks.append(self.front_matter(stem))
        blocks.append(f"# {stem}")
        target = rng.randint(MIN_NOTE_BYTES, BODY_TARGET_MAX)
        size = sum(len(b.encode("utf-8")) + 2 for b in blocks)
        makers = (
            (self.paragraph, 40),
            (self.bullet_list, 18),
            (self.heading, 12),
            (self.table, 5),
            (self.code, 6),
            (self.quote, 4),
        )
        prose: list[int] = []
        while size < target:
            make = rng.choices([m for m, _ in makers], weights=[w for _, w in makers])[0]
            block = make()
            if make in (self.paragraph, self.bullet_list):
                prose.append(len(blocks))
            blocks.append(block)
            size += len(block.encode("utf-8")) + 2
        if self.plan.code_decoy and not any(self.plan.code_decoy in b for b in blocks):
            blocks.append(self.code())
        if rng.random() < 0.3:
            blocks.append(" ".join(self.tag() for _ in range(rng.randint(1, 3))))
        for key in self.plan.citations:
            if rng.random() < 0.08:
                ref = reference_text(key, self.corpus.papers.get(key), rng, self.korean_now())
                row = f"| {_label(self.corpus.papers.get(key), key)} | {ref} | ★★ |"
                blocks.append("| paper | link | rating |\n|---|---|---|\n" + row)
                continue
            where = rng.choice(prose) if prose else len(blocks) - 1
            if key in self.corpus.by_title and rng.random() < TITLE_SHARE:
                blocks[where] += "\n" + self.title_line(self.corpus.papers[key])
                continue
            blocks[where] += "\n" + self.citation_line(key)
        if self.plan.malformed:
            blocks.append(
                "Broken link from the old wiki: "
                f"https://arxiv.org/abs/2006.{rng.randint(100000, 999999)}"
            )
        return "\n\n".join(blocks) + "\n"


def note_text(corpus: Corpus, index: int, stems: list[str]) -> str:
    others = stems[max(0, index - 200) : index] + stems[index + 1 : index + 200]
    return _NoteWriter(corpus, corpus.notes[index], index, others or stems).text()


def write_vault(corpus: Corpus, root: Path) -> int:
    """Write every note under `root` (which must not exist yet); returns the bytes written."""
    root.mkdir(parents=True)
    stems = [n.path.rsplit("/", 1)[-1].removesuffix(".md") for n in corpus.notes]
    total = 0
    made: set[Path] = set()
    for index, plan in enumerate(corpus.notes):
        path = root / plan.path
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        data = note_text(corpus, index, stems).encode("utf-8")
        path.write_bytes(data)
        total += len(data)
    obsidian = root / ".obsidian"
    obsidian.mkdir()
    (obsidian / "app.json").write_text('{"alwaysUpdateLinks": true}\n', encoding="utf-8")
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="folder to create the vault in (must not exist)")
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.dest.exists():
        parser.error(f"{args.dest} exists; the generator only writes fresh vaults")
    started = time.perf_counter()
    corpus = make_corpus(args.notes, args.seed)
    total = write_vault(corpus, args.dest)
    print(
        f"{len(corpus.notes)} notes ({total / 1e6:.1f} MB), {corpus.citing_notes} citing, "
        f"{len(corpus.cited_keys)} distinct ids ({len(corpus.unknown)} unknown to arXiv) "
        f"in {time.perf_counter() - started:.1f} s -> {os.fspath(args.dest)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
