"""Which papers of a library are related, and why: same series, or one names the other.

Paper A mentions paper B when A's title or abstract contains B's short name as whole words, in
B's spelling ("Perceiver", not "perceiver"; "LoRA", not "LoRa"). A name made only of ordinary
capitalised words ("Perceiver", "Swin Transformer") counts only where its capitals stand out:
not at the start of a sentence and not in a Title Case title. A name also stands for a whole
series when no paper carries exactly that name ("YOLO" for YOLOv3, YOLOv4, ...).

Precision over recall. Names that two papers share are ambiguous, and names that many papers
mention are too common to relate anything; both are set aside with a reason.

Every text is scanned once against a dict of normalised names, so the cost grows with the size
of the library, not with the number of pairs.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from vaultpapers.arxiv.papers import Paper
from vaultpapers.relations.aliases import claimed_names
from vaultpapers.relations.authors import authors_unknown, shared_authors
from vaultpapers.relations.evidence import (
    before_it_existed,
    is_acronym,
    other_meaning,
    outside_field,
    too_soon,
)
from vaultpapers.relations.series import (
    NameFinding,
    Series,
    Token,
    Tokens,
    detect_series,
    find_name,
    is_plain,
    is_version_suffix,
    normalized,
)

# A name mentioned by more papers than this is a household word in the library, not a link.
TOO_COMMON_SHARE = 0.05
TOO_COMMON_FLOOR = 25
# Bumped whenever what `relate` finds changes for the same papers: a remembered answer or memo
# made by other rules is not reused.
RULES = 3


@dataclass(frozen=True, order=True)
class Relation:
    """``source`` is related to ``target``; ``reason`` is a sentence a user can check.

    Relations come in both directions: for each (A, B) there is a (B, A) with the same reason.
    """

    source: str
    target: str
    kind: Literal["series", "mention", "successor"]
    reason: str


@dataclass(frozen=True)
class RelatedPapers:
    names: dict[str, NameFinding]  # by arXiv key, for every paper
    series: tuple[Series, ...]
    relations: tuple[Relation, ...]  # sorted, both directions
    set_aside: dict[str, str]  # name -> why its mentions relate nothing
    # Only `explain` reads these two; they are not remembered between runs.
    aliases: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)  # (name, where)
    declined: tuple[tuple[str, str, str], ...] = ()  # (mentioner, named, why it is no link)

    def series_of(self, key: str) -> Series | None:
        return next((series for series in self.series if key in series.members), None)

    def relations_of(self, key: str) -> tuple[Relation, ...]:
        return self._by_source.get(key, ())

    @functools.cached_property
    def _by_source(self) -> dict[str, tuple[Relation, ...]]:
        found: dict[str, list[Relation]] = defaultdict(list)
        for relation in self.relations:
            found[relation.source].append(relation)
        return {source: tuple(relations) for source, relations in found.items()}


@dataclass(frozen=True)
class _Target:
    name: str
    keys: tuple[str, ...]
    plain: bool
    series: str | None = None  # set when the name stands for every member of a series


@dataclass(frozen=True)
class _Mention:
    source: str
    target: str
    field: Literal["title", "abstract"]
    name: str


Field = Literal["title", "abstract"]


@dataclass(frozen=True)
class _Findings:
    """What one paper's text gave, against the name index of `RelationMemo.forms`."""

    fingerprint: str  # of the title and abstract: the findings hold while they are the same
    name: NameFinding
    claims: tuple[tuple[str, str], ...]  # names the abstract gives its paper, with the words
    matches: tuple[tuple[Field, str], ...]  # (field, indexed form), in the order found


@dataclass(frozen=True)
class RelationMemo:
    """What `relate` found in each paper's text, so that the next call only reads the texts
    that can have changed: those of new papers, and those containing a name that entered or
    left the index. Everything global (ambiguity, "too common", series) is recomputed from
    these findings every time, so the answer is always the one of a full computation."""

    papers: dict[str, _Findings]
    # The name index the matches were found against: form -> what reading a text takes from
    # its target (plain, a series' name, the name as spelled).
    forms: dict[str, tuple[bool, bool, str]]


class GaveWay(Exception):
    """`relate_remembering` stopped because its caller's `stop` said so."""


def relate(papers: Iterable[Paper]) -> RelatedPapers:
    return relate_remembering(papers)[0]


