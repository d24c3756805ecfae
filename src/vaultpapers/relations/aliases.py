"""Names an abstract gives its own paper, and what an acronym stands for in a text.

A paper is often known by a name its title does not hold: "Language Models are Few-Shot Learners"
is GPT-3 ("we train GPT-3, an autoregressive language model"). An abstract gives its paper a name
with a few set phrases: "we propose X", "we introduce X", "we train X", "called X", "dubbed X". Only
coined names count (digits, inner capitals, capitals: "GPT-3", "RepMLP", "MAE"): "we propose a
simple method" names nothing.

A name an abstract merely defines ("the Vision Transformer (ViT)", "Retrieval-Augmented
Generation (RAG)") is not claimed by it: most papers that define an acronym did not coin it. Such
definitions say instead what the acronym means in that text, which tells homonyms apart: "MSA"
is "multi-head self-attention" in one abstract and "Memory Sparse Attention" in another.
"""

from __future__ import annotations

import functools
import re

from vaultpapers.relations.series import is_coined, is_distinctive, is_version_suffix, normalized

_NAME = r"[^\W_][\w.+\-]*[\w+]|[^\W_]"
_CLAIM = re.compile(
    r"\b(?P<cue>(?:[Ww]e|[Tt]his (?:paper|work|report|study)) (?:(?:first|further|also|then) )?"
    r"(?:propose|introduce|present|train|develop|release|build|design|open-source|call|name|"
    r"term|dub)[sd]?(?: (?:it|this|them|our \w+))?"
    r"(?:,? (?:(?:a|an|the) )?(?:(?:new|novel|simple|unified|general|large|open|first) )?"
    r"(?:[a-z][\w-]* ){0,2}?(?:called|named|dubbed|termed)?)?|"
    r"\b(?:called|named|dubbed|termed|coined))"
    r"[ ,:]+[\"“']?(?P<name>" + _NAME + r")(?![\w+\-]|\.\w)"
    # "wav2vec 2.0", "Perceiver IO", "DeepResearch Bench": a version or capitalised words after
    r"(?P<more>(?: (?:[vV]?\d+(?:\.\d+)*|[A-Z][\w-]*)){0,2})"
    # ... but not the first words of a longer name: "we propose LoRA eXpandable Networks (LoRAX)"
    r"(?! [a-z]*[A-Z])"
)


@functools.lru_cache(maxsize=1 << 14)
def claimed_names(abstract: str) -> tuple[tuple[str, str], ...]:
    """(name, the words that claim it) for each coined name the abstract gives its own paper,
    first claim first, each name once."""
    found: dict[str, str] = {}
    for match in _CLAIM.finditer(abstract):
        name = (match["name"] + match["more"]).rstrip(".-")
        if not is_coined_name(name) or sum(char.isalpha() for char in name) < 3:
            continue
        found.setdefault(name, f"{match['cue'].strip()} {name}")
    return tuple(found.items())


def is_coined_name(name: str) -> bool:
    """Shaped like no dictionary word and distinctive: "GPT-3", "RepMLP", "DINOv3", "MAE"."""
    head = name.split()[0]
    return is_coined(head) and not is_version_suffix(head) and is_distinctive(name)


# --- what an acronym stands for ------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")


def _letters_of(acronym: str) -> str:
    """'ARMs' -> 'arm', 'ViT' -> 'vit': the letters an expansion must give, in order."""
    if len(acronym) > 2 and acronym.endswith("s") and acronym[:-1].isupper():
        acronym = acronym[:-1]
    return "".join(char for char in acronym.lower() if char.isalnum())


def _starts(word: str) -> set[int]:
    """Where a word's parts begin: after a hyphen or at an inner capital ("Self-Attention")."""
    return {0} | {m.start() for m in re.finditer(r"(?<=-)\w|(?<=[a-z])[A-Z]", word)}


