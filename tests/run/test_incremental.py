"""An incremental run plans exactly what a full run would: it only looks at less."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import make_paper
from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.config import ArxivSettings, Settings, TagSelection, WatchSettings
from vaultpapers.run.incremental import WarmVault, open_state
from vaultpapers.run.options import RunOptions
from vaultpapers.run.pipeline import run_link
from vaultpapers.run.sources import cache_path
from vaults import MALDACENA, MIXER, PERCEIVER, PERCEIVER_IO, build_vault

PERCEIVER_AR = make_paper(
    "2202.07765",
    "General-purpose, long-context autoregressive modeling with Perceiver AR",
    published="2022-02-15",
    summary="We build on the Perceiver architecture.",
)
CACHED = (PERCEIVER, PERCEIVER_IO, MIXER, MALDACENA, PERCEIVER_AR)
IDS = ["2103.03206", "2107.14795", "2105.01601", "hep-th/9711200", "2202.07765", "2301.00001"]
START = {
    "a.md": "# A\nSee https://arxiv.org/abs/2103.03206 #review\n",
    "b.md": "---\ntags: [ml/vision]\n---\nMixer arXiv:2105.01601 and arXiv:2107.14795\n",
    "c/d.md": "Physics hep-th/9711200 #physics\n",
    "e.md": "No references, #review only.\n",
}

EDITS = st.one_of(
    st.tuples(st.just("cite"), st.sampled_from(sorted(START)), st.sampled_from(IDS)),
    st.tuples(
        st.just("tag"),
        st.sampled_from(sorted(START)),
        st.sampled_from(["#x", "#ml/nlp", "#ml/vision/deep", "#ML"]),
    ),
    st.tuples(st.just("new"), st.sampled_from(["n1.md", "c/n2.md", "a2.md"]), st.sampled_from(IDS)),
    # The user's own note on a paper: that paper's note, unless vaultpapers has one already.
    st.tuples(st.just("own"), st.sampled_from(["own.md", "c/own2.md"]), st.sampled_from(IDS)),
    # ... and no longer: the paper's note moves to a note of vaultpapers', and papers related
    # to it must link there.
    st.tuples(st.just("disown"), st.sampled_from(["own.md", "c/own2.md"]), st.just("")),
    st.tuples(st.just("delete"), st.sampled_from(sorted(START)), st.just("")),
    st.tuples(
        st.just("rename"), st.sampled_from(sorted(START)), st.sampled_from(["z.md", "c/a.md"])
    ),
    st.tuples(st.just("unrelate"), st.just("2103.03206"), st.just("")),
    st.tuples(st.just("uncite"), st.sampled_from(sorted(START)), st.just("")),
    # A new first line: the note's line in its tags' indexes changes, its tags do not (the
    # second one also gets a link inserted into that line).
    st.tuples(
        st.just("retitle"), st.sampled_from(sorted(START)), st.sampled_from(["Heading", IDS[2]])
    ),
    # Pandoc citations cite the paper whose note holds the citekey; the user may change one.
    st.tuples(
        st.just("pandoc"),
        st.sampled_from(sorted(START)),
        st.sampled_from(["jaegle2021perceiver", "maldacena1997large", "mine21", "nobody2020x"]),
    ),
    st.tuples(st.just("citekey"), st.just("2103.03206"), st.sampled_from(["mine21", "other"])),
)


def apply(vault: Path, edit: tuple[str, str, str]) -> None:
    kind, path, arg = edit
    target = vault / path
    if kind == "new":
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"New note on https://arxiv.org/abs/{arg} #fresh\n", encoding="utf-8")
    elif kind == "own":
        target.parent.mkdir(parents=True, exist_ok=True)
        own = f"---\nsource: https://arxiv.org/abs/{arg}\ntags: [mine]\n---\nMy notes.\n"
        target.write_text(own, encoding="utf-8")
    elif not target.exists() and kind not in ("unrelate", "citekey"):
        return
    elif kind == "pandoc":
        target.write_text(target.read_text(encoding="utf-8") + f"\nAs [@{arg}] says.\n", "utf-8")
    elif kind == "citekey":
        note = next((vault / "Papers").glob("Perceiver - *.md"), None)
        if note is not None:
            text = note.read_text(encoding="utf-8")
            note.write_text(re.sub(r"(?m)^citekey: .*$", f"citekey: {arg}", text), "utf-8")
    elif kind == "cite":
        target.write_text(target.read_text(encoding="utf-8") + f"\nAlso arXiv:{arg}.\n", "utf-8")
    elif kind == "tag":
        target.write_text(target.read_text(encoding="utf-8") + f"\n{arg}\n", encoding="utf-8")
    elif kind == "retitle":
        line = f"See arXiv:{arg}" if arg in IDS else arg
        target.write_text(f"{line}\n" + target.read_text(encoding="utf-8"), encoding="utf-8")
    elif kind == "disown":
        text = target.read_text(encoding="utf-8")
        target.write_text(text.replace("source:", "vaultpapers: false\nsource:", 1), "utf-8")
    elif kind == "uncite":
        target.write_text("Nothing cited here any more.\n", encoding="utf-8")
    elif kind == "delete":
        target.unlink()
    elif kind == "rename":
        (vault / arg).parent.mkdir(parents=True, exist_ok=True)
        if not (vault / arg).exists():
            target.rename(vault / arg)
    elif kind == "unrelate":
        note = next((vault / "Papers").glob("Perceiver - *.md"), None)
        if note is not None:
            text = note.read_text(encoding="utf-8")
            note.write_text(text.replace("  - '[[General-purpose", "  - '[[Gone"), "utf-8")


def planned(
    vault: Path, *, full: bool, settings: Settings | None = None
) -> list[tuple[str, str, bool, str | None]]:
    if full:
        with open_state(vault) as state:
            state.put("basis", None)
    report = run_link(vault, settings or Settings(), RunOptions(offline=True, dry_run=True))
    return sorted((w.path, w.text, w.delete, w.replaces) for w in report.planned)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(EDITS, min_size=1, max_size=4),
    rounds=st.integers(1, 2),
    # Tags without an index still count in their parent's index.
    selection=st.sampled_from([TagSelection(), TagSelection(exclude=("ml/nlp", "x"))]),
)
def test_an_incremental_plan_equals_a_full_plan(
    edits: list, rounds: int, selection: TagSelection
) -> None:
    chosen = Settings(index_tags=selection)
    with tempfile.TemporaryDirectory() as tmp:
        vault = build_vault(Path(tmp) / "v", dict(START))
        cache_path(vault).parent.mkdir()
        with PaperCache(cache_path(vault)) as cache:
            cache.put_many(CACHED)
        run_link(vault, chosen, RunOptions(offline=True))
        for round_ in range(rounds):
            for edit in edits[round_::rounds]:
                apply(vault, edit)
            copy = Path(tmp) / f"copy{round_}"
            shutil.copytree(vault, copy)
            incremental = planned(vault, full=False, settings=chosen)
            assert incremental == planned(copy, full=True, settings=chosen)
            run_link(vault, chosen, RunOptions(offline=True))


def files(vault: Path) -> dict[str, tuple[int, int, int]]:
    found = {}
    for path in vault.rglob("*.md"):
        stat = path.stat()
        found[path.relative_to(vault).as_posix()] = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    return found


def texts(vault: Path) -> dict[str, bytes]:
    return {path: (vault / path).read_bytes() for path in sorted(files(vault))}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(EDITS, min_size=1, max_size=6), rounds=st.integers(1, 3))
def test_a_warm_run_told_what_changed_leaves_the_vault_a_cold_run_leaves(
    edits: list, rounds: int
) -> None:
    """The watcher's runs: the vault kept warm in memory, and only the paths it saw events
    for looked at again (no listing, no state read)."""
    with tempfile.TemporaryDirectory() as tmp:
        warm_vault = build_vault(Path(tmp) / "warm", dict(START))
        cache_path(warm_vault).parent.mkdir()
        with PaperCache(cache_path(warm_vault)) as cache:
            cache.put_many(CACHED)
        cold_vault = Path(tmp) / "cold"
        shutil.copytree(warm_vault, cold_vault)
        memory = WarmVault()
        run_link(warm_vault, Settings(), RunOptions(offline=True), memory=memory)
        run_link(cold_vault, Settings(), RunOptions(offline=True))
        for round_ in range(rounds):
            before = files(warm_vault)
            for edit in edits[round_::rounds]:
                apply(warm_vault, edit)
                apply(cold_vault, edit)
            after = files(warm_vault)
            changed = {
                path for path in before.keys() | after.keys() if before.get(path) != after.get(path)
            }
            run_link(
                warm_vault,
                Settings(),
                RunOptions(offline=True, changed=frozenset(changed)),
                memory=memory,
            )
            run_link(cold_vault, Settings(), RunOptions(offline=True))
            assert texts(warm_vault) == texts(cold_vault)


def linked_then_cited(tmp_path: Path, text: str) -> tuple[Path, Path]:
    """A linked vault in which a new note (`text`) was just written, and a copy of it linked
    in one go: what the watcher's runs must end up with."""
    vault = build_vault(tmp_path / "v", dict(START))
    cache_path(vault).parent.mkdir()
    with PaperCache(cache_path(vault)) as cache:
        cache.put_many(CACHED)
    run_link(vault, Settings(), RunOptions(offline=True))
    (vault / "new.md").write_text(text, encoding="utf-8")
    once = tmp_path / "once"
    shutil.copytree(vault, once)
    run_link(once, Settings(), RunOptions(offline=True))
    return vault, once


