"""Short names of papers and the series they form ("Perceiver", "Perceiver IO", "Perceiver AR").

A name is read from the title only, in this order:

1. a coined word in parentheses: "Big Transfer (BiT): ..." -> BiT;
2. the part before ":" when it is a short run of capitalised or coined words:
   "Swin Transformer V2: Scaling Up ..." -> Swin Transformer V2;
3. what precedes "Technical Report": "GPT-4 Technical Report" -> GPT-4;
4. a short capitalised run that ends the title and holds a coined word:
   "... autoregressive modeling with Perceiver AR" -> Perceiver AR;
5. a title that is nothing but such a run: "Mistral 7B".

A name must hold a distinctive word: one that is not an ordinary word ("Attention", "Learning")
or a ubiquitous acronym ("MLP", "COVID-19"). Most titles have no name, and that is the intent:
every name found here can link papers, so a wrong name costs more than a missing one.

A series is a distinctive stem shared by papers whose names are the stem plus a version-like
suffix (IO, AR, V2, -3, 2.0, ++ ...): RepMLP and RepVGG share only a prefix, so no series.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, overload

from vaultpapers.arxiv.papers import Paper
from vaultpapers.relations.authors import authors_unknown, shared_authors


class Token(NamedTuple):
    """A run of letters/digits ("GPT", "3.5", "UNet++") and how it touches the token before it.

    A named tuple rather than a dataclass: a library's abstracts make a million of these.
    """

    text: str
    joined: bool  # glued to the previous token by a hyphen: the "3" of "GPT-3"
    spaced: bool  # separated from the previous token by whitespace only
    starts_sentence: bool


# A token and the gap before it. The gap decides whether "GPT-3" or "Perceiver IO" hang together.
_GAP_AND_TOKEN = re.compile(r"([\W_]*?)([^\W_]+(?:\.\d+)*\+*)")
_SENTENCE_END = re.compile(r"[.!?:;]")


class Tokens(Sequence[Token]):
    """The tokens of a text, each made only when asked for: a reader that looks at the words
    first (`words`) and at few tokens in full pays for the words alone."""

    __slots__ = ("_pairs", "words")

    def __init__(self, text: str) -> None:
        self._pairs: list[tuple[str, str]] = _GAP_AND_TOKEN.findall(text)  # (gap before, word)
        self.words: list[str] = [word for _, word in self._pairs]  # each token's text

    def __len__(self) -> int:
        return len(self.words)

    @overload
    def __getitem__(self, at: int) -> Token: ...
    @overload
    def __getitem__(self, at: slice) -> list[Token]: ...
    def __getitem__(self, at: int | slice) -> Token | list[Token]:
        if isinstance(at, slice):
            return [self[i] for i in range(*at.indices(len(self)))]
        if at < 0:
            at += len(self.words)
        return _token(at, *self._pairs[at])

    def __iter__(self) -> Iterator[Token]:
        return (_token(at, gap, word) for at, (gap, word) in enumerate(self._pairs))

    def is_size(self, at: int) -> bool:
        """Whether a model size starts at token `at`: "7B", "Large", or "0.8" glued to "B"
        (a decimal ends a token)."""
        word = self.words[at]
        if is_size_suffix(word):
            return True
        return (
            at + 1 < len(self.words)
            and word.replace(".", "", 1).isdigit()
            and not self._pairs[at + 1][0]
            and is_size_suffix("1" + self.words[at + 1])
        )

    def loose_words(self) -> Iterator[str]:
        """The words that neither start a sentence nor hang on the word before by a hyphen:
        those whose capital letter, if any, is the writer's choice."""
        # The first word starts a sentence.
        for gap, word in self._pairs[1:]:
            if gap == " " or (gap != "-" and _SENTENCE_END.search(gap) is None):
                yield word


