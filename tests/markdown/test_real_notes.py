"""`vaultpapers link` on real notes we did not write, measured against hand-labelled truth.

The vault in tests/realnotes/vault holds notes and paper lists from public repositories (see
tests/realnotes/SOURCES.md); tests/realnotes/truth.yaml says, note by note, which papers each
one really cites and where nothing may be inserted. One run of the real command line against
the loopback arXiv measures reference detection, every inserted link, the generated notes and
a second run: the invariants (no text lost, a second run writes nothing), then one check for
each way the public vaults showed a run going wrong (issue 16). `pytest -s -n 0` or `-rA` prints
the figures.
"""

from __future__ import annotations

import difflib
import gzip
import json
import re
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml
from click.testing import CliRunner

from factories import make_paper
from paths import REPO, TESTS
from reliability.harness import without_our_additions
from vaultpapers.arxiv.papers import Paper
from vaultpapers.cli import main
from vaultpapers.testing.arxiv_server import FakeArxiv

HERE = TESTS / "realnotes"
VAULT = HERE / "vault"
TRUTH = yaml.safe_load((HERE / "truth.yaml").read_text(encoding="utf-8"))["notes"]
# Real metadata recorded from arXiv, where a cited paper is among them (outside the repository;
# used when present). Every other paper is served as a plain generated entry.
RECORDED = [REPO.parent / "shared" / "realrelations" / f"papers_{part}.json.gz" for part in "ab"]

_NEW_ID = re.compile(r"(?<![\d.])(\d{4})\.(\d{4,5})(?:v\d+)?(?!\d)")
_OLD_ID = re.compile(r"(?<![\w-])([a-z]+(?:-[a-z]+)?)(?:\.[A-Za-z-]+)?/(\d{7})(?:v\d+)?(?!\d)")
_WIKILINK = re.compile(r"\[\[([^\[\]]+?)\]\]")
_MD_LINK = re.compile(
    r"\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\((<[^>\n]*>|[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)\)"
)
_MENTIONS = re.compile(
    r"<!-- vaultpapers:begin mentions -->(.*?)<!-- vaultpapers:end mentions -->", re.S
)
_DATAVIEW_LINE = re.compile(r"^\s*(?:[-*+]\s+)?\**[^\s:`\[\]()][^:`\[\]()]*?\**::")
_DATAVIEW_INLINE = re.compile(r"[\[(][^\[\]()\n:]+::[^\[\]()\n]*[\])]")
_HEX = re.compile(r"^(?:[0-9a-f]{3}|[0-9a-f]{6}|[0-9a-f]{8})$", re.I)


# --- the run -------------------------------------------------------------------------------


def _truth_notes() -> list[str]:
    return sorted(TRUTH)


def _vault_notes() -> list[str]:
    return sorted(p.relative_to(VAULT).as_posix() for p in VAULT.rglob("*.md"))


def _candidate_keys() -> set[str]:
    """Every id-looking string in the vault, so that whatever the tool takes for a reference is
    served and shows up in the generated notes (a false positive is then measurable)."""
    keys = {key for note in TRUTH.values() for key in note["cites"]}
    for path in VAULT.rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        keys.update(f"{m[1]}.{m[2]}" for m in _NEW_ID.finditer(text))
        keys.update(f"{m[1]}/{m[2]}" for m in _OLD_ID.finditer(text))
    return keys


def _recorded_papers() -> dict[str, dict]:
    found: dict[str, dict] = {}
    for path in RECORDED:
        if path.exists():
            with gzip.open(path, "rt", encoding="utf-8") as stream:
                found.update((entry["id"], entry) for entry in json.load(stream))
    return found


def _published(key: str) -> str:
    digits = key.split("/")[-1]
    yy, mm = int(digits[:2]), int(digits[2:4])
    year = (1900 + yy if yy >= 91 else 2000 + yy) if "/" in key else 2000 + yy
    return f"{year:04d}-{mm:02d}-15" if 1 <= mm <= 12 else "2001-01-15"