def test_a_deferred_run_leaves_relations_and_indexes_to_the_follow_up(
    tmp_path: Path,
) -> None:
    """The watcher's two steps for a new paper: its note at once, then what lists it."""
    vault, once = linked_then_cited(tmp_path, "Perceiver AR: arXiv:2202.07765\n")

    first = run_link(vault, Settings(), RunOptions(offline=True, defer_relations=True))
    assert first.relations_stale
    assert first.written("paper", new=True) == 1
    tag_index = vault / "Papers" / "Tags" / "Tag arxiv › cs-LG.md"
    assert "Perceiver AR" not in tag_index.read_text(encoding="utf-8")
    second = run_link(vault, Settings(), RunOptions(offline=True))
    assert not second.relations_stale
    assert "Perceiver AR" in tag_index.read_text(encoding="utf-8")
    assert texts(vault) == texts(once)


class YieldAfter:
    """Says "yield" from its `checks`-th question on: the user saving again while the run is
    part-way through."""

    def __init__(self, checks: int) -> None:
        self.checks = checks

    def __call__(self) -> bool:
        self.checks -= 1
        return self.checks < 0


@pytest.mark.parametrize("checks", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12])
def test_a_follow_up_that_gives_way_to_an_edit_leaves_the_rest_owed(
    tmp_path: Path, checks: int
) -> None:
    vault, once = linked_then_cited(tmp_path, "Perceiver AR: arXiv:2202.07765 #fresh\n")
    run_link(vault, Settings(), RunOptions(offline=True, defer_relations=True))
    before = texts(vault)

    interrupted = run_link(
        vault, Settings(), RunOptions(offline=True), should_yield=YieldAfter(checks)
    )
    assert interrupted.relations_stale
    assert texts(vault) != texts(once)
    if checks == 0:  # given way before relating: nothing written
        assert texts(vault) == before
    last = run_link(vault, Settings(), RunOptions(offline=True))
    assert not last.relations_stale
    assert texts(vault) == texts(once)