def relate_remembering(
    papers: Iterable[Paper],
    memo: RelationMemo | None = None,
    stop: Callable[[], bool] | None = None,
) -> tuple[RelatedPapers, RelationMemo]:
    """`relate`, reusing what an earlier call found (`memo`); returns the memo for the next.

    A text's matches depend on the index only through the names that occur in it, so a
    paper whose text is unchanged and holds none of the names that entered or left the index
    (or changed plainness) keeps its matches. Whether a name occurs is tested as if on the
    text squeezed of everything that is not a letter or digit (a superset of what tokenizing
    finds), by one regex over the text as it is. When many names moved, every text is read.

    A whole library takes long: `stop` is asked now and then, and once it says True the
    work is dropped (`GaveWay`).
    """

    def checkpoint() -> None:
        if stop is not None and stop():
            raise GaveWay

    library = {paper.arxiv_id: paper for paper in papers}
    fingerprints = {key: _fingerprint(paper) for key, paper in library.items()}
    checkpoint()
    unchanged, names, claims = _names_and_claims(library, fingerprints, memo)
    checkpoint()
    series = tuple(detect_series(library.values(), _named_somewhere(names, claims)))
    checkpoint()
    index, set_aside = _name_index(names, claims, series, library)
    checkpoint()
    forms = {form: (t.plain, t.series is not None, t.name) for form, t in index.items()}
    before = memo.forms if memo is not None else {}
    moved = [form for form in forms.keys() | before.keys() if forms.get(form) != before.get(form)]
    reading = _Reading(fingerprints, names, claims, index)
    findings = _read_texts(library, reading, unchanged, moved, checkpoint)
    checkpoint()
    related = _related(library, reading, findings, series, set_aside)
    return related, RelationMemo(findings, forms)


def _names_and_claims(
    library: dict[str, Paper], fingerprints: dict[str, str], memo: RelationMemo | None
) -> tuple[dict[str, _Findings], dict[str, NameFinding], dict[str, tuple[tuple[str, str], ...]]]:
    """The findings remembered of the texts unchanged since `memo`, and every paper's name
    and the names its abstract claims: remembered for those, found again for the others."""
    known = memo.papers if memo is not None else {}
    # Findings of an unchanged text: its name holds, and its matches may.
    unchanged = {
        key: known[key]
        for key in library
        if key in known and known[key].fingerprint == fingerprints[key]
    }
    names = {
        key: unchanged[key].name if key in unchanged else find_name(paper.title)
        for key, paper in library.items()
    }
    claims = {
        key: unchanged[key].claims if key in unchanged else claimed_names(paper.summary)
        for key, paper in library.items()
    }
    return unchanged, names, claims


def _related(
    library: dict[str, Paper],
    reading: _Reading,
    findings: dict[str, _Findings],
    series: tuple[Series, ...],
    set_aside: dict[str, str],
) -> RelatedPapers:
    """The answer worked out from every text's findings: the mentions weighed, those of
    names too common set aside, and what is left made relations."""
    index = reading.index
    mentions, declined = _weigh(_mentions(findings, index, series), index, library, set_aside)
    mentions = _without_common(mentions, len(library), set_aside)
    return RelatedPapers(
        reading.names,
        series,
        _relations(mentions, series, library),
        set_aside,
        _aliases(reading.names, reading.claims),
        tuple(sorted(declined)),
    )


@dataclass(frozen=True)
class _Reading:
    """What reading a paper's text again needs besides the text."""

    fingerprints: dict[str, str]
    names: dict[str, NameFinding]
    claims: dict[str, tuple[tuple[str, str], ...]]
    index: dict[str, _Target]


def _read_texts(
    library: dict[str, Paper],
    reading: _Reading,
    unchanged: dict[str, _Findings],
    moved: list[str],
    checkpoint: Callable[[], None],
) -> dict[str, _Findings]:
    """Each paper's findings: remembered when its text is unchanged and holds none of the
    `moved` names, else read again against the index."""
    moved_in = None
    if len(moved) > _MANY_MOVED:
        unchanged = {}  # testing each text for so many names costs more than reading it again
    elif moved:
        moved_in = _spelled_loosely(moved)
    index = reading.index
    prefixes: set[str] | None = None
    findings: dict[str, _Findings] = {}
    for done, (key, paper) in enumerate(library.items()):
        if not done % 1024:
            checkpoint()
        entry = unchanged.get(key)
        if entry is not None and (moved_in is None or not _may_hold(paper, moved_in)):
            findings[key] = entry
            continue
        if prefixes is None:
            # Every prefix of every indexed name: a scan stops growing a span once it leaves them.
            prefixes = {form[:end] for form in index for end in range(1, len(form) + 1)}
        matches = tuple(
            (field, form)
            for field, text in _fields(paper)
            for form in _names_in(text, index, prefixes)
        )
        findings[key] = _Findings(
            reading.fingerprints[key], reading.names[key], reading.claims[key], matches
        )
    return findings