def _paper(key: str, recorded: dict[str, dict]) -> Paper:
    if key in recorded:
        entry = recorded[key]
        return make_paper(
            key,
            entry["title"],
            version=int(entry.get("version", 1)),
            published=entry["published"][:10],
            authors=tuple(entry["authors"]),
            summary=entry["summary"],
            categories=tuple(entry["categories"]),
        )
    return make_paper(key, f"Paper cited as {key}", published=_published(key))


def _link(vault: Path, api: FakeArxiv) -> str:
    env = {"VAULTPAPERS_ARXIV_DELAY": "0", "VAULTPAPERS_ARXIV_API": api.url}
    result = CliRunner().invoke(main, ["link", str(vault)], env=env)
    assert result.exit_code in (0, 1), result.output
    return result.output


def _markdown_files(vault: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(vault).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(vault.rglob("*.md"))
        if not any(part.startswith(".") for part in p.relative_to(vault).parts)
    }


@dataclass
class Run:
    vault: Path
    before: dict[str, str]
    after: dict[str, str]  # every Markdown file after the first run
    output: str
    second_changed: list[str]
    served: int
    served_real: int


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    vault = tmp_path_factory.mktemp("real") / "vault"
    shutil.copytree(VAULT, vault)
    before = {path: (vault / path).read_text(encoding="utf-8") for path in _vault_notes()}
    recorded = _recorded_papers()
    keys = sorted(_candidate_keys())
    with FakeArxiv() as api:
        for key in keys:
            api.add(_paper(key, recorded))
        output = _link(vault, api)
        first = _markdown_files(vault)
        _link(vault, api)
        second = _markdown_files(vault)
    after = {path: data.decode("utf-8") for path, (data, _) in first.items()}
    changed = sorted(p for p in first.keys() | second.keys() if first.get(p) != second.get(p))
    yield Run(vault, before, after, output, changed, len(keys), sum(k in recorded for k in keys))


# --- reading what the run wrote ------------------------------------------------------------


def _front_matter(text: str) -> tuple[dict, int]:
    """(properties, end offset of the front matter block) of a note."""
    if not text.startswith("---\n"):
        return {}, 0
    end = text.find("\n---", 4)
    if end < 0:
        return {}, 0
    try:
        data = yaml.safe_load(text[4:end]) or {}
    except yaml.YAMLError:
        data = {}
    return (data if isinstance(data, dict) else {}), end + 4


