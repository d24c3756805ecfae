"""The vault's papers as a bibliography: BibTeX and CSL-JSON, for LaTeX, Pandoc, Zotero and the
Citations plugin.

Pure: papers and their citekeys in, text out; the same on every machine (sorted by citekey,
no timestamps). A preprint is written as arXiv's own BibTeX export writes it (`@misc` with
`eprint`, `archivePrefix`, `primaryClass`); a paper arXiv knows to be published (`journal_ref`,
`doi`) becomes an `@inproceedings` (a conference) or an `@article`, keeping its eprint fields,
which biblatex shows as the arXiv link.

Text is written in UTF-8, as it is: biber, Pandoc, Zotero, JabRef and the Citations plugin
read it, and no LaTeX escape exists for Hangul or CJK. Only what LaTeX would read as markup is
escaped (`& % # _` and lone braces), `$...$` maths is kept as maths, and words with capitals
after their first letter (`BERT`, `ImageNet`, `YOLOv4`) are braced so that no style lowercases
them. bibtexparser's writer and pylatexenc were considered: the first escapes nothing, the
second turns every accented letter into a macro (`{\\'e}`), which Pandoc's CSL output then
shows as written only if its LaTeX reader is in the way; both would be a dependency for three
replacements.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vaultpapers.arxiv.papers import Paper
from vaultpapers.model import FileState, Problem, Write
from vaultpapers.notes.citekeys import last_name

FORMATS = ("bibtex", "csl-json")
BIBLIOGRAPHY_KIND = "bibliography"  # what `Write.kind` calls a bibliography file
BIBTEX_HEADER = "% vaultpapers bibliography "  # + digest of what follows it
_HEADER_LINE = re.compile(r"% vaultpapers bibliography ([0-9a-f]{32})\n")
# journal_ref values naming a conference (arXiv's field is free text: 'ICLR 2022',
# 'Proceedings of the 38th International Conference on Machine Learning, PMLR 139').
_CONFERENCE = re.compile(
    r"\b(?:proc(?:eedings|\.)?|conference|conf\.|workshop|symposium|ICML|ICLR|NeurIPS|NIPS|"
    r"CVPR|ICCV|ECCV|ACL|EMNLP|NAACL|COLING|AAAI|IJCAI|KDD|SIGGRAPH|SIGIR|WWW|UAI|AISTATS|"
    r"COLT|CoRL|RSS|ICRA|IROS|MICCAI|BMVC|WACV|INTERSPEECH|ICASSP|PMLR)\b",
    re.IGNORECASE,
)
_PARTICLES = frozenset(
    [
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "di",
        "da",
        "du",
        "le",
        "la",
        "dos",
        "das",
        "ter",
        "ten",
        "zu",
    ]
)  # lowercase words that belong to the last name ('Laurens van der Maaten')


# An author that is a group ('The ATLAS Collaboration', 'LIGO Scientific Collaboration and
# Virgo Collaboration'), not a person: one name, never split into first and last.
_GROUP = re.compile(
    r"\b(?:collaboration|consortium|team|group|project|committee|organi[sz]ation|"
    r"institute|laboratory|network|alliance|initiative|working)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Entry:
    """One paper in a bibliography."""

    citekey: str
    key: str  # arXiv key
    paper: Paper

    @property
    def kind(self) -> str:
        if self.paper.journal_ref and _CONFERENCE.search(self.paper.journal_ref):
            return "inproceedings"
        if self.paper.journal_ref or self.paper.doi:
            return "article"
        return "misc"


def entries(papers: Mapping[str, Paper], citekeys: Mapping[str, str]) -> list[Entry]:
    """An entry for every paper with metadata and a citekey, sorted by citekey. Of papers
    sharing a citekey (the user set one twice; reported elsewhere) the first by arXiv id."""
    chosen: dict[str, Entry] = {}
    for key in sorted(papers.keys() & citekeys.keys()):
        citekey = citekeys[key]
        chosen.setdefault(citekey.casefold(), Entry(citekey, key, papers[key]))
    return sorted(chosen.values(), key=lambda e: (e.citekey.casefold(), e.citekey))


# Bump when what an entry shows changes: bibliography files are then written anew.
ENTRY_FORMAT = 1


def inputs_digest(papers: Mapping[str, Paper], citekeys: Mapping[str, str]) -> str:
    """What the bibliography is made from, as a digest: the same digest, the same text."""
    parts: list[tuple[object, ...]] = []
    for key in sorted(papers.keys() & citekeys.keys()):
        p = papers[key]
        parts.append((citekeys[key], key, p.version, p.updated, p.title, p.authors, p.doi))
        parts.append((p.journal_ref, p.primary_category))
    return _digest(repr((ENTRY_FORMAT, parts)))


def render(format: str, items: Iterable[Entry]) -> str:
    if format == "bibtex":
        return render_bibtex(items)
    if format == "csl-json":
        return render_csl_json(items)
    raise ValueError(f"unknown bibliography format {format!r}; use {', '.join(FORMATS)}")


def format_of(path: str) -> str:
    """The format a bibliography file's name asks for: `.json` CSL-JSON, else BibTeX."""
    return "csl-json" if path.lower().endswith(".json") else "bibtex"