def _without_common(
    mentions: list[_Mention], library_size: int, set_aside: dict[str, str]
) -> list[_Mention]:
    """The mentions whose name is not a household word of the library; the others are set
    aside with the reason."""
    too_common = max(TOO_COMMON_FLOOR, int(library_size * TOO_COMMON_SHARE))
    mentioners: dict[str, set[str]] = defaultdict(set)
    for mention in mentions:
        mentioners[mention.name].add(mention.source)
    common = {name for name, sources in mentioners.items() if len(sources) > too_common}
    for name in common:
        set_aside[name] = (
            f'"{name}" is mentioned by {len(mentioners[name])} of {library_size} papers: '
            "too common to relate them"
        )
    return [mention for mention in mentions if mention.name not in common]


def _relations(
    mentions: list[_Mention], series: tuple[Series, ...], library: dict[str, Paper]
) -> tuple[Relation, ...]:
    """Series, successor and mention relations, both directions, sorted."""
    relations: set[Relation] = set()
    for one in series:
        for source in one.members:
            for target in one.members:
                if source != target:
                    relations.add(Relation(source, target, "series", f"same series: {one.name}"))
    for relation in _successors(mentions, series, library):
        mirror = Relation(relation.target, relation.source, relation.kind, relation.reason)
        relations.update((relation, mirror))
    succeeded = {(r.source, r.target) for r in relations if r.kind == "successor"}
    for mention in mentions:
        if (mention.source, mention.target) in succeeded:
            continue  # the successor's reason says it, with more
        reason = f'{mention.field} of {mention.source} mentions "{mention.name}"'
        relations.add(Relation(mention.source, mention.target, "mention", reason))
        relations.add(Relation(mention.target, mention.source, "mention", reason))
    return tuple(sorted(relations))


def _fingerprint(paper: Paper) -> str:
    text = f"{paper.title}\0{paper.summary}".encode()
    return hashlib.blake2b(text, digest_size=8).hexdigest()


def _fields(paper: Paper) -> tuple[tuple[Field, str], ...]:
    return (("title", paper.title), ("abstract", paper.summary))


_MANY_MOVED = 64
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")


def _spelled_loosely(forms: Iterable[str]) -> re.Pattern[str]:
    """Finds, in a text as it is, where the text squeezed of everything that is not a letter
    or digit contains one of `forms` squeezed likewise, without squeezing the text."""
    loose = ("[\\W_]*".join(map(re.escape, _NOT_ALPHANUMERIC.sub("", form))) for form in forms)
    return re.compile("|".join(loose))


def _may_hold(paper: Paper, names: re.Pattern[str]) -> bool:
    return names.search(paper.title) is not None or names.search(paper.summary) is not None


def find_relations(papers: Iterable[Paper]) -> list[Relation]:
    """Series and mention relations, both directions, sorted by (source, target, kind, reason)."""
    return list(relate(papers).relations)


@dataclass(frozen=True)
class Explanation:
    """Why a paper has the names, series and relations it has: each part as data (what
    `vaultpapers related --json` shows) and as the sentences `explain` gives."""

    key: str
    title: str
    name: str | None
    name_reason: str
    also_known_as: tuple[tuple[str, str], ...]  # (name, where it was found)
    set_aside: tuple[tuple[str, str], ...]  # (name, why it relates nothing)
    series: Series | None
    relations: tuple[Relation, ...]
    declined: tuple[tuple[str, str], ...]  # (the other paper, why no link was dared)
    lines: tuple[str, ...]


def explain(key: str, papers: Iterable[Paper]) -> list[str]:
    """Why ``key`` has the names, series and relations it has, one sentence per line: every
    name it is known by and where it was found, each name that relates nothing and why, and
    each mention not dared as a link."""
    return list(explain_paper(key, papers).lines)


