"""The catalog a watcher keeps up to date note by note is the one a cold run builds afresh."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vaultpapers.model import FileState, Note
from vaultpapers.scan.catalog import Catalog
from vaultpapers.scan.note import NoteScan, scan_or_report

# Few names, in few folders, so that notes share file names and papers get two notes.
PATHS = [
    f"{folder}{name}.md"
    for folder in ("", "Papers/", "Deep/er/")
    for name in ("a", "B", "arXiv 2103.03206", "Perceiver (2103.03206)", "tag-ml")
]
KEYS = ["2103.03206", "2107.14795", "hep-th/9711200"]


def _text(kind: str, key: str, cited: list[str], broken: bool) -> str:
    if kind == "paper":  # `broken` here: the user vetoed a related paper, or took one out
        veto = {"2103.03206": "unrelated: ['[[B]]']\n", "2107.14795": "related: []\n"}.get(key, "")
        section = (
            "<!-- vaultpapers:begin related -->\n## Related papers\n\n- [[a]] · same authors\n"
            "<!-- vaultpapers:end related -->\n"
        )
        front = f"---\nvaultpapers: paper\narxiv_id: '{key}'\n{veto if broken else ''}---\n"
        return f"{front}# {key}\n{section}"
    if kind == "tag":
        return "---\nvaultpapers: tag\ntag: ML\n---\n# ML\n"
    if kind == "own":  # the user's own note on a paper, named in its properties
        return f"---\nsource: https://arxiv.org/abs/{key}\n---\n# My notes\n"
    front = "---\ntags: [ml\n---\n" if broken else ""  # unreadable YAML: a problem
    return front + "".join(f"See https://arxiv.org/abs/{c} today.\n" for c in cited) + "#ml\n"


notes = st.builds(
    _text,
    st.sampled_from(["user", "user", "paper", "tag", "own"]),
    st.sampled_from(KEYS),
    st.lists(st.sampled_from(KEYS), max_size=3),
    st.booleans(),
)
steps = st.lists(
    st.tuples(st.sampled_from(PATHS), st.one_of(st.none(), notes)), min_size=1, max_size=40
)


def _scan(path: str, text: str) -> NoteScan:
    return scan_or_report(Note(path, text, False, FileState(0, len(text), "x")))


def _shape(catalog: Catalog) -> dict[str, object]:
    def paths(groups: dict) -> dict:
        return {key: [scan.note.path for scan in group] for key, group in groups.items()}

    return {
        "scans": {path: id(scan) for path, scan in catalog.scan_at.items()},
        "papers": paths(catalog.paper_notes),
        "indexes": paths(catalog.index_notes),
        "citations": paths(catalog.citations),
        "stems": catalog.stems,
        "problems": catalog.scan_problems(),
        "twice": [(what, [s.note.path for s in group]) for what, group in catalog.claimed_twice()],
        "order": [scan.note.path for scan in catalog.in_path_order()],
        "speaking": catalog.speaking,
        "user_notes": catalog.user_notes,
        "tagged": catalog.tagged,
        "naming": paths(catalog.naming),
    }


@settings(max_examples=150, deadline=None)
@given(steps)
def test_a_catalog_updated_note_by_note_equals_one_built_afresh(changes):
    kept = Catalog()
    current: dict[str, NoteScan] = {}
    for path, text in changes:
        if text is None:
            kept.discard(path)
            current.pop(path, None)
        else:
            scan = _scan(path, text)
            kept.put(scan)
            current[path] = scan
        kept.in_path_order()  # asked for between changes too: it must not go stale
    assert _shape(kept) == _shape(Catalog(current.values()))
    papers = [scan for scan in kept.scan_at.values() if scan.said is not None]
    assert kept.speaking == {s.note.path for s in papers if s.said.unrelated or s.said.removed}


def test_a_paper_with_two_notes_prefers_the_complete_one_and_is_reported_once():
    stub = _scan("Papers/arXiv 2103.03206.md", _text("paper", "2103.03206", [], False))
    full = _scan("Z/Perceiver (2103.03206).md", _text("paper", "2103.03206", [], False))
    catalog = Catalog([stub, full])
    assert catalog.paper_notes["2103.03206"] == [full, stub]
    assert [what for what, _ in catalog.claimed_twice()] == ["arXiv 2103.03206"]
    catalog.discard(full.note.path)
    assert catalog.paper_notes["2103.03206"] == [stub]
    assert catalog.claimed_twice() == []