# -- BibTeX ----------------------------------------------------------------------------------


def render_bibtex(items: Iterable[Entry]) -> str:
    body = "\n".join(_bibtex_entry(entry) for entry in items)
    return f"{BIBTEX_HEADER}{_digest(body)}\n{_BIBTEX_NOTE}\n{body}"


_BIBTEX_NOTE = (
    "% Written by vaultpapers from this vault's paper notes, and rewritten when they change.\n"
    "% Edit a citekey in its paper note, not here: a file edited here is left alone.\n"
)


def written_by_us(text: str) -> bool:
    """Whether a BibTeX file is exactly as vaultpapers wrote it (its header's digest holds)."""
    text = text.replace("\r\n", "\n")  # converted to CRLF (git, an editor): still ours
    header = _HEADER_LINE.match(text)
    if header is None:
        return False
    rest = text[header.end() :]
    body = rest[len(_BIBTEX_NOTE) + 1 :] if rest.startswith(_BIBTEX_NOTE + "\n") else None
    return body is not None and _digest(body) == header.group(1)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _bibtex_entry(entry: Entry) -> str:
    paper = entry.paper
    fields: list[tuple[str, str]] = [
        ("title", _protect_capitals(latex_escape(paper.title))),
        ("author", " and ".join(bibtex_name(author) for author in paper.authors)),
        ("year", str(paper.published.year)),
    ]
    kind = entry.kind
    if kind == "inproceedings":
        fields.append(("booktitle", latex_escape(paper.journal_ref or "")))
    elif kind == "article" and paper.journal_ref:
        fields.append(("journal", latex_escape(paper.journal_ref)))
    elif kind == "misc":
        # As arXiv's DataCite record has it: the repository publishes, under its own DOI.
        fields.append(("publisher", "arXiv"))
    fields.append(("doi", paper.doi or f"10.48550/arXiv.{entry.key}"))
    fields += [
        ("eprint", entry.key),
        ("archivePrefix", "arXiv"),
        ("primaryClass", paper.primary_category),
        ("url", paper.url),
    ]
    lines = [f"@{kind}{{{entry.citekey},"]
    lines += [f"  {name} = {{{value}}}," for name, value in fields if value]
    lines.append("}")
    return "\n".join(lines) + "\n"


def bibtex_name(author: str) -> str:
    """'Laurens van der Maaten' -> 'van der Maaten, Laurens': BibTeX's unambiguous form. A
    name of one word (a Korean name written without spaces, a collaboration) is braced whole."""
    # Word by word: a name is split at its spaces, so no escape may hold one (`\\ `).
    words = " ".join(latex_escape(w, maths=False) for w in author.replace(",", " ").split()).split()
    if len(words) <= 1 or _GROUP.search(author):
        return f"{{{' '.join(words)}}}"
    # `and` inside a name is a word, not BibTeX's separator between two authors.
    words = ["{and}" if word.casefold() == "and" else word for word in words]
    family, suffix, given = bibtex_name_plain(words)
    return f"{family}, {suffix}, {given}" if suffix else f"{family}, {given}"