def _token(at: int, gap: str, word: str) -> Token:
    if not at:
        return Token(word, joined=False, spaced=False, starts_sentence=True)
    if gap == " ":
        return Token(word, joined=False, spaced=True, starts_sentence=False)
    ends = _SENTENCE_END.search(gap) is not None
    return Token(word, joined=gap == "-", spaced=gap.isspace(), starts_sentence=ends)


def normalized(name: str) -> str:
    """The form names are compared in: tokens glued together, case kept.

    "Perceiver IO", "Perceiver-IO" and "PerceiverIO" are one name; "LoRa" and "LoRA" are not.
    """
    return "".join(Tokens(name).words)


# --- words -------------------------------------------------------------------------------------

_VERSION = (
    r"[vV]?\d+(?:\.\d+)*|\d+(?:\.\d+)?[BMK]|\+\+"
    r"|IO|AR|XL|XXL|II|III|IV|Large|Base|Small|Tiny|Huge|Mini|Lite|Plus|Pro|Max|Turbo|Ultra"
)
_VERSION_WORD = re.compile(_VERSION)
# Sizes name the same paper's models ("BERT Large"), not a sibling paper.
_SIZE_WORD = re.compile(r"\d+(?:\.\d+)?[BMKbmk]|Large|Base|Small|Tiny|Huge|Mini")
_HYPHEN_VERSION = re.compile(rf"(?P<stem>.+?)-(?P<suffix>{_VERSION})")
_V_VERSION = re.compile(r"(?P<stem>.*[^\W\d_]{2})(?P<suffix>[vV]\d+(?:\.\d+)*)")
_PLUS_VERSION = re.compile(r"(?P<stem>.*[^\W\d_]{2})(?P<suffix>\+\+)")
_DIGIT_VERSION = re.compile(r"(?P<stem>.*[^\W\d_]{3})(?P<suffix>\d+)")

_CAMEL = re.compile(r"[a-z][A-Z]")
_CAPS_RUN = re.compile(r"[A-Z]{2,}")
_SINGLE_CAPITAL_PART = re.compile(r"(?:^|-)[A-Z](?:-|$)")
_EDGE_PUNCTUATION = "\"'“”‘’.,;!?()[]"


def is_version_suffix(word: str) -> bool:
    return _VERSION_WORD.fullmatch(word) is not None


def is_size_suffix(word: str) -> bool:
    return _SIZE_WORD.fullmatch(word) is not None


def _letters(word: str) -> int:
    return sum(char.isalpha() for char in word)


def is_coined(word: str) -> bool:
    """Shaped like no dictionary word: digits, inner capitals, CAPS, a lone capital part (U-Net)."""
    return (
        (_letters(word) > 0 and any(char.isdigit() for char in word))
        or _CAMEL.search(word) is not None
        or _CAPS_RUN.search(word) is not None
        or _SINGLE_CAPITAL_PART.search(word) is not None
    )


def _is_ordinary(word: str) -> bool:
    lower = word.casefold()
    forms = {lower}
    if lower.endswith("s"):
        forms.add(lower[:-1])
    if lower.endswith("es"):
        forms.add(lower[:-2])
    if lower.endswith("ies"):
        forms.add(lower[:-3] + "y")
    return any(form in COMMON_WORDS or form in GENERIC_NAMES for form in forms)


def _is_distinctive_word(word: str) -> bool:
    if is_version_suffix(word) or _letters(word) < 2 or _is_ordinary(word):
        return False
    parts = [part for part in word.split("-") if part]
    if is_coined(word):
        # "MLP-Mixer" and "Transformer-XL" are names; "R-CNN", "3D-CNN" and "LLM-as-a-Judge"
        # (a generic acronym and ordinary words) are not.
        versioned = any(is_version_suffix(part) for part in parts)
        return any(
            not is_version_suffix(part)
            and _letters(part) >= 2
            and part.casefold() not in GENERIC_NAMES
            and part.casefold() not in _FUNCTION_WORDS
            and (versioned or is_coined(part) or not _is_ordinary(part))
            for part in parts
        )
    return word[:1].isupper() and any(len(part) >= 4 and not _is_ordinary(part) for part in parts)