def explain_paper(key: str, papers: Iterable[Paper]) -> Explanation:
    """`explain`, with each part as data too. Raises KeyError for a paper not in `papers`."""
    papers = list(papers)
    related = relate(papers)
    if key not in related.names:
        raise KeyError(f"{key} is not in the library")
    finding = related.names[key]
    if finding.name:
        lines = [f'{key} is named "{finding.name}": {finding.reason}']
    else:
        lines = [f"{key} has {finding.reason}"]
    known = related.aliases.get(key, ())
    aliases = known[1:] if finding.name else known
    lines.extend(f'also known as "{name}": {where}' for name, where in aliases)
    set_aside = tuple(
        (name, related.set_aside[name]) for name, _ in known if name in related.set_aside
    )
    lines.extend(f'"{name}" relates nothing: {why}' for name, why in set_aside)
    if finding.name and finding.reason in NOT_FOR_MENTIONS:
        lines.append(
            f"abstracts mentioning {finding.name!r} are not related to it for that: a name "
            f"found {finding.reason} is mostly a field's term"
        )
    series = related.series_of(key)
    if series:
        lines.append(f"member of series {series.name}:")
        lines.extend(f"  {evidence}" for evidence in series.evidence)
    relations = related.relations_of(key)
    lines.extend(f"related to {relation.target}: {relation.reason}" for relation in relations)
    if not relations:
        lines.append("no related papers")
    declined = tuple(
        (named if mentioner == key else mentioner, why)
        for mentioner, named, why in related.declined
        if key in (mentioner, named)
    )
    lines.extend(f"not linked to {other} (we did not dare): {why}" for other, why in declined)
    title = next((paper.title for paper in papers if paper.arxiv_id == key), "")
    return Explanation(
        key,
        title,
        finding.name,
        finding.reason,
        tuple(aliases),
        set_aside,
        series,
        relations,
        declined,
        tuple(lines),
    )


# Where a title's name relates no paper by mention (its series still counts): on 4,279 papers
# of a 2025-26 arXiv crawl, none of the 281 pairs made by a name from the end of a title and
# none of the 165 from a name in parentheses were right. Such names mostly spell out the
# field's own terms ("... Generation (RAG) Pipelines", "... for MLLMs"), which every other
# abstract then "mentions".
NOT_FOR_MENTIONS = frozenset({"in parentheses in the title", "the end of the title"})


def _named_somewhere(
    names: dict[str, NameFinding], claims: dict[str, tuple[tuple[str, str], ...]]
) -> dict[str, NameFinding]:
    """Each paper's title name, or where its title has none, the first name its abstract
    claims: GPT-3 is named only in "we train GPT-3, an autoregressive language model"."""
    found = dict(names)
    for key, claimed in claims.items():
        if claimed and not names[key].name:
            name, words = claimed[0]
            found[key] = NameFinding(name, f'the abstract: "{words}"')
    return found


def _aliases(
    names: dict[str, NameFinding], claims: dict[str, tuple[tuple[str, str], ...]]
) -> dict[str, tuple[tuple[str, str], ...]]:
    """Every name each paper is known by, with where it was found: its title's, then those its
    abstract claims."""
    found: dict[str, tuple[tuple[str, str], ...]] = {}
    for key, finding in names.items():
        known = [(finding.name, f"title: {finding.reason}")] if finding.name else []
        for name, words in claims.get(key, ()):
            if all(normalized(name) != normalized(other) for other, _ in known):
                known.append((name, f'abstract: "{words}"'))
        if known:
            found[key] = tuple(known)
    return found


def _name_index(
    names: dict[str, NameFinding],
    claims: dict[str, tuple[tuple[str, str], ...]],
    series: tuple[Series, ...],
    library: dict[str, Paper],
) -> tuple[dict[str, _Target], dict[str, str]]:
    """The names mentions are looked for, each with the paper or series it stands for, and the
    names set aside: those that several papers claim with nothing else in common."""
    by_name: dict[str, dict[str, str]] = defaultdict(dict)  # form -> key -> name as spelled
    for key, finding in names.items():
        if finding.name and finding.reason not in NOT_FOR_MENTIONS:
            by_name[normalized(finding.name)][key] = finding.name
    for key, claimed in claims.items():
        for name, _ in claimed:
            by_name[normalized(name)].setdefault(key, name)

    index: dict[str, _Target] = {}
    set_aside: dict[str, str] = {}
    for form, holders in by_name.items():
        name = holders[min(holders)]  # the same whatever order the papers came in
        owner = _owner(sorted(holders), library)
        if owner is None:
            keys = ", ".join(sorted(holders))
            set_aside[name] = (
                f'"{name}" is ambiguous: {len(holders)} papers with no author in common '
                f"call themselves so ({keys})"
            )
        else:
            index[form] = _Target(holders[owner], (owner,), is_plain(holders[owner]))
    for one in series:
        form = normalized(one.name)
        if form not in by_name:
            index[form] = _Target(one.name, one.members, is_plain(one.name), series=one.name)
    return index, set_aside