def test_settings_no_note_depends_on_leave_every_generated_note_as_it_was_planned(
    tmp_path: Path,
) -> None:
    """How arXiv is asked and when the watcher runs: changing them redoes no note's work."""
    vault, _ = linked_then_cited(tmp_path, "Perceiver AR: arXiv:2202.07765\n")
    run_link(vault, Settings(), RunOptions(offline=True))
    with open_state(vault) as state:
        planned = state.outputs()
    other = replace(
        Settings(),
        arxiv=ArxivSettings(delay=0.0, batch_size=7),
        watch=WatchSettings(settle=0.5, quiet=0.1),
    )
    (vault / "new.md").write_text("Perceiver AR again: arXiv:2202.07765\n", encoding="utf-8")
    report = run_link(vault, other, RunOptions(offline=True))
    with open_state(vault) as state:
        assert state.outputs() == planned
    assert report.written("paper") == 0
    assert Settings().for_notes != replace(Settings(), papers_folder="Refs").for_notes


def test_a_note_whose_links_waited_is_listed_by_its_new_line_once_they_go_in(
    tmp_path: Path,
) -> None:
    """The watcher leaves the note being typed in without links (`defer_links_in`); the next
    run owes it them. Put into its first line, they change the line its tags' indexes show,
    though neither its text nor its tags changed since its scan."""
    vault = build_vault(tmp_path / "v", {**START, "a.md": "Perceiver arXiv:2103.03206 #review\n"})
    cache_path(vault).parent.mkdir()
    with PaperCache(cache_path(vault)) as cache:
        cache.put_many(CACHED)
    run_link(vault, Settings(), RunOptions(offline=True, defer_links_in=frozenset({"a.md"})))
    copy = tmp_path / "copy"
    shutil.copytree(vault, copy)
    incremental = planned(vault, full=False)
    assert any(path.startswith("Papers/Tags/") for path, *_ in incremental)
    assert incremental == planned(copy, full=True)


@pytest.mark.parametrize(
    "change",
    [
        ("IO 2.md", "---\nurl: https://arxiv.org/abs/2107.14795\n---\nMine too.\n"),  # two now
        ("IO.md", "---\nvaultpapers: false\nsource: https://arxiv.org/abs/2107.14795\n---\nIO\n"),
        ("IO.md", None),  # deleted
    ],
)
def test_when_a_papers_note_moves_off_the_users_own_note_related_papers_follow(
    tmp_path: Path, change: tuple[str, str | None]
) -> None:
    vault = build_vault(
        tmp_path / "v",
        {
            "Log.md": "Perceiver arXiv:2103.03206\n",
            "IO.md": "---\nsource: https://arxiv.org/abs/2107.14795\n---\nIO\n",
        },
    )
    cache_path(vault).parent.mkdir()
    with PaperCache(cache_path(vault)) as cache:
        cache.put_many(CACHED)
    run_link(vault, Settings(), RunOptions(offline=True))
    path, text = change
    if text is None:
        (vault / path).unlink()
    else:
        (vault / path).write_text(text, encoding="utf-8")
    copy = tmp_path / "copy"
    shutil.copytree(vault, copy)
    assert planned(vault, full=False) == planned(copy, full=True)
