"""Properties over arbitrary vaults: Markdown with code, links, tags, front matter, Korean,
random arXiv references and near-misses; papers whose metadata is full of YAML and Markdown.

Whatever the input: user notes only gain insertions; every front matter written parses and
round-trips the metadata exactly; running twice equals running once; nothing is written
outside the vault; and a copy of the vault built in another order gets the same notes.
"""

from __future__ import annotations

import re
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from factories import make_paper
from reliability.harness import (
    front_matter,
    own_note_on_a_paper,
    paper_notes,
    seed_cache,
    without_our_additions,
)
from vaultpapers.arxiv.papers import Paper
from vaultpapers.config import Settings
from vaultpapers.model import Outcome
from vaultpapers.run.options import RunOptions
from vaultpapers.run.pipeline import run_link
from vaults import build_vault, notes_only, snapshot

# Inserted links read `[[Note|arXiv:ID]]`: what a title does to a link's label is checked in
# test_bad_input; here the titles shape only the paper notes and their names.
SETTINGS = Settings(link_label="id")

new_style_ids = st.builds(
    lambda year, month, number: f"{year:02d}{month:02d}.{number:05d}",
    st.integers(15, 24),
    st.integers(1, 12),
    st.integers(1, 99999),
)
old_style_ids = st.builds(
    lambda year, month, number: f"hep-th/{year:02d}{month:02d}{number:03d}",
    st.integers(92, 99),
    st.integers(1, 12),
    st.integers(1, 999),
)
arxiv_ids = st.one_of(new_style_ids, old_style_ids)

SPECIALS = [
    ": ", "#", "[[", "]]", "---", "|", '"', "'", "$\\alpha$", "../", "..", "\n", "\r\n", "\t",
    "- ", "? ", "& ", "*", "!", "%", "@", "`", "```", "<!--", "-->", "%%", "$$", "{", "}",
    ">", "~", "\\", "/", "yes", "null", "2021-01-01", "1e3", "0x1F", "논문", "비전 트랜스포머",
    "e\u0301", "é", "Perceiver", "IO", "v2", " ", "  ", "<!-- vaultpapers:end paper -->",
]  # fmt: skip
# What arXiv's API can deliver: text with every special a title or an author list holds, on
# one line (the client collapses whitespace, line breaks included), valid in XML 1.0.
metadata_text = (
    st.one_of(
        st.lists(st.sampled_from(SPECIALS), min_size=1, max_size=10).map("".join),
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff"),
            min_size=1,
            max_size=30,
        ),
    )
    .map(lambda text: " ".join("".join(c for c in text if c >= " " or c in "\t\n\r").split()))
    .filter(bool)
)


@st.composite
def papers(draw: st.DrawFn, arxiv_id: str) -> Paper:
    published = datetime(2015, 1, 1, 17, tzinfo=timezone.utc) + timedelta(
        days=draw(st.integers(0, 3650))
    )
    optional = st.none() | metadata_text
    return Paper(
        arxiv_id=arxiv_id,
        version=draw(st.integers(1, 9)),
        title=draw(metadata_text),
        authors=tuple(draw(st.lists(metadata_text, min_size=1, max_size=3))),
        summary=draw(metadata_text),
        published=published,
        updated=published + timedelta(days=draw(st.integers(0, 400))),
        primary_category="cs.LG",
        categories=tuple(draw(st.lists(st.sampled_from(["cs.LG", "hep-th", "math.GT"]))))
        or ("cs.LG",),
        doi=draw(optional),
        journal_ref=draw(optional),
        comment=draw(optional),
    )