class Resolver:
    """Obsidian's rules: a wikilink target is matched case-insensitively against file names
    and vault paths (with or without .md, or a path suffix); a Markdown link is a path,
    URL-encoded, relative to the linking note (or to the vault root)."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        self.by_path = {p.lower(): p for p in paths}
        self.by_stem: dict[str, list[str]] = defaultdict(list)
        for p in paths:
            self.by_stem[Path(p).stem.lower()].append(p)

    def wikilink(self, inner: str) -> str | None:
        target = re.split(r"\\?\|", inner, maxsplit=1)[0].split("#")[0].strip().lower()
        if not target:
            return None
        bare = target[:-3] if target.endswith(".md") else target
        if f"{bare}.md" in self.by_path:
            return self.by_path[f"{bare}.md"]
        if "/" not in bare and len(self.by_stem.get(bare, [])) == 1:
            return self.by_stem[bare][0]  # an ambiguous name resolves to no one in particular
        suffix = [p for p in self.paths if p.lower().endswith(f"/{bare}.md")]
        return suffix[0] if suffix else None

    def markdown(self, destination: str, source: str) -> str | None:
        dest = unquote(destination.strip("<>").split("#")[0])
        if not dest or "://" in dest:
            return None
        for base in (str(Path(source).parent), ""):
            candidate = Path(base, dest).as_posix()
            parts: list[str] = []
            for part in candidate.split("/"):
                if part == "..":
                    parts = parts[:-1]
                elif part not in ("", "."):
                    parts.append(part)
            joined = "/".join(parts).lower()
            for option in (joined, f"{joined}.md"):
                if option in self.by_path:
                    return self.by_path[option]
        return None

    def links(self, text: str, source: str) -> list[tuple[str, str | None]]:
        """(written target, resolved vault path) of every link in `text`; a `[[` that does not
        open a well-formed wikilink (a name with brackets closes it early) resolves to None."""
        found: list[tuple[str, str | None]] = []
        covered: set[int] = set()
        for m in _WIKILINK.finditer(text):
            found.append((m[1], self.wikilink(m[1])))
            covered.add(m.start())
        found += [
            (text[i : text.find("\n", i) if "\n" in text[i:] else len(text)], None)
            for i in (m.start() for m in re.finditer(r"\[\[", text))
            if i not in covered and not any(i == c + 1 for c in covered)
        ]
        found += [(m[2], self.markdown(m[2], source)) for m in _MD_LINK.finditer(text)]
        return found

    def named(self, item: str, source: str) -> str | None:
        """The note a 'Mentioned in' entry names, leniently: its link target as written,
        even where the link itself is malformed (to measure detection apart from links)."""
        inner = item.strip()
        inner = inner[2:] if inner.startswith("[[") else inner
        inner = inner[:-2] if inner.endswith("]]") else inner
        written = re.split(r"\\?\|", inner)[0].strip().lower()
        for option in (written, f"{written}.md", unquote(written)):
            if option in self.by_path:
                return self.by_path[option]
        for m in _MD_LINK.finditer(item):
            return self.markdown(m[2], source)
        return self.wikilink(inner)


@dataclass
class Insertion:
    note: str
    offset: int  # in the original text
    line: int
    text: str
    targets: list[tuple[str, str | None]]
    problems: list[str] = field(default_factory=list)


@dataclass
class Measure:
    run: Run
    resolver: Resolver
    paper_notes: dict[str, str]  # path -> arxiv_id, generated paper notes
    detected: dict[str, set[str]]
    insertions: list[Insertion]
    lost: list[str]  # notes whose original text is not all kept
    unresolved_mentions: list[tuple[str, str]]
    index_tags: set[str]
    plugin_listed: list[str]


_LINK_SHAPE = re.compile(r"^ ?(?:\[\[[^\n]*\]\]|\[[^\n]*\]\([^\n]*\))$")


def _inserted(old: str, new: str) -> list[tuple[int, str]] | None:
    """(offset in old, inserted text) when `new` is `old` with text inserted, else None. An
    insertion the diff placed ambiguously is slid to where it reads as a link."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    out = []
    for tag, i1, _, j1, j2 in matcher.get_opcodes():
        if tag == "insert":
            out.append(_canonical(old, i1, new[j1:j2]))
        elif tag != "equal":
            return None
    return out if _splice(old, out) == new else None


def _splice(old: str, parts: list[tuple[int, str]]) -> str:
    pieces, last = [], 0
    for offset, text in parts:
        pieces += [old[last:offset], text]
        last = offset
    return "".join(pieces) + old[last:]


def _canonical(old: str, offset: int, text: str) -> tuple[int, str]:
    candidates = [(offset, text)]
    left_offset, left = offset, text
    while left_offset > 0 and old[left_offset - 1] == left[-1]:
        left_offset, left = left_offset - 1, old[left_offset - 1] + left[:-1]
        candidates.append((left_offset, left))
    right_offset, right = offset, text
    while right_offset < len(old) and old[right_offset] == right[0]:
        right_offset, right = right_offset + 1, right[1:] + old[right_offset]
        candidates.append((right_offset, right))
    shaped = [c for c in candidates if _LINK_SHAPE.match(c[1])]
    return min(shaped, key=lambda c: abs(c[0] - offset)) if shaped else (offset, text)


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _fenced_lines(text: str) -> set[int]:
    inside, fence, lines = False, "", set()
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.lstrip()
        if not inside and (stripped.startswith("```") or stripped.startswith("~~~")):
            inside, fence = True, stripped[:3]
            lines.add(number)
        elif inside:
            lines.add(number)
            if stripped.startswith(fence):
                inside = False
    return lines


def _inside_link(line: str, col: int) -> bool:
    return any(m.start() < col < m.end() for m in _MD_LINK.finditer(line))