def _owner(keys: list[str], library: dict[str, Paper]) -> str | None:
    """Whose name it is when these papers all claim it: one paper's, or the first paper's of a
    group that shares authors (its later papers reuse the name); None when groups differ."""
    if len(keys) == 1:
        return keys[0]
    papers = sorted((library[key] for key in keys), key=lambda p: (p.published, p.arxiv_id))
    first = papers[0]
    if authors_unknown(*papers) or not all(shared_authors(p, first) for p in papers[1:]):
        return None
    return first.arxiv_id


def _mentions(
    findings: dict[str, _Findings], index: dict[str, _Target], series: tuple[Series, ...]
) -> list[_Mention]:
    series_of = {key: one.name for one in series for key in one.members}
    found: dict[tuple[str, str], _Mention] = {}
    for source, finding in findings.items():
        for where, form in finding.matches:
            target = index[form]
            if target.series and series_of.get(source) == target.series:
                continue  # a member naming its own series is no news
            for key in target.keys:
                if key != source:
                    found.setdefault((source, key), _Mention(source, key, where, target.name))
    return list(found.values())


def _weigh(
    mentions: list[_Mention],
    index: dict[str, _Target],
    library: dict[str, Paper],
    set_aside: dict[str, str],
) -> tuple[list[_Mention], list[tuple[str, str, str]]]:
    """The mentions whose metadata does not speak against them (see `evidence`), and why each
    other one is no link. Names found in use long before their paper are added to `set_aside`."""
    kept: list[_Mention] = []
    declined: list[tuple[str, str, str]] = []
    single = {target.name for target in index.values() if target.series is None}
    earliest: dict[str, _Mention] = {}
    for mention in mentions:
        source, target = library[mention.source], library[mention.target]
        if mention.name not in single or _same_group(mention, library):
            continue
        if before_it_existed(source, target, mention.name):
            first = earliest.get(mention.name)
            if first is None or (source.published, source.arxiv_id) < (
                library[first.source].published,
                first.source,
            ):
                earliest[mention.name] = mention
    for name, first in earliest.items():
        source, target = library[first.source], library[first.target]
        set_aside[name] = (
            f'"{name}" was in use before {target.arxiv_id} appeared ({target.published_date}): '
            f"{source.arxiv_id} ({source.published_date}) mentions it; "
            f"{target.arxiv_id} took a name that was not new"
        )
    for mention in mentions:
        if mention.name in earliest and not _same_group(mention, library):
            continue
        why = _against(mention, library, single)
        if why:
            declined.append((mention.source, mention.target, why))
        else:
            kept.append(mention)
    return kept, declined


def _same_group(mention: _Mention, library: dict[str, Paper]) -> bool:
    return bool(shared_authors(library[mention.source], library[mention.target]))


def _against(mention: _Mention, library: dict[str, Paper], single: set[str]) -> str | None:
    """What in the two papers' metadata says this mention is of another thing of that name."""
    source, target = library[mention.source], library[mention.target]
    if _same_group(mention, library):
        return None  # the same group's: the name is theirs
    if mention.name not in single:
        # A series' name: it means the members that existed when the mentioner was written.
        if before_it_existed(source, target, mention.name):
            return (
                f"{source.arxiv_id} ({source.published_date}) was written before "
                f"{target.arxiv_id} ({target.published_date}) of series {mention.name}"
            )
        return None
    if too_soon(source, target, mention.name):
        return (
            f'"{mention.name}" is an acronym, and {source.arxiv_id} ({source.published_date}) '
            f"appeared too soon after {target.arxiv_id} ({target.published_date}) to build on it"
        )
    meaning = other_meaning(source, target, mention.name)
    if meaning:
        return meaning
    if is_acronym(mention.name) and outside_field(source, target):
        return (
            f'"{mention.name}" is an acronym, and {target.arxiv_id}\'s field '
            f"({target.primary_category}) is not among those of {source.arxiv_id} "
            f"({', '.join(source.categories)})"
        )
    return None