REFERENCE_FORMS = [
    "https://arxiv.org/abs/{}",
    "https://arxiv.org/pdf/{}v2",
    "https://arxiv.org/abs/{}.pdf",
    "http://export.arxiv.org/abs/{}?context=cs#x",
    "arXiv:{}",
    "(https://arxiv.org/abs/{})가",
    "[paper](https://arxiv.org/abs/{})",
    "<https://arxiv.org/abs/{}>",
    "https://doi.org/10.48550/arXiv.{}",
    "| a | https://arxiv.org/abs/{} |",
    "`arXiv:{}`",
    "[[arXiv {}]]",
    "arXiv {}",
    "https://ar5iv.labs.arxiv.org/html/{}#bib.bib3",
]
# Forms whose inside never gains a link (a link there would break a Markdown link, change a
# Dataview field's value, or show as text in raw HTML): each must still stand whole afterwards.
PROTECTED_FORMS = [
    "[[Paper]](https://arxiv.org/abs/{0})",
    '[[arXiv:{0}]](https://arxiv.org/abs/{0} "title")',
    "\nsource:: https://arxiv.org/abs/{0}\n",
    "\n- **links**:: arXiv:{0}, https://arxiv.org/pdf/{0}\n",
    "[via:: https://arxiv.org/abs/{0}]",
    "(via:: arXiv:{0})",
    '\n\n<div>\n<a href="https://arxiv.org/abs/{0}">arXiv: {0}</a>\n</div>\n\n',
    "\n\n<pre>\narXiv:{0}\n\nhttps://arxiv.org/abs/{0}\n</pre>\n",
]
NEAR_MISSES = [
    "https://arxiv.org/abs/2006.162360",
    "arXiv:2013.01234",
    "arXiv:2103.03206v0",
    "https://example.org/abs/2103.03206",
    "arxiv.org/list/cs.LG",
    "hep-th/97112",
    "images/1234567",
    "mAP@0.5:0.95",
    "1706.03762",
]
MARKDOWN = [
    " ", "\n", "\r\n", "\n\n", "```\n", "```python\n", "~~~\n", "`", "# Heading ", "## 제목 ",
    "- ", "> ", "| h | h |\n|---|---|\n", "#review ", "#비전/트랜스포머 ", "#2021 ", "#a.b ",
    "[[Some note]]", "[[Some note|alias]]", "![[image.png]]", "논문을 읽었다. ", "$\\alpha$ ",
    "<!-- comment -->", "%% hidden %%", "**bold** ", "](", "[", ")", "<div>", "---\n",
    "[ref]: https://arxiv.org/abs/2103.03206\n", "<!-- vaultpapers:begin paper -->",
    "::", "key:: ", "[k:: ", "(", "<pre>\n", "</pre>\n", "<span>\n", "\n\n<details>\n",
    "[[x]](", "[[x]]",
]  # fmt: skip
FRONT_MATTER = [
    "",
    "---\ntitle: Notes\ntags: [review, 논문]\n---\n",
    '---\nlayout: post\ntitle: "A: b"\nlink: https://arxiv.org/abs/2103.03206\n---\n',
    "---\nbroken: [yaml\n---\n",
    "---\n- a list\n---\n",
    "---\njust a scalar\n---\n",
    "\ufeff---\ntitle: bom\n---\n",
    "---\r\ntags:\r\n  - windows\r\n---\r\n",
]
names = st.text(st.sampled_from("abcxyzABC019 -_()가나다논문é"), min_size=1, max_size=24).filter(
    lambda name: name.strip() and not name.startswith((" ", "-"))
)
folders = st.sampled_from(["", "Daily/", "프로젝트/", "Deep/er/", "Papers/"])


@st.composite
def vaults(draw: st.DrawFn) -> tuple[dict[str, str], list[Paper]]:
    ids = draw(st.lists(arxiv_ids, min_size=1, max_size=5, unique=True))
    # Most papers cited have metadata; the others get pending notes.
    known = [i for i in ids if draw(st.sampled_from([True, True, True, False]))]
    reference = st.builds(
        lambda form, arxiv_id: form.format(arxiv_id),
        st.sampled_from(REFERENCE_FORMS),
        st.sampled_from(ids),
    )
    protected = st.builds(
        lambda form, arxiv_id: form.format(arxiv_id),
        st.sampled_from(PROTECTED_FORMS),
        st.sampled_from(ids),
    )
    fragment = st.one_of(
        reference,
        reference,
        protected,
        st.sampled_from(NEAR_MISSES),
        st.sampled_from(MARKDOWN),
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
    )
    notes: dict[str, str] = {}
    for _ in range(draw(st.integers(1, 4))):
        path = f"{draw(folders)}{draw(names)}.md"
        if path.casefold() not in {p.casefold() for p in notes}:
            body = "".join(draw(st.lists(fragment, max_size=30)))
            notes[path] = draw(st.sampled_from(FRONT_MATTER)) + body
    return notes, [draw(papers(arxiv_id)) for arxiv_id in known]


_ID = r"(?:\d{4}\.\d{5}|hep-th/\d{7})"
_PROTECTED = re.compile(
    "|".join(
        re.escape(form).replace(re.escape("{0}"), _ID).replace("\\{0\\}", _ID)
        for form in PROTECTED_FORMS
    )
)


def protected_instances(text: str) -> set[str]:
    return {match.group() for match in _PROTECTED.finditer(text)}


def make_vault(root: Path, notes: dict[str, str], cached: list[Paper], *, reverse: bool) -> Path:
    order = sorted(notes, reverse=reverse)
    vault = build_vault(root, {path: notes[path].encode("utf-8") for path in order})
    seed_cache(vault, cached)
    return vault


def expected_front_matter(paper: Paper) -> dict[str, object]:
    return {
        "arxiv_id": paper.arxiv_id,
        "version": paper.version,
        "title": paper.title,
        "authors": list(paper.authors),
        "published": paper.published_date,
        "updated": paper.updated_date,
        "categories": list(paper.categories),
        "doi": paper.doi,
        "journal_ref": paper.journal_ref,
        "comment": paper.comment,
    }


