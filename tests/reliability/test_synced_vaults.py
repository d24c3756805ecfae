"""One vault synced to several machines, each running vaultpapers on its own: they must write
byte-identical notes, so the sync tool sees no conflict and no duplicate paper notes appear."""

from __future__ import annotations

import difflib
import re
import shutil
from datetime import date, datetime, timezone
from pathlib import Path

from factories import make_paper
from reliability.harness import (
    cached_vault,
    front_matter,
    lines_naming,
    link,
    paper_notes,
    seed_cache,
)
from vaultpapers.testing import FakeArxiv
from vaults import (
    MALDACENA,
    MIXER,
    PERCEIVER,
    PERCEIVER_IO,
    build_vault,
    notes_only,
    snapshot,
)

PERCEIVER_AR = make_paper(
    "2202.07765",
    "General-purpose, long-context autoregressive modeling with Perceiver AR",
    version=2,
    published="2022-02-15",
    summary="Perceiver AR extends the Perceiver to autoregressive generation.",
)
PAPERS = (PERCEIVER, PERCEIVER_IO, PERCEIVER_AR, MIXER, MALDACENA)
ARRIVALS = {
    "2021/Perceiver.md": "---\ntags: [architecture]\n---\n"
    "Perceiver https://arxiv.org/abs/2103.03206 #attention\n",
    "2021/IO and Mixer.md": "Perceiver IO arXiv:2107.14795v2, and MLP-Mixer "
    "(https://arxiv.org/abs/2105.01601)가 비교된다. #attention #비전\n",
    "2022/AR.md": "Perceiver AR https://arxiv.org/abs/2202.07765 and, for fun, hep-th/9711200. "
    "#architecture/autoregressive\n",
}


def notes(vault: Path) -> dict[str, bytes]:
    return notes_only(snapshot(vault))


def assert_identical(a: dict[str, bytes], b: dict[str, bytes]) -> None:
    """Byte for byte; on failure, every differing note with a diff of its text."""
    report = []
    for path in sorted(set(a) | set(b)):
        if a.get(path) == b.get(path):
            continue
        old = (a.get(path) or b"(missing)\n").decode("utf-8").splitlines(keepends=True)
        new = (b.get(path) or b"(missing)\n").decode("utf-8").splitlines(keepends=True)
        report.append("".join(difflib.unified_diff(old, new, f"one/{path}", f"other/{path}")))
    assert not report, "notes differ between the machines:\n" + "\n".join(report)


def machine_linking_in_order(root: Path, order: list[str]) -> dict[str, bytes]:
    """A machine on which the notes arrive one by one, with a `link` run after each."""
    vault = cached_vault(root, {}, PAPERS)
    for path in order:
        build_vault(vault, {path: ARRIVALS[path]})
        result = link(vault, None, "--offline")
        assert result.exit_code == 0, result.output
    return notes(vault)


# Perceiver and Perceiver IO both want jaegle2021perceiver. A citekey is never changed once
# written (a manuscript may cite it), so which of the two holds the plain key depends on which
# note a machine made first: the one exception to byte-identical notes (README, Citekeys).
COLLIDING = re.compile(rb"^citekey: jaegle2021perceivera?$", re.MULTILINE)


def citekeys_apart(notes: dict[str, bytes]) -> tuple[dict[str, bytes], list[bytes]]:
    """The notes with the two colliding citekeys blanked out, and those keys in path order."""
    keys = [m.group() for path in sorted(notes) for m in COLLIDING.finditer(notes[path])]
    return {path: COLLIDING.sub(b"citekey: -", text) for path, text in notes.items()}, keys


def test_notes_arriving_in_different_orders_give_byte_identical_notes(tmp_path: Path) -> None:
    paths = list(ARRIVALS)
    a = machine_linking_in_order(tmp_path / "a", paths)
    b = machine_linking_in_order(tmp_path / "b", [paths[2], paths[0], paths[1]])
    c = machine_linking_in_order(tmp_path / "c", [paths[1], paths[2], paths[0]])
    assert len(paper_notes(tmp_path / "a")) == len(PAPERS)
    assert_identical(a, b)  # the Perceiver's note was made before Perceiver IO's on both
    a_rest, a_keys = citekeys_apart(a)
    c_rest, c_keys = citekeys_apart(c)
    assert_identical(a_rest, c_rest)
    plain, suffixed = b"citekey: jaegle2021perceiver", b"citekey: jaegle2021perceivera"
    assert a_keys == [plain, suffixed]  # arXiv-id order when the Perceiver's note came first
    assert c_keys == [suffixed, plain]  # Perceiver IO's came first here: it keeps the plain key