def _successors(
    mentions: list[_Mention], series: tuple[Series, ...], library: dict[str, Paper]
) -> Iterator[Relation]:
    """Papers of one group where the later builds on the earlier: the later's name is the
    earlier's with a modifier ("Scaled-YOLOv4"), or one names the other. One per pair."""
    found: dict[tuple[str, str], Relation] = {}
    for family in series:
        for variant in family.variants:
            later, earlier = library[variant.key], library[variant.of]
            detail = f'"{variant.name}" is "{variant.base}" with "{variant.modifier}"'
            if authors := shared_authors(later, earlier):
                detail += f"; shared authors: {_few(authors)}"
            found[later.arxiv_id, earlier.arxiv_id] = _succession(later, earlier, detail)
    for mention in sorted(mentions, key=lambda m: (m.source, m.target)):
        one, other = library[mention.source], library[mention.target]
        authors = shared_authors(one, other)
        if authors and one.published != other.published:
            later, earlier = (one, other) if one.published > other.published else (other, one)
            detail = f'{mention.field} of {one.arxiv_id} names "{mention.name}"'
            relation = _succession(later, earlier, f"{detail}; shared authors: {_few(authors)}")
            found.setdefault((later.arxiv_id, earlier.arxiv_id), relation)
    return iter(found.values())


SUCCESSOR = re.compile(r"^(\S+) is the successor of (\S+): ")


def _succession(later: Paper, earlier: Paper, detail: str) -> Relation:
    reason = f"{later.arxiv_id} is the successor of {earlier.arxiv_id}: {detail}"
    return Relation(later.arxiv_id, earlier.arxiv_id, "successor", reason)