def _spells(letters: str, words: list[str], inner: bool) -> bool:
    """Whether the words spell the letters, in order: the first word starts with the first
    letter, every word that gives letters gives its first at the start of the word or of a
    part, the last word gives at least one, and (when `inner`) a word that gave a letter may
    give more from inside it ("AutoRegressive" for AR)."""
    if not letters or not words or words[0][:1].lower() != letters[0]:
        return False
    lowers = [word.lower() for word in words]
    starts = [_starts(word) for word in words]
    last = len(words) - 1

    @functools.cache
    def within(i: int, at: int, j: int) -> bool:
        """Word i gave letters[:j], the last of them at position `at`."""
        if j == len(letters):
            return i == last
        if fresh(i + 1, j):
            return True
        return any(
            lowers[i][p] == letters[j] and (inner or p in starts[i]) and within(i, p, j + 1)
            for p in range(at + 1, len(lowers[i]))
        )

    @functools.cache
    def fresh(i: int, j: int) -> bool:
        """Words from i on spell letters[j:]."""
        if i > last:
            return False
        if i < last and fresh(i + 1, j):
            return True
        return any(lowers[i][p] == letters[j] and within(i, p, j + 1) for p in sorted(starts[i]))

    return within(0, 0, 1)


def _expansion(words: list[str], letters: str, *, before: bool) -> str | None:
    """The shortest run of words at the end (`before`) or start of `words` that spells the
    letters, by initials if any run does, else also by letters inside words."""
    limit = min(len(letters) + 5, 2 * len(letters) + 1)
    runs = (
        [words[start:] for start in range(len(words) - 1, max(-1, len(words) - 1 - limit), -1)]
        if before
        else [words[:end] for end in range(1, min(len(words), limit) + 1)]
    )
    for inner in (False, True):
        for run in runs:
            if _spells(letters, run, inner):
                return " ".join(run)
    return None


def _expansion_before(text: str, end: int, acronym: str) -> str | None:
    before = text[max(0, end - 200) : end]
    cut = max(before.rfind(stop) for stop in (",", ";", ".", "(", ")", ":"))
    return _expansion(_WORD.findall(before[cut + 1 :]), _letters_of(acronym), before=True)


def _expansion_after(text: str, acronym: str) -> str | None:
    cut = min(
        (at for at in (text.find(stop) for stop in (",", ";", ".", ")")) if at >= 0),
        default=len(text),
    )
    return _expansion(_WORD.findall(text[:cut]), _letters_of(acronym), before=False)


_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+\{([^{}]*)\}")


@functools.lru_cache(maxsize=1 << 14)
def expansion_in(text: str, acronym: str) -> str | None:
    """What the text says the acronym stands for: "multi-head self-attention (MSA)",
    "GRASP (Guided Representation Alignment ...)", "CRAFT -- a Contradistinguisher-based ...";
    None where it does not spell it out."""
    if "\\" in text:  # "\textbf{S}elf-Aligning ..." in abstracts pasted from LaTeX
        text = _LATEX_COMMAND.sub(r"\1", text)
    escaped = re.escape(acronym)
    for match in re.finditer(rf"\(\s*{escaped}s?\s*[)\],;]", text):
        found = _expansion_before(text, match.start(), acronym)
        if found:
            return found
    for match in re.finditer(rf"(?<![\w-]){escaped}\s*(?:\(|--|—|–|:)\s*(?:an?\s+)?", text):
        found = _expansion_after(text[match.end() : match.end() + 200], acronym)
        if found:
            return found
    return None


def title_expansion(title: str, name: str) -> str | None:
    """What a title "NAME: words ..." says its name stands for, when the words spell it."""
    head, colon, rest = title.partition(":")
    if not colon or normalized(head.strip()) != normalized(name):
        return None
    return _expansion_after(rest, name)


def same_expansion(one: str, other: str) -> bool:
    """Whether two spelled-out forms are the same words, case, hyphens and plurals aside."""

    def words(text: str) -> list[str]:
        return [word.removesuffix("s") for word in re.split(r"[\s\-]+", text.casefold()) if word]

    return words(one) == words(other)