def found(note: str, *titles: str) -> tuple[dict[str, str], list[Paper]]:
    """A vault of the shape hypothesis shrank failures to: one note citing papers 1501.00003,
    1501.00004, ... with these titles."""
    return {"0.md": note}, [make_paper(f"1501.{3 + i:05d}", t) for i, t in enumerate(titles)]


A, B = "https://arxiv.org/abs/1501.00003", "https://arxiv.org/abs/1501.00004"


# The user's own note on a paper (`link:` names it), with metadata and without, cited elsewhere.
OWN = '---\nlayout: post\ntitle: "A: b"\nlink: https://arxiv.org/abs/2103.03206\n---\n'


@example(vault_and_papers=({"0.md": OWN + "x", "1.md": "arXiv:2103.03206"}, []))
@example(
    vault_and_papers=(
        {"0.md": OWN + A + "\n\n", "1.md": "arXiv:2103.03206"},
        [make_paper("2103.03206", "T: u"), make_paper("1501.00003", "A")],
    )
)
@example(vault_and_papers=found(f"\\[[Paper]]({A})", "A"))  # no link inside its '(...)'
@example(vault_and_papers=found(f"`{A}", "`"))
@example(vault_and_papers=found(f"{A} then {B} $$", "x $$ y", "B"))
@example(vault_and_papers=found(f"{A} then {B}", "%%", "B"))
@example(vault_and_papers=found(A, "../../"))
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(vault_and_papers=vaults())
def test_any_vault_only_gains_links_round_trips_metadata_and_is_stable(
    vault_and_papers: tuple[dict[str, str], list[Paper]],
) -> None:
    notes, cached = vault_and_papers
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "outside").mkdir()
        (root / "outside" / "keep.md").write_text("not in the vault\n", encoding="utf-8")
        vault = make_vault(root / "vault", notes, cached, reverse=False)

        first = run_link(vault, SETTINGS, RunOptions(offline=True))
        assert sorted(p.name for p in root.iterdir()) == ["outside", "vault"]
        assert [p.name for p in (root / "outside").iterdir()] == ["keep.md"]
        for result in first.results:
            target = (vault / result.write.path).resolve()
            assert target.is_relative_to(vault.resolve()), result.write.path
            hidden = [part for part in Path(result.write.path).parts if part.startswith(".")]
            assert not hidden, f"{result.write.path}: a note Obsidian would never show"

        created = [
            path
            for path in vault.rglob("*.md")
            if path.relative_to(vault).parts[0] != ".vaultpapers"
            and path.relative_to(vault).as_posix() not in notes
        ]
        stems = [path.stem for path in created]
        # The user's own notes on papers are linked to as well.
        stems += [Path(path).stem for path, text in notes.items() if own_note_on_a_paper(text)]
        for path, old in notes.items():
            new = (vault / path).read_bytes().decode("utf-8")
            assert without_our_additions(old, new, stems) == old, path
            for whole in protected_instances(old):
                assert new.count(whole) == old.count(whole), (path, whole)

        claims = paper_notes(vault)
        by_key = {paper.arxiv_id: paper for paper in cached}
        for key, paths in claims.items():
            for path in paths:
                if path in notes:
                    continue  # a user note that already claimed to be a paper note
                data = front_matter((vault / path).read_text(encoding="utf-8"))
                assert data is not None, path
                if key in by_key:
                    wanted = expected_front_matter(by_key[key])
                    got = {name: data.get(name) for name in wanted}
                    assert got == wanted, path
                    assert by_key[key].title in data["aliases"]
                else:
                    assert data.get("metadata") == "pending"
        for note in (vault / "Papers").rglob("*.md") if (vault / "Papers").exists() else ():
            relative = note.relative_to(vault).as_posix()
            if relative not in notes:
                assert front_matter(note.read_text(encoding="utf-8")) is not None, relative

        once = snapshot(vault)
        second = run_link(vault, SETTINGS, RunOptions(offline=True))
        assert [r.write.path for r in second.results if r.outcome is Outcome.WRITTEN] == []
        assert snapshot(vault) == once
        for state in (vault / ".vaultpapers").glob("state.sqlite*"):
            state.unlink()  # a per-machine memory: forgetting it must change nothing
        run_link(vault, SETTINGS, RunOptions(offline=True))
        assert notes_only(snapshot(vault)) == notes_only(once)

        other = make_vault(root / "other", notes, cached, reverse=True)
        run_link(other, SETTINGS, RunOptions(offline=True))
        assert notes_only(snapshot(other)) == notes_only(once)