_FUNCTION_WORDS = frozenset({"a", "an", "as", "of", "the", "for", "in", "on", "to", "and", "with"})


def _is_name_word(word: str) -> bool:
    return word[:1].isupper() or is_coined(word) or is_version_suffix(word)


def is_distinctive(name: str) -> bool:
    """True when some word of the name could only mean this name ("Swin" in "Swin Transformer")."""
    return any(_is_distinctive_word(word) for word in name.split())


def is_plain(name: str) -> bool:
    """True for names made of ordinary-looking capitalised words: "Perceiver", "Swin Transformer".

    Such a name only counts as mentioned where its capitals stand out (see relations.py).
    """
    return not any(is_coined(word) or is_version_suffix(word) for word in name.split())


# --- names -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NameFinding:
    """The short name a title gives its paper, or None, and a sentence saying why."""

    name: str | None
    reason: str


_PARENTHESISED = re.compile(r"\(([^()\s]+)\)")
_REPORT = re.compile(r"(?P<name>.+?)\s+(?:Technical Report|Model Card|System Card)", re.IGNORECASE)
_MAX_NAME_WORDS = 4
_MAX_TAIL_WORDS = 3
_ARTICLES = {"The", "A", "An"}


def _words(text: str) -> list[str]:
    words = (word.strip(_EDGE_PUNCTUATION) for word in text.split())
    return [word for word in words if word]


def _as_name(words: list[str], max_words: int = _MAX_NAME_WORDS) -> tuple[str | None, str]:
    """The name these words form, or None and what is wrong with them."""
    if len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    phrase = " ".join(words)
    if not words or len(words) > max_words:
        return None, f'("{phrase}") is too long for a name'
    if not all(_is_name_word(word) for word in words) or is_version_suffix(words[0]):
        return None, f'("{phrase}") reads as a phrase, not a name'
    if not is_distinctive(phrase):
        return None, f'("{phrase}") is made of ordinary or generic words'
    return phrase, ""


@functools.lru_cache(maxsize=1 << 16)  # labels, series and relations all ask for each title
def find_name(title: str) -> NameFinding:
    title = " ".join(title.split())
    head, colon, _ = title.partition(":")
    head_problem = ""

    for inner in _PARENTHESISED.findall(title):
        word = inner.strip(_EDGE_PUNCTUATION)
        if is_coined(word) and _is_distinctive_word(word):
            return NameFinding(word, "in parentheses in the title")

    if colon and "," in head:
        head_problem = f'("{head}") is a list, not a name'
    elif colon:
        name, head_problem = _as_name(_words(_PARENTHESISED.sub(" ", head)))
        if name:
            return NameFinding(name, 'the part of the title before ":"')

    report = _REPORT.fullmatch(title)
    if report:
        name, _ = _as_name(_words(report["name"]))
        if name:
            return NameFinding(name, 'the title is "<name> Technical Report"')

    words = _words(title)
    tail: list[str] = []
    for word in reversed(words):
        if not _is_name_word(word):
            break
        tail.insert(0, word)
    whole = len(tail) == len(words)
    if tail and (any(is_coined(word) for word in tail) or whole):
        # A short title of capitalised words that is nothing else is a name: "Video Swin
        # Transformer"; at the end of a longer title such words are mostly the field's.
        name, _ = _as_name(tail, _MAX_TAIL_WORDS)
        if name:
            return NameFinding(name, "the whole title" if whole else "the end of the title")

    if head_problem:
        return NameFinding(None, f'no name: the part before ":" {head_problem}')
    return NameFinding(None, "no name: no distinctive coined word in the title")


def short_name(paper: Paper) -> str | None:
    return find_name(paper.title).name