def _few(names: Sequence[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _names_in(text: str, index: dict[str, _Target], prefixes: set[str]) -> Iterator[str]:
    """The indexed forms of the names in ``text``, longest first, each stretch of words used
    once."""
    tokens = Tokens(text)
    words = tokens.words
    title_case: bool | None = None
    free = 0  # the first token no name found so far has used
    # A name can only start at a word that begins some indexed form: in an abstract, a few.
    for start in [at for at, word in enumerate(words) if word in prefixes]:
        if start < free:
            continue
        candidates: list[tuple[int, str]] = []
        form = ""
        for end in range(start, len(words)):
            if end > start and not (tokens[end].joined or tokens[end].spaced):
                break
            form += words[end]
            if form not in prefixes:
                break
            if form in index:
                candidates.append((end + 1, form))
        for end, found in reversed(candidates):
            target = index[found]
            if not _stands_alone(tokens, start, end) or not _split_as_named(
                words[start:end], target.name
            ):
                continue
            if target.series and _one_model_of(tokens, end, found):
                continue
            if target.plain:
                if title_case is None:
                    title_case = _is_title_case(tokens)
                if tokens[start].starts_sentence or title_case:
                    continue
                if _in_capitalised_run(tokens, start, end):
                    continue
            yield found
            free = end
            break


def _stands_alone(tokens: Tokens, start: int, end: int) -> bool:
    """False when the span is part of a longer name: "Scaled-YOLOv4", "GPT-3", "Perceiver IO"."""
    if tokens[start].joined and not _is_lowercase_word(tokens[start - 1]):
        return False
    if end == len(tokens):
        return True
    after = tokens[end]
    if tokens.is_size(end):
        return True  # "PaLM-540B", "BERT Large": a model of the same paper
    if after.joined:
        return _is_lowercase_word(after)
    # "GPT 4o", "Perceiver IO": a version after a space names another model of the family.
    return not (after.spaced and (is_version_suffix(after.text) or after.text[:1].isdigit()))


def _one_model_of(tokens: Tokens, end: int, stem: str) -> bool:
    """True when a series' bare name stands for one model of it, not the family: a size
    follows ("Qwen-72B", "Qwen (0.8B)"), or the text names a version ("Qwen2.5-VL ... the
    zero-shot Qwen"), whose paper, if in the library, it names itself."""
    if end < len(tokens) and tokens.is_size(end):
        return True
    return any(
        len(word) > len(stem) and word.startswith(stem) and word[len(stem)].isdigit()
        for word in tokens.words
    )


def _split_as_named(span: list[str], name: str) -> bool:
    """False when the text splits a word of the name where it is not split between a letter
    and a digit: "Efficient LLM" is not EfficientLLM, "Agentic RAG" not AgenticRAG, but
    "Qwen-3" is Qwen3."""
    form = "".join(span)
    named = set(_boundaries(Tokens(name).words))
    return all(
        at in named or form[at - 1].isdigit() != form[at].isdigit() for at in _boundaries(span)
    )


def _boundaries(words: list[str]) -> list[int]:
    ends, at = [], 0
    for word in words[:-1]:
        at += len(word)
        ends.append(at)
    return ends


_SMALL_WORDS = frozenset({"for", "of", "and", "the", "with", "in", "on", "to", "via", "a", "an"})


def _in_capitalised_run(tokens: Tokens, start: int, end: int) -> bool:
    """True when an ordinary-looking name stands inside a longer run of capitalised words, as
    in an acronym's expansion: "Token Perturbation Guidance (TPG)", "Visual Place Recognition".
    Small words ("for", "of") do not break the run."""

    def capitalised(at: int) -> bool:
        while 0 <= at < len(tokens) and tokens[at].text in _SMALL_WORDS:
            at += 1 if at >= end else -1
        if not 0 <= at < len(tokens):
            return False
        word = tokens[at].text
        return word[:1].isupper() and word[1:].islower() and not tokens[at].starts_sentence

    before_ok = start > 0 and not tokens[start].starts_sentence and capitalised(start - 1)
    return before_ok or (end < len(tokens) and tokens[end].spaced and capitalised(end))


def _is_lowercase_word(token: Token) -> bool:
    # "BERT-based", "non-BERT": a lowercase word glued on does not change the name.
    return token.text.isalpha() and token.text.islower()


def _is_title_case(tokens: Tokens) -> bool:
    """Title Case text capitalises ordinary words, so a capital there says nothing about names."""
    words = [word for word in tokens.loose_words() if word.isalpha() and len(word) >= 4]
    if not words:
        return True
    return sum(word[0].isupper() for word in words) * 2 >= len(words)


def related_to_json(related: RelatedPapers) -> dict[str, Any]:
    """What planning uses of a `RelatedPapers`, as JSON, to be remembered between runs."""
    return {
        "rules": RULES,
        "series": [[s.name, s.members, s.names, s.evidence] for s in related.series],
        "relations": [[r.source, r.target, r.kind, r.reason] for r in related.relations],
        "set_aside": related.set_aside,
    }


def related_from_json(data: dict[str, Any]) -> RelatedPapers:
    """The inverse of `related_to_json`; `names` are not kept (only `explain` reads them).
    Raises ValueError for an answer made by other rules."""
    _check_rules(data)
    return RelatedPapers(
        names={},
        series=tuple(
            Series(name, tuple(members), tuple(names), tuple(evidence))
            for name, members, names, evidence in data["series"]
        ),
        relations=tuple(Relation(*relation) for relation in data["relations"]),
        set_aside=dict(data["set_aside"]),
    )


def memo_to_json(memo: RelationMemo) -> dict[str, Any]:
    return {
        "rules": RULES,
        "papers": {
            key: [
                f.fingerprint,
                f.name.name,
                f.name.reason,
                [list(claim) for claim in f.claims],
                [list(m) for m in f.matches],
            ]
            for key, f in memo.papers.items()
        },
        "forms": {form: list(read) for form, read in memo.forms.items()},
    }


def memo_from_json(data: dict[str, Any]) -> RelationMemo:
    """Raises ValueError for a memo made by other rules."""
    _check_rules(data)
    papers = {
        key: _Findings(
            fingerprint,
            NameFinding(name, reason),
            tuple((claim, words) for claim, words in claims),
            tuple((where, form) for where, form in matches),
        )
        for key, (fingerprint, name, reason, claims, matches) in data["papers"].items()
    }
    forms = {
        form: (bool(plain), bool(series), str(name))
        for form, (plain, series, name) in data["forms"].items()
    }
    return RelationMemo(papers, forms)


def _check_rules(data: dict[str, Any]) -> None:
    if data.get("rules") != RULES:
        raise ValueError(f"made by relation rules {data.get('rules')}, these are {RULES}")