def _bracket_depth(line: str, col: int) -> int:
    depth, escaped, code = 0, False, False
    for char in line[:col]:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "`":
            code = not code
        elif not code and char == "[":
            depth += 1
        elif not code and char == "]":
            depth = max(0, depth - 1)
    return depth


def _inside_tag(line: str, col: int) -> bool:
    opening = max(line.rfind("<", 0, col), -1)
    return (
        opening >= 0
        and re.match(r"</?[A-Za-z]", line[opening:]) is not None
        and ">" not in line[opening:col]
    )


def _classify(ins: Insertion, original: str, truth: dict, fenced: set[int]) -> None:
    start = _line_start(original, ins.offset)
    end = original.find("\n", ins.offset)
    line = original[start : end if end >= 0 else len(original)]
    col = ins.offset - start
    labelled: dict[int, set[str]] = defaultdict(set)
    for item in truth.get("no_link", []):
        labelled[item["line"]].add(item["why"])
    _, front_end = _front_matter(original)
    if ins.offset < front_end:
        ins.problems.append("front matter")
    if ins.line in fenced or "code" in labelled[ins.line]:
        ins.problems.append("code")
    if _inside_link(line, col):
        ins.problems.append("inside [..](..)")
    elif _bracket_depth(line, col) > 0:
        ins.problems.append("inside [..]")
    if _inside_tag(line, col):
        ins.problems.append("inside an HTML tag")
    if "html" in labelled[ins.line]:
        ins.problems.append("HTML block")
    inline_field = any(m.start() < col < m.end() for m in _DATAVIEW_INLINE.finditer(line))
    if "dataview" in labelled[ins.line] or _DATAVIEW_LINE.match(line) or inline_field:
        ins.problems.append("Dataview field")
    if "heading" in labelled[ins.line] or re.match(r"#{1,6}\s", line):
        ins.problems.append("heading")
    if "bib-entry" in labelled[ins.line]:
        ins.problems.append("#bib.bib entry")
    if not ins.targets:
        ins.problems.append("no link in the inserted text")
    if any(resolved is None for _, resolved in ins.targets):
        ins.problems.append("link does not resolve")


@pytest.fixture(scope="module")
def measure(run: Run) -> Measure:
    resolver = Resolver(sorted(run.after))
    paper_notes: dict[str, str] = {}
    index_tags: set[str] = set()
    for path, text in run.after.items():
        data, _ = _front_matter(text)
        if data.get("vaultpapers") == "paper" and isinstance(data.get("arxiv_id"), str):
            paper_notes[path] = data["arxiv_id"]
        if data.get("vaultpapers") == "tag" and isinstance(data.get("tag"), str):
            index_tags.add(data["tag"].lower())

    detected: dict[str, set[str]] = defaultdict(set)
    unresolved: list[tuple[str, str]] = []
    for path, text in run.after.items():
        key = paper_notes.get(path) or TRUTH.get(path, {}).get("adopt")
        for section in _MENTIONS.findall(text):
            for item in re.findall(r"^\s*[-*+]\s+(.*)$", section, re.M):
                links = resolver.links(item, path)
                unresolved += [(path, written) for written, to in links if to is None]
                named = resolver.named(item, path)
                if key and named:
                    detected[named].add(str(key))
    for path, note in TRUTH.items():
        adopted = note.get("adopt")
        if adopted and adopted not in paper_notes.values():
            detected[path].add(adopted)  # no second note: the user's note is the paper's note

    insertions: list[Insertion] = []
    lost: list[str] = []
    for path, original in run.before.items():
        new = run.after[path]
        if TRUTH.get(path, {}).get("adopt"):
            # The user's own note on a paper also gains the paper's properties and our
            # sections; what is measured here are the links.
            new = without_our_additions(original, new, ())
        if new == original:
            continue
        parts = _inserted(original, new)
        if parts is None:
            lost.append(path)
            continue
        fenced = _fenced_lines(original)
        for offset, text in parts:
            ins = Insertion(
                path, offset, original.count("\n", 0, offset) + 1, text, resolver.links(text, path)
            )
            _classify(ins, original, TRUTH.get(path, {}), fenced)
            insertions.append(ins)
    by_line: dict[tuple[str, int], list[Insertion]] = defaultdict(list)
    for ins in insertions:
        by_line[(ins.note, ins.line)].append(ins)
    for group in by_line.values():
        seen: set[str] = set()
        for ins in group:
            for written, resolved in ins.targets:
                target = resolved or written
                if target in seen:
                    ins.problems.append("second link to the same paper on the line")
                seen.add(target)

    plugin = [path for path, note in TRUTH.items() if note.get("not_prose")]
    listed = [
        f"{path} listed in {source}"
        for source, text in run.after.items()
        if source not in TRUTH
        for path in plugin
        for _, resolved in resolver.links(text, source)
        if resolved == path
    ]
    listed += [f"{path} got links" for path in plugin if run.after[path] != run.before[path]]
    return Measure(
        run, resolver, paper_notes, detected, insertions, lost, unresolved, index_tags, listed
    )