def _split_version(name: str) -> tuple[str, str]:
    """("Perceiver", "IO") for "Perceiver IO"; (name, "") when it carries no version."""
    words = name.split()
    if len(words) > 1 and is_version_suffix(words[-1]):
        return " ".join(words[:-1]), words[-1]
    last = words[-1]
    for pattern in (_HYPHEN_VERSION, _V_VERSION, _PLUS_VERSION, _DIGIT_VERSION):
        match = pattern.fullmatch(last)
        if not match or _letters(match["stem"]) < 2:
            continue
        return " ".join([*words[:-1], match["stem"]]), match["suffix"]
    return name, ""


@functools.lru_cache(maxsize=1 << 16)  # asked for each name, again for each series member
def series_stem(name: str) -> str:
    """The name without its version-like suffixes: 'GPT-3.5 Turbo' -> 'GPT', 'BERT' -> 'BERT'."""
    while True:
        stem, suffix = _split_version(name)
        if not suffix:
            return name
        name = stem


@functools.lru_cache(maxsize=1 << 16)
def _series_key(name: str) -> str:
    # "LLaMA" and "Llama 2", "MobileNets" and "MobileNetV2" belong together.
    key = re.sub(r"[\s-]", "", name.casefold())
    if len(key) > 4 and key.endswith("s") and not key.endswith("ss"):
        key = key[:-1]
    return key