def test_a_paper_note_completed_later_is_byte_identical_to_one_made_complete(
    tmp_path: Path,
) -> None:
    offline_first = cached_vault(tmp_path / "offline first", ARRIVALS, [])
    assert link(offline_first, None, "--offline").exit_code == 1
    seed_cache(offline_first, PAPERS)
    assert link(offline_first, None, "--offline").exit_code == 0
    online = cached_vault(tmp_path / "online", ARRIVALS, PAPERS)
    assert link(online, None, "--offline").exit_code == 0
    assert_identical(notes(offline_first), notes(online))


def test_creation_order_and_batching_change_not_a_byte(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    for paper in PAPERS:
        fake_arxiv.add(paper)
    first = cached_vault(tmp_path / "first", ARRIVALS, [])
    # The other machine: files created in the opposite order (another directory order and
    # other inodes), metadata fetched one paper per request, in whatever order arXiv sends.
    second = tmp_path / "second"
    for path in reversed(ARRIVALS):
        build_vault(second, {path: ARRIVALS[path]})
    build_vault(second, {".vaultpapers/config.yaml": "arxiv:\n  batch_size: 1\n"})
    assert link(first, fake_arxiv).exit_code == 0
    assert link(second, fake_arxiv).exit_code == 0
    assert_identical(notes(first), notes(second))


def test_notes_carry_no_trace_of_when_or_where_they_were_written(tmp_path: Path) -> None:
    here = cached_vault(tmp_path / "laptop", ARRIVALS, PAPERS)
    assert link(here, None, "--offline").exit_code == 0
    now = datetime.now(timezone.utc)
    for path, data in notes(here).items():
        text = data.decode("utf-8")
        for stamp in {date.today().isoformat(), now.date().isoformat(), now.strftime("%H:%M")}:
            assert stamp not in text, f"{path} holds the run's time {stamp}"
        assert str(tmp_path) not in text and "laptop" not in text, f"{path} names its machine"
    assert re.search(rb"\d{2}:\d{2}:\d{2}", b"".join(notes(here).values())) is None


def test_a_duplicate_that_arrives_by_sync_is_reported_and_both_machines_agree(
    tmp_path: Path,
) -> None:
    laptop = cached_vault(tmp_path / "laptop", ARRIVALS, PAPERS)
    desktop = tmp_path / "desktop"
    shutil.copytree(laptop, desktop)
    assert link(laptop, None, "--offline").exit_code == 0
    assert link(desktop, None, "--offline").exit_code == 0
    assert_identical(notes(laptop), notes(desktop))
    # On the desktop the user renames Mixer's note (allowed: notes are found by arxiv_id);
    # before that rename syncs, the laptop's copy syncs back under the old name.
    (mixer_note,) = paper_notes(desktop)["2105.01601"]
    renamed = "Reading list/Mixer.md"
    (desktop / renamed).parent.mkdir()
    (desktop / mixer_note).rename(desktop / renamed)
    for source, target in ((laptop, desktop), (desktop, laptop)):
        for path, data in notes(source).items():
            if not (target / path).exists():
                (target / path).parent.mkdir(parents=True, exist_ok=True)
                (target / path).write_bytes(data)
    assert sorted(paper_notes(laptop)["2105.01601"]) == sorted([mixer_note, renamed])
    synced = notes(laptop)
    assert_identical(synced, notes(desktop))

    for vault in (laptop, desktop):
        result = link(vault, None, "--offline")
        claims = lines_naming(result.stderr, "2105.01601", "claim")
        assert claims and all(mixer_note in c and renamed in c for c in claims), result.stderr
        assert sorted(paper_notes(vault)["2105.01601"]) == sorted([mixer_note, renamed])
        for path in (mixer_note, renamed):
            data = front_matter((vault / path).read_text(encoding="utf-8"))
            assert data is not None and data["arxiv_id"] == "2105.01601"
    assert_identical(notes(laptop), notes(desktop))


def test_a_run_that_forgot_what_earlier_runs_remembered_writes_nothing(tmp_path: Path) -> None:
    """`.vaultpapers/state.sqlite` is a per-machine memory, safe to delete; a machine that
    never had it (a fresh clone, a new laptop) must find the vault already up to date."""
    vault = cached_vault(tmp_path / "offline first", ARRIVALS, [])
    assert link(vault, None, "--offline").exit_code == 1
    seed_cache(vault, PAPERS)
    assert link(vault, None, "--offline").exit_code == 0
    remembered = notes(vault)
    for state in (vault / ".vaultpapers").glob("state.sqlite*"):
        state.unlink()
    fresh = link(vault, None, "--offline")
    assert fresh.exit_code == 0, fresh.output
    assert_identical(remembered, notes(vault))