_SPECIALS = {"&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "$": r"\$"}
# Outside maths `~` is a non-breaking space and `^` an error: written as the characters.
_CHARACTERS = {"~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}
# `\\` is a line break, which a reference shows as a space; bibtexparser would read a `\\`
# ending the value as escaping its closing brace.
_CHARACTERS["\\\\"] = " "
# `\and` separates authors, and Pandoc drops a title holding it: written as the characters.
_CHARACTERS["\\and"] = r"\textbackslash{}and"
# arXiv's metadata is what the authors typed, TeX included: a backslash starting a macro
# (`\alpha`), an accent (`Schr\"odinger`) or an escape (`\&`, `\{`) stays. Any other
# backslash (a lone one, one ending the title) is a character: left bare, it would escape
# the value's closing brace and break the whole file.
_TOKEN = re.compile(r"\\(?:[A-Za-z]+|[&%#_${}\\\"'`^~=.,; ])|\\|[{}$&%#_~^]|[^\\{}$&%#_~^]+")
# `$...$` maths: no `$` inside, neither delimiter escaped.
_MATHS = re.compile(r"(?<!\\)\$(?:[^$\\]|\\[^$])+\$")


def latex_escape(text: str, maths: bool = True) -> str:
    """Text made safe inside a braced BibTeX value, for BibTeX, biber, Pandoc and
    bibtexparser: LaTeX's specials escaped outside `$...$` maths (a `$` left unpaired is a
    dollar), braces kept only where they pair (the others escaped), a backslash that starts
    no macro written as one, everything else (UTF-8, accents, Hangul) as it is. `maths`:
    False for names, in which a `$` is a dollar."""
    parts = _split_maths(text) if maths else [text]
    out: list[str] = []
    for i, part in enumerate(parts):
        if i % 2:  # maths: as the authors wrote it, but `%` (a comment) and `& #`
            out.append(re.sub(r"(?<!\\)[&%#]", lambda m: "\\" + m.group(), part))
        else:
            out.append(_escape_text(part))
    return "".join(out)


def _split_maths(text: str) -> list[str]:
    """`text` as [text, maths, text, ...]: `$...$` paired from the left as LaTeX pairs them,
    each kept as maths only if its braces pair."""
    parts: list[str] = []
    at = 0
    for match in _MATHS.finditer(text):
        if _pairs(_TOKEN.findall(match.group())) is None:
            parts += [text[at : match.start()], match.group()]
            at = match.end()
    parts.append(text[at:])
    return parts


def _pairs(tokens: list[str]) -> set[int] | None:
    """The indices of the brace tokens that pair (`{` with `}`, `\\{` with `\\}`); None
    when all do."""
    paired: set[int] = set()
    open_at: dict[str, list[int]] = {"{": [], "\\{": []}
    unpaired = False
    for i, token in enumerate(tokens):
        if token in open_at:
            open_at[token].append(i)
        elif token in ("}", "\\}"):
            stack = open_at["{" if token == "}" else "\\{"]
            if stack:
                paired |= {stack.pop(), i}
            else:
                unpaired = True
    if unpaired or any(open_at.values()):
        return paired
    return None


def _escape_text(text: str) -> str:
    tokens = _TOKEN.findall(text)
    paired = _pairs(tokens)
    out: list[str] = []
    for i, token in enumerate(tokens):
        if token in ("{", "}"):
            out.append(token if paired is None or i in paired else "\\" + token)
        elif token in _SPECIALS:
            out.append(_SPECIALS[token])
        elif token in _CHARACTERS:
            out.append(_CHARACTERS[token])
        else:
            out.append(token)
    return "".join(out)


def _protect_capitals(title: str) -> str:
    """`BERT`, `ImageNet`, `YOLOv4`, `GPT-3` braced, outside maths: styles that change a
    title's case (APA's sentence case) must leave them as written."""
    parts = _split_maths(title)
    for i in range(0, len(parts), 2):
        parts[i] = re.sub(
            r"(?<![\\{\w])(\w*[A-Z]\w*)",
            lambda m: f"{{{m.group(1)}}}" if _needs_protection(m.group(1)) else m.group(1),
            parts[i],
        )
    return "".join(parts)


def _needs_protection(word: str) -> bool:
    # `N` in 'The Large N Limit' too: sentence case would make it 'n'. 'A' is an article.
    return (
        any(char.isupper() for char in word[1:])
        or (any(char.isdigit() for char in word) and word[:1].isupper())
        or (len(word) == 1 and word not in ("A", "I"))
    )


# -- CSL-JSON --------------------------------------------------------------------------------


def render_csl_json(items: Iterable[Entry]) -> str:
    return json.dumps([_csl_item(entry) for entry in items], ensure_ascii=False, indent=2) + "\n"


def _csl_item(entry: Entry) -> dict[str, object]:
    paper = entry.paper
    published = paper.published
    item: dict[str, object] = {
        "id": entry.citekey,
        "type": {
            "misc": "article",
            "article": "article-journal",
            "inproceedings": "paper-conference",
        }[entry.kind],
        "title": plain_text(paper.title),
        "author": [csl_name(author) for author in paper.authors],
        "issued": {"date-parts": [[published.year, published.month, published.day]]},
        "URL": paper.url,
    }
    if entry.kind == "misc":
        # How Zotero and arXiv's own CSL export mark a preprint: the repository, its number.
        item["publisher"] = "arXiv"
        item["number"] = f"arXiv:{entry.key}"
        item["DOI"] = paper.doi or f"10.48550/arXiv.{entry.key}"
    else:
        if paper.journal_ref:
            item["container-title"] = plain_text(paper.journal_ref)
        if paper.doi:
            item["DOI"] = paper.doi
    return item


def plain_text(text: str) -> str:
    """CSL-JSON holds plain text: TeX escapes arXiv's metadata may hold (`\\&`, `\\%`) are
    shown by citeproc as typed, so they are taken out; maths stays as written."""
    return re.sub(r"\\([&%#_$])", r"\1", text)


def csl_name(author: str) -> dict[str, str]:
    words = " ".join(author.replace(",", " ").split()).split()
    if len(words) <= 1 or _GROUP.search(author):
        return {"literal": author.strip()}
    family, _, given = bibtex_name_plain(words)
    return {"family": family, "given": given}


def bibtex_name_plain(words: list[str]) -> tuple[str, str, str]:
    """(family, suffix, given) of a name's words, the way `bibtex_name` splits it."""
    last = last_name(" ".join(words))
    at = len(words) - 1 - words[::-1].index(last)
    start = at
    while start > 1 and words[start - 1] in _PARTICLES:
        start -= 1
    return " ".join(words[start : at + 1]), " ".join(words[at + 1 :]), " ".join(words[:start])


# -- keeping a bibliography file written ----------------------------------------------------


@dataclass(frozen=True)
class OnDisk:
    """A bibliography file as it is: its text, and its state for the writer's check."""

    text: str
    state: FileState


def plan_file(
    path: str, text: str, on_disk: OnDisk | None, remembered: str | None
) -> Write | Problem | None:
    """What to do about the bibliography file `path`, which should hold `text`: nothing (it
    does), a write, or a problem when the file there is not ours to replace. A BibTeX file is
    ours while its header's digest holds; a CSL-JSON file (JSON has no comments) while it is
    what we last wrote (`remembered`: that text's digest)."""
    if on_disk is None:
        return Write(path, text, None, reason="bibliography", kind=BIBLIOGRAPHY_KIND)
    if "\r\n" in on_disk.text:  # the file's line endings are kept (the writer's contract)
        text = text.replace("\n", "\r\n")
    if on_disk.text == text:
        return None
    ours = (
        written_by_us(on_disk.text)
        if format_of(path) == "bibtex"
        else remembered is not None and digest_of(on_disk.text) == remembered
    )
    if not ours:
        return Problem(
            path,
            None,
            "bibliography edited by hand or not written by vaultpapers: left alone. Delete it "
            "(or move your edits elsewhere) and the next run writes it again",
            "bibliography-not-ours",
        )
    return Write(path, text, on_disk.state, reason="bibliography", kind=BIBLIOGRAPHY_KIND)


def digest_of(text: str) -> str:
    """What a bibliography file holds, as a digest, whatever its line endings."""
    return _digest(text.replace("\r\n", "\n"))


def same_text(a: str, b: str) -> bool:
    """Whether two bibliographies hold the same text, whatever their line endings."""
    return a.replace("\r\n", "\n") == b.replace("\r\n", "\n")