# --- series ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """A member named after another member's name with a modifier: "Scaled-YOLOv4" is
    "YOLOv4" (paper ``of``) with "Scaled", "Qwen3-VL" is "Qwen3" with "VL"."""

    key: str
    of: str
    name: str
    base: str
    modifier: str


@dataclass(frozen=True)
class Series:
    """Papers that share a stem. ``members`` are arXiv keys, oldest first; ``names`` and
    ``evidence`` run parallel to them."""

    name: str
    members: tuple[str, ...]
    names: tuple[str, ...]
    evidence: tuple[str, ...]
    variants: tuple[Variant, ...] = ()


class _Named(NamedTuple):
    paper: Paper
    name: str
    reason: str
    variant: Variant | None = None


def _named_papers(papers: Iterable[Paper], names: Mapping[str, NameFinding] | None) -> list[_Named]:
    unique = {paper.arxiv_id: paper for paper in papers}.values()
    findings = (
        (paper, names[paper.arxiv_id] if names else find_name(paper.title)) for paper in unique
    )
    return [_Named(paper, found.name, found.reason) for paper, found in findings if found.name]


def detect_series(
    papers: Iterable[Paper], names: Mapping[str, NameFinding] | None = None
) -> list[Series]:
    """Every series of two or more papers, ordered by series name. `names` (by arXiv key, as
    `find_name` gives them) spares finding each paper's name again.

    A shared stem is not enough where the name could be borrowed: a member named only in
    parentheses or at the end of its title ("... Calf Body Weight ... (YOLOv8)"), or named by
    the bare stem without a version (a survey titled "DeepSeek: ..."), belongs to the series
    only if it shares an author with another member. Named variants of a member's name
    ("Scaled-YOLOv4", "Video Swin Transformer", "Qwen3-VL") join that member's series when
    they share an author with it.
    """
    named_papers = _named_papers(papers, names)
    groups: dict[str, list[_Named]] = defaultdict(list)
    for named in named_papers:
        groups[_series_key(series_stem(named.name))].append(named)
    variants = _variants(named_papers, groups)
    for variant, key in variants:
        groups[key].append(variant)

    found: list[Series] = []
    for key, group in groups.items():
        group = _with_evidence(group, key)
        group.sort(key=lambda named: (named.paper.published, named.paper.arxiv_id))
        distinct_names = {_series_key(named.name) for named in group}
        if len(distinct_names) < 2 or not is_distinctive(series_stem(group[0].name)):
            continue
        # Called after its first paper without a version ("Perceiver"), else the stem ("YOLO").
        bases = [named.name for named in group if _series_key(named.name) == key]
        found.append(
            Series(
                name=bases[0] if bases else series_stem(group[0].name),
                members=tuple(named.paper.arxiv_id for named in group),
                names=tuple(named.name for named in group),
                evidence=tuple(_member_evidence(named) for named in group),
                variants=tuple(named.variant for named in group if named.variant),
            )
        )
    return sorted(found, key=lambda series: (series.name.casefold(), series.members))


_WEAK_REASONS = frozenset({"in parentheses in the title", "the end of the title"})


def _with_evidence(group: list[_Named], key: str) -> list[_Named]:
    """The members whose name is evidence enough, and those sharing an author with another."""

    def vouched(named: _Named) -> bool:
        if named.variant is not None:
            return True  # checked when it was found
        borrowable = named.reason in _WEAK_REASONS or _series_key(named.name) == key
        return not borrowable or any(
            other is not named and _related_by_authors(named.paper, other.paper) for other in group
        )

    return [named for named in group if vouched(named)]


def _related_by_authors(one: Paper, other: Paper) -> bool:
    # Unknown authors: the name decides, as it always did.
    return authors_unknown(one, other) or bool(shared_authors(one, other))


def _variants(
    named_papers: list[_Named], groups: dict[str, list[_Named]]
) -> list[tuple[_Named, str]]:
    """(variant, the series key it joins) for each paper named after another's name with a
    modifier, sharing an author with it."""
    by_name: dict[str, list[_Named]] = defaultdict(list)
    for named in named_papers:
        by_name[_series_key(named.name)].append(named)
    found = []
    for named in named_papers:
        if len(groups[_series_key(series_stem(named.name))]) > 1:
            continue  # already in a series of its own stem
        for modifier, base in _modified(named.name):
            holders = by_name.get(_series_key(base), [])
            if len(holders) != 1 or holders[0].paper.arxiv_id == named.paper.arxiv_id:
                continue
            of = holders[0]
            if of.reason in _WEAK_REASONS or not _related_by_authors(named.paper, of.paper):
                continue
            variant = Variant(
                named.paper.arxiv_id, of.paper.arxiv_id, named.name, of.name, modifier
            )
            found.append((named._replace(variant=variant), _series_key(series_stem(of.name))))
            break
    return found


def _modified(name: str) -> Iterator[tuple[str, str]]:
    """(modifier, base) readings of a name: "Scaled-YOLOv4" -> ("Scaled", "YOLOv4"),
    "Video Swin Transformer" -> ("Video", "Swin Transformer"), "Qwen3-VL" -> ("VL", "Qwen3")."""
    words = name.split()
    if len(words) > 1:
        yield words[0], " ".join(words[1:])
    head, dash, tail = name.partition("-")
    if dash and head and tail:
        yield head, tail
    head, dash, tail = name.rpartition("-")
    if dash and head and tail and not is_version_suffix(tail):
        yield tail, head


def _member_evidence(named: _Named) -> str:
    if named.variant is not None:
        v = named.variant
        return (
            f'{named.paper.arxiv_id} is named "{named.name}" ({named.reason}) = "{v.base}" '
            f"({v.of}) with {v.modifier!r}"
        )
    stem = series_stem(named.name)
    version = named.name[len(stem) :].strip(" -")
    shape = f" = {stem} + {version}" if version else ""
    return f'{named.paper.arxiv_id} is named "{named.name}" ({named.reason}){shape}'


# --- word lists --------------------------------------------------------------------------------


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Lower case; plurals are derived. A capitalised word found here never makes a name by itself.
COMMON_WORDS = _word_set(
    """
    a about above across after again against all almost along also always among an analysis and
    another any anything are around as at away back be because been before being below beyond
    big both but by can case cases could do does doing done down during each early either else
    end ends enough even ever every everything few first for from further get give go going good
    great had has have here high how however if in into is it its just keep kind large last late
    least less let like little long look looking low made make making many may more most much
    must my near need needs never new next no none nor not nothing now of off old on once one
    only or other our out over own part per perhaps put rather real really right same second see
    seeing should show since so some something still such take than that the their them then
    there these they thing things third this those three through thus time to too toward towards
    two under until up upon us use used using very via was way ways we well were what when where
    whether which while who why will with within without work works would yet you your zero
    ability accurate acoustic action active adaptive adaptation addressing advanced age agent
    algorithm algorithmic alignment all-in-one analog analytic answer application applied
    approach approximate approximation arbitrary architecture art artificial aspect assessment
    asymptotic attack attention attentive augmentation augmented automatic autonomous
    autoregressive average backbone balance bandit base based baseline basic batch behavior
    behaviour benchmark best better bias bidirectional binary biomedical block body boosting
    bottleneck bound boundary brain bridge build building calibration capacity capsule
    capture carbon cascade causal cell cellular center centre chain challenge change channel
    chat class classical classification classifier clean clinical closer cluster clustering
    code coding cognition cognitive coherent collaborative collective combinatorial common
    communication community comparison complete complex complexity component compositional
    compression computation computational compute computer computing concept condition
    conditional connected consistency consistent constant constrained context continual
    continuous contrastive control convergence convex convolution convolutional core
    correlation cost counterfactual coupled critical cross current curriculum cycle data
    dataset decision decoder decoding deep deeper deeply defense definition dense density
    dependent depth design detection detector deterministic development differentiable
    differential diffusion dimension dimensional direct discovery discrete discriminative
    disentangled distance distillation distributed distribution diverse domain driven dropout
    dual dynamic dynamical dynamics easy edge effect effective efficiency efficient elastic
    electric electronic embedding emergence emergent empirical encoder encoding end-to-end
    energy engine enhanced ensemble entropy environment equation equilibrium equivariant error
    estimate estimation estimator evaluation event evidence evolution evolutionary exact
    example expert explainable explanation exploration exponential expression extended
    extraction extreme fact factor fair fairness fast faster feature federated feedback field
    filter fine fine-grained fine-tuning finetuning fixed flexible flow focus forecasting
    forest form formal formula foundation framework free frequency full fully function
    functional fundamental fusion future gain game gap gated gating gaussian general
    generalization generalized generation generative generic geometric geometry global
    gradient grammar graph graphical grid ground group growth guided hard head hidden
    hierarchical hierarchy high-dimensional high-resolution human hybrid hyperbolic hypothesis
    identification identity image imaging imitation impact implicit improved improving
    incremental independent index induction inference infinite information input instance
    instruction integer integrated integration intelligence intelligent interaction
    interactive interface internal interpretability interpretable invariant inverse iterative
    joint kernel key knowledge label labeling labelling language latent law layer layout
    learned learner learning length level library light lightweight likelihood limit linear
    link local localization logic logical loss machine manifold map mapping margin markov
    mask masked matching material mathematical matrix maximum mean measure measurement
    mechanism medical memory meta method metric minimal minimum mining mixed mixture mobile
    modal modality mode model modeling modelling modular module molecular monte multi
    multi-agent multi-modal multi-scale multi-task multilingual multimodal multiple multiscale
    multitask mutual natural nearest net network networked neural neuron node noise noisy
    non-linear nonlinear nonparametric norm normal normalization normalizing novel number
    numerical object objective observation offline online open operator optical optimal
    optimization optimizer order ordinary oriented output overview pairwise parallel
    parameter parametric partial particle path pattern perception perceptron performance
    permutation perspective physical physics pipeline planning point pointwise policy pool
    pooling population position positional posterior power practical pre-trained pre-training
    precision prediction predictive preference pretrained pretraining primal principle prior
    privacy probabilistic probability problem procedure process processing product program
    programming progress projection prompt prompting proof property proximal pruning quality
    quantitative quantization quantum query question random randomized rank ranking rate
    reader real-time reasoning recognition recommendation reconstruction recurrent recursive
    reduction regression regularization reinforcement relation relational relative
    representation residual resolution resource response retrieval review reward risk robust
    robustness rule safe safety sample sampler sampling scalable scale scaling scene score
    search segment segmentation selection selective self self-attention self-supervised
    semantic semi-supervised sensing sensitivity sentence sequence sequential set shallow
    shape shared shot signal similarity simple simulation single skill small smooth social
    soft solution solver source space sparse sparsity spatial spatio-temporal spectral speech
    speed spiking stable standard state static statistical statistics step stochastic
    strategy stream streaming strong structural structure study style sub supervised
    supervision support surrogate survey symbolic system table target task teacher technique
    temporal tensor test text textual theorem theoretical theory thinking token tokenizer tool
    topic topological topology tracking training trajectory transfer transform transformation
    transformer translation tree trust tuning tutorial uncertainty understanding unified
    uniform universal unsupervised update user variable variance variational vector video view
    vision visual wave weak weight weighted wide word world
    abstract appendix chapter comment comments conference corrigendum editorial erratum
    introduction lecture note notes preface proceedings reply report result results
    supplement symposium workshop
    anyone everyone nobody someone judge
    accelerating acceleration adversarial aggregation agnostic align assisted attribute
    auto autoencoder automated bayesian boson broad bursts chaos chaotic charge chemistry
    chemical clinic cold cosmic cosmological cosmology cosmos coupling crystal dark
    decay detecting dirac disease disorder drug earth ecology economic
    economics economy electron emission entanglement enzyme epidemic
    epidemiology expansion experiment experimental fermion financial finance fluid
    galactic galaxy gene genetic genome genomic gravitational gravity hall health hole
    infection insulator interferometer labor labour lattice magnetic mass market
    matter mechanical mechanics medicine merger metabolic microscopy molecule
    momentum nanoscale neutrino neutron nuclear ocean optics orbit orbital organic oscillation
    patient phase photon planet planetary plasma polymer price prime protein proton
    pulsar quark radiation radio reaction receptor redshift regime relativity ring scalar
    scattering semiconductor solar spectrum spin star stellar string supernova
    superconducting superconductivity superconductor supermassive surface symmetry telescope
    temperature thermal thermodynamics tissue trade transition transport treatment tumor
    turbulence universe vaccine vacuum velocity viral virus wage welfare
    bayes boltzmann brownian carlo dirichlet einstein euclidean european fourier hamiltonian
    hermitian hilbert hubble kalman lagrangian laplace lorentz maxwell newtonian planck poisson
    riemannian schrodinger schrödinger shannon turing
    alpha beta gamma delta epsilon lambda sigma omega
    x-ray t-cell b-cell k-means n-body p-value d-wave s-wave p-wave e-mail
    """
)

# Coined-looking but ubiquitous: acronyms, tools, data sets, units, diseases.
GENERIC_NAMES = _word_set(
    """
    ai ml dl rl nlp cv llm vlm lm mlp cnn rnn lstm gru gan vae gnn gcn svm pca ica knn sgd relu
    gelu adam adamw mcmc hmc em kl mse mae sota api gpu tpu cpu fpga asic cuda iot os sql html
    http json xml csv pdf url rgb rgb-d lidar uav imagenet cifar cifar-10 cifar-100 mnist coco
    glue squad wmt bleu rouge pytorch tensorflow keras jax numpy scipy python matlab github
    arxiv latex linux wifi dna rna mrna crispr pcr hiv covid covid-19 sars sars-cov-2 mers icu
    mri fmri eeg ecg ct pet lhc cern atlas cms cmb qcd qed lcdm sdss nasa esa jwst hst ligo nisq
    gev tev mev kev ev ghz mhz khz thz nm mm cm km kg mw kw gb tb mb co2 h2o ch4 o2 h2 n2 nmr dft
    afm stm tem sem xrd led oled gdp cpi ols rct did usa uk eu us un who
    sft rlhf rlvr dpo ppo cot rag moe vqa asr tts ocr ner qa kd icl peft mllm lvlm vla
    neurips nips icml iclr cvpr iccv eccv wacv bmvc acl emnlp naacl eacl coling aaai ijcai kdd
    sigir icra iros corl miccai interspeech icassp uai aistats colt
    mit mimo ofdm snr csi
    """
)