# --- figures ---------------------------------------------------------------------------------


def _scores(measure: Measure) -> tuple[dict[str, tuple[int, int, int]], tuple[int, int, int]]:
    per_note = {}
    for path, note in TRUTH.items():
        truth = {str(k) for k in note["cites"]}
        found = measure.detected.get(path, set())
        per_note[path] = (len(found & truth), len(found - truth), len(truth - found))
    total = tuple(sum(values[i] for values in per_note.values()) for i in range(3))
    return per_note, total  # type: ignore[return-value]


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def _problem_counts(measure: Measure) -> Counter[str]:
    return Counter(problem for ins in measure.insertions for problem in ins.problems)


def _hex_tags(measure: Measure) -> set[str]:
    labelled = {str(t).lower() for note in TRUTH.values() for t in note.get("not_tags", [])}
    return {tag for tag in measure.index_tags if tag in labelled}


def _duplicates(measure: Measure) -> list[str]:
    return sorted(
        f"{path} ({note['adopt']})"
        for path, note in TRUTH.items()
        if note.get("adopt") and note["adopt"] in measure.paper_notes.values()
    )


def report(measure: Measure) -> str:
    per_note, (tp, fp, fn) = _scores(measure)
    lines = [
        f"real notes: {len(TRUTH)} notes, {len({p.split('/')[0] for p in TRUTH})} source folders;"
        f" {measure.run.served} ids served ({measure.run.served_real} with recorded metadata)",
        f"reference detection: precision {_ratio(tp, tp + fp):.3f}, recall"
        f" {_ratio(tp, tp + fn):.3f} (tp {tp}, fp {fp}, fn {fn})",
    ]
    for path, (t, f, n) in sorted(per_note.items()):
        if f or n:
            missed = sorted({str(k) for k in TRUTH[path]["cites"]} - measure.detected[path])
            extra = sorted(measure.detected[path] - {str(k) for k in TRUTH[path]["cites"]})
            lines.append(f"  {path}: tp {t} fp {f} {extra} fn {n} {missed}")
    counts = _problem_counts(measure)
    lines.append(
        f"links inserted: {len(measure.insertions)} in"
        f" {len({i.note for i in measure.insertions})} notes; broken insertions:"
        f" {sum(1 for i in measure.insertions if i.problems)}"
    )
    lines += [f"  {name}: {count}" for name, count in sorted(counts.items())]
    for ins in measure.insertions:
        if ins.problems:
            lines.append(f"    {ins.note}:{ins.line} {ins.text.strip()!r} {ins.problems}")
    lines += [
        f"unresolved 'Mentioned in' links: {len(measure.unresolved_mentions)}",
        *(f"    {src}: {target!r}" for src, target in measure.unresolved_mentions),
        f"tags taken from HTML (tag indexes): {sorted(_hex_tags(measure))}",
        f"  every hex-looking tag index: {sorted(t for t in measure.index_tags if _HEX.match(t))}",
        f"plugin notes treated as notes: {measure.plugin_listed}",
        f"second paper notes for the user's own paper notes: {_duplicates(measure)}",
        f"user text lost in: {measure.lost}",
        f"second run changed: {measure.run.second_changed}",
    ]
    return "\n".join(lines)


def _with(measure: Measure, *problems: str) -> list[tuple[str, int, str]]:
    return [(i.note, i.line, p) for i in measure.insertions for p in i.problems if p in problems]


# --- invariants: hold today ------------------------------------------------------------------


def test_the_truth_labels_every_real_note_and_the_figures_are_printed(measure: Measure) -> None:
    print("\n" + report(measure))
    assert _truth_notes() == _vault_notes()


def test_no_user_text_is_lost_in_real_notes(measure: Measure) -> None:
    assert measure.lost == []


def test_a_second_run_on_real_notes_writes_nothing(measure: Measure) -> None:
    assert measure.run.second_changed == []


def test_no_link_goes_into_front_matter_or_code_of_real_notes(measure: Measure) -> None:
    assert _with(measure, "front matter", "code") == []


def test_reference_detection_on_real_notes_finds_nothing_they_do_not_cite(
    measure: Measure,
) -> None:
    # "arXiv, 2021", "arXiv 2019", "arXiv cs.GR (2026)", "arXiv:2310" (cut short), a DOI
    # "10.1016/j.patcog.2019.107038", bibcodes and /show-email/ URLs stand in these notes
    assert _scores(measure)[1][1] == 0  # false positives


def test_every_link_inserted_into_a_real_note_resolves(measure: Measure) -> None:
    assert [
        (i.note, i.line)
        for i in measure.insertions
        if not i.targets or any(r is None for _, r in i.targets)
    ] == []


# --- issue 16: what the public vaults showed, item by item ------------------------------------


def test_no_link_goes_inside_a_markdown_link_in_real_notes(measure: Measure) -> None:
    assert _with(measure, "inside [..](..)") == []


def test_no_link_goes_inside_brackets_around_a_link_in_real_notes(measure: Measure) -> None:
    assert _with(measure, "inside [..]") == []


def test_no_link_goes_into_a_dataview_field_in_real_notes(measure: Measure) -> None:
    assert _with(measure, "Dataview field") == []


def test_no_link_goes_into_html_in_real_notes(measure: Measure) -> None:
    assert _with(measure, "HTML block", "inside an HTML tag") == []


def test_a_bibliography_entry_link_gets_no_paper_link_in_real_notes(measure: Measure) -> None:
    assert _with(measure, "#bib.bib entry") == []


def test_one_link_per_paper_per_line_in_real_notes(measure: Measure) -> None:
    assert _with(measure, "second link to the same paper on the line") == []


def test_mentioned_in_links_resolve_for_real_file_names(measure: Measure) -> None:
    assert measure.unresolved_mentions == []


def test_hex_colours_in_html_are_not_tags_in_real_notes(measure: Measure) -> None:
    assert _hex_tags(measure) == set()


def test_excalidraw_drawings_are_not_treated_as_notes(measure: Measure) -> None:
    assert measure.plugin_listed == []


def test_a_users_own_paper_note_gets_no_second_note(measure: Measure) -> None:
    assert _duplicates(measure) == []


def test_browse_vanity_and_spaced_arxiv_forms_are_found_in_real_notes(measure: Measure) -> None:
    # the forms item 13 names, as they stand in these notes
    expected = {
        "asaparov-prontoqa/README.md": {"2305.15269"},  # browse.arxiv.org/pdf
        "unknown-awesome-ai-cn/README.md": {"2401.16861"},  # browse.arxiv.org/pdf
        "unknown-ai-notes-vanity/GPT3 prompt engineering reads.md": {"2102.07350"},
        "unknown-ml-interview-book/meta.md": {
            str(k) for k in TRUTH["unknown-ml-interview-book/meta.md"]["cites"]
        },  # arXiv 1906.00091
    }
    assert {p: ids - measure.detected.get(p, set()) for p, ids in expected.items()} == {
        p: set() for p in expected
    }


def test_no_link_goes_into_a_heading_of_real_notes(measure: Measure) -> None:
    assert _with(measure, "heading") == []


def test_reference_detection_on_real_notes_misses_nothing(measure: Measure) -> None:
    assert _scores(measure)[1][2] == 0  # false negatives
