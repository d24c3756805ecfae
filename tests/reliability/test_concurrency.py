"""Others writing in the vault while vaultpapers does: a watcher and a `link` at once, the user
saving between the tool's read and its write, and two notes claiming one paper."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

from factories import make_paper
from reliability.harness import (
    NO_API,
    cached_vault,
    child_env,
    environment,
    front_matter,
    lines_naming,
    link,
    link_command,
    paper_notes,
    seed_cache,
    without_inserted_links,
)
from vaultpapers.config import ArxivSettings, Settings, WatchSettings, load_settings
from vaultpapers.model import Note, Outcome, Write
from vaultpapers.run.options import RunOptions
from vaultpapers.run.pipeline import run_link
from vaultpapers.testing import FakeArxiv
from vaultpapers.vaultfs.files import read_note
from vaultpapers.vaultfs.writer import VaultWriter
from vaultpapers.watch import VaultWatcher
from vaults import MIXER, PERCEIVER, build_vault, snapshot

PERCEIVER_URL = "https://arxiv.org/abs/2103.03206"
MIXER_URL = "https://arxiv.org/abs/2105.01601"
PERCEIVER_NOTE = "Papers/Perceiver - General Perception with Iterative Attention (2103.03206).md"
MIXER_NOTE = "Papers/MLP-Mixer - An all-MLP Architecture for Vision (2105.01601).md"


def editor_save(path: Path, text: str) -> None:
    """How most editors save: a temp file beside the note, renamed over it."""
    temp = path.with_name(f".{path.name}.swp")
    temp.write_text(text, encoding="utf-8", newline="")
    os.replace(temp, path)


def in_place_edit_keeping_size_and_mtime(path: Path, old: str, new: str) -> None:
    """An edit a stat() alone cannot see: same size, and the mtime put back (coarse clocks,
    sync tools that restore mtimes)."""
    assert len(old.encode()) == len(new.encode())
    stat = path.stat()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new), encoding="utf-8", newline="")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


# -- link and watch at once ------------------------------------------------------------------

BURST_PAPERS = [make_paper(f"2204.{n:05d}", f"Survey of topic {n}") for n in range(1, 31)]


def test_a_link_run_while_watch_runs_on_the_same_vault_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    def cites(i: int) -> str:
        return BURST_PAPERS[i % len(BURST_PAPERS)].arxiv_id

    burst = {
        f"Synced/note {i:03}.md": f"# {i}\n\nCites https://arxiv.org/abs/{cites(i)}"
        f" and arXiv:{cites(i * 7)}. #t{i % 4}\n"
        for i in range(150)
    }
    vault = cached_vault(tmp_path / "v", {}, BURST_PAPERS)
    arxiv = replace(ArxivSettings(), api_url=NO_API, delay=0, timeout=1, max_retries=0)
    settings = replace(
        Settings(), arxiv=arxiv, watch=replace(WatchSettings(), settle=0, quiet=0.05)
    )
    # The follow-up run after the burst comes 0.1 s after it rather than 1 s: the same run.
    with VaultWatcher(vault, settings, offline=True, follow_up_delay=0.1) as watcher:
        assert watcher.wait_idle(10)
        build_vault(vault, burst)  # a sync client delivering notes, then the user runs link
        linking = subprocess.run(
            link_command(vault, "--offline"),
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert linking.returncode in (0, 1), linking.stderr  # 1: the watcher got there first
        for line in lines_naming(linking.stderr, "not written"):
            # The watcher wrote it first; or it links to a note held back for that (a paper
            # note, or a nested tag's index listing one).
            assert any(
                why in line for why in ("changed on disk", "appeared", "links to a note not")
            ), line
        assert watcher.wait_idle(30)
        assert watcher.errors == []

    settled = link(vault, None, "--offline")
    assert settled.exit_code == 0, settled.output
    claims = paper_notes(vault)
    assert sorted(claims) == sorted(p.arxiv_id for p in BURST_PAPERS)
    assert all(len(paths) == 1 for paths in claims.values()), claims
    stems = [Path(paths[0]).stem for paths in claims.values()]
    for i, (path, text) in enumerate(burst.items()):
        linked = (vault / path).read_text(encoding="utf-8")
        assert without_inserted_links(linked, stems) == text, path
        # One link per paper and line.
        assert linked.count("[[") == len({cites(i), cites(i * 7)}), f"{path}: {linked!r}"
    before = snapshot(vault)
    again = link(vault, None, "--offline")
    assert again.exit_code == 0 and snapshot(vault) == before


# -- the user saving between the tool's read and its write ----------------------------------


def test_an_edit_between_reading_a_note_and_writing_it_is_never_overwritten(
    tmp_path: Path,
) -> None:
    vault = cached_vault(tmp_path / "v", {"Draft.md": f"Perceiver {PERCEIVER_URL}\n"}, [])
    note = read_note(vault, "Draft.md", max_bytes=10_000_000)
    assert isinstance(note, Note)
    editor_save(vault / "Draft.md", f"Perceiver {PERCEIVER_URL}\nA thought I just typed.\n")
    result = VaultWriter(vault).apply(
        Write("Draft.md", note.text.replace("\n", " [[Perceiver]]\n"), note.state)
    )
    assert result.outcome is Outcome.CONFLICT
    assert (vault / "Draft.md").read_text(encoding="utf-8").endswith("A thought I just typed.\n")


def test_a_planned_run_applied_after_the_user_saved_conflicts_on_the_saved_notes(
    tmp_path: Path,
) -> None:
    files = {
        "Typed in.md": f"Perceiver {PERCEIVER_URL}\n",
        "Synced in.md": f"Mixer {MIXER_URL} is xx.\n",
        "Untouched.md": f"Both: {PERCEIVER_URL} and {MIXER_URL}\n",
    }
    vault = cached_vault(tmp_path / "v", files, [PERCEIVER, MIXER])
    plan = run_link(vault, Settings(), RunOptions(offline=True, dry_run=True))
    planned = {write.path for write in plan.planned}
    assert {"Typed in.md", "Synced in.md", "Untouched.md", PERCEIVER_NOTE} <= planned

    editor_save(vault / "Typed in.md", f"New first line.\nPerceiver {PERCEIVER_URL}\n")
    in_place_edit_keeping_size_and_mtime(vault / "Synced in.md", "is xx.", "is ok.")
    (vault / PERCEIVER_NOTE).parent.mkdir(exist_ok=True)
    (vault / PERCEIVER_NOTE).write_text("My own note, made just now.\n", encoding="utf-8")
    edited = {path: (vault / path).read_bytes() for path in ("Typed in.md", "Synced in.md")}
    mine = (vault / PERCEIVER_NOTE).read_bytes()

    writer = VaultWriter(vault)
    outcomes = {write.path: writer.apply(write).outcome for write in plan.planned}
    for path in ("Typed in.md", "Synced in.md", PERCEIVER_NOTE):
        assert outcomes[path] is Outcome.CONFLICT, path
    assert outcomes["Untouched.md"] is Outcome.WRITTEN
    for path, data in edited.items():
        assert (vault / path).read_bytes() == data
    assert (vault / PERCEIVER_NOTE).read_bytes() == mine

    result = link(vault, None, "--offline")
    assert result.exit_code == 0, result.output
    assert (vault / PERCEIVER_NOTE).read_bytes() == mine
    (perceiver,) = paper_notes(vault)["2103.03206"]
    stems = [Path(perceiver).stem, Path(MIXER_NOTE).stem]
    for path, data in edited.items():
        linked = (vault / path).read_text(encoding="utf-8")
        assert without_inserted_links(linked, stems) == data.decode(), path
        assert "[[" in linked, f"{path} never got its link"


def test_an_edit_landing_while_the_run_fetches_is_kept_and_linked_on_the_next_run(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.add(MIXER)
    files = {
        "Draft.md": f"Perceiver {PERCEIVER_URL}\nMixer {MIXER_URL}\n",
        "Quiet.md": f"Perceiver {PERCEIVER_URL}\n",
    }
    vault = cached_vault(tmp_path / "v", files, [PERCEIVER])
    assert link(vault, None, "--offline").exit_code == 1  # Mixer pending, Perceiver linked
    (perceiver_note,) = paper_notes(vault)["2103.03206"]
    typed = "Added while the run was waiting for arXiv.\n"

    saves: list[int] = []

    def user_saves(done: int, total: int) -> None:
        # Between the run's reading of the vault and its writing: while it fetches.
        saves.append(done)
        draft = (vault / "Draft.md").read_text(encoding="utf-8")
        editor_save(vault / "Draft.md", typed + draft)
        paper = (vault / perceiver_note).read_text(encoding="utf-8")
        editor_save(vault / perceiver_note, paper + "\nMy notes on Perceiver.\n")

    settings = load_settings(vault, environment(fake_arxiv))
    run_link(vault, settings, progress=user_saves)
    assert saves, "the run never fetched, so the user never saved mid-run"
    draft = (vault / "Draft.md").read_text(encoding="utf-8")
    assert draft.startswith(typed), "the user's edit was overwritten"
    assert (
        (vault / perceiver_note).read_text(encoding="utf-8").endswith("\nMy notes on Perceiver.\n")
    )

    assert link(vault, fake_arxiv).exit_code == 0
    draft = (vault / "Draft.md").read_text(encoding="utf-8")
    stems = [Path(paths[0]).stem for paths in paper_notes(vault).values()]
    assert without_inserted_links(draft, stems) == typed + files["Draft.md"]
    assert draft.count("[[") == 2
    assert (
        (vault / perceiver_note).read_text(encoding="utf-8").endswith("\nMy notes on Perceiver.\n")
    )
    assert "[[Draft]]" in (vault / perceiver_note).read_text(encoding="utf-8")


def test_a_pending_note_edited_while_it_is_being_completed_keeps_the_users_words(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.add(MIXER)
    vault = cached_vault(tmp_path / "v", {"Reading.md": f"Mixer {MIXER_URL}\n"}, [])
    assert link(vault, None, "--offline").exit_code == 1
    (stub,) = paper_notes(vault)["2105.01601"]
    assert Path(stub).stem == "arXiv 2105.01601"

    saves: list[int] = []

    def user_saves(done: int, total: int) -> None:
        saves.append(done)
        text = (vault / stub).read_text(encoding="utf-8")
        editor_save(vault / stub, text + "\nRead this one first.\n")

    settings = load_settings(vault, environment(fake_arxiv))
    run_link(vault, settings, progress=user_saves)
    assert saves, "the run never fetched, so the user never saved mid-run"
    (kept,) = paper_notes(vault)["2105.01601"]
    assert (vault / kept).read_text(encoding="utf-8").endswith("\nRead this one first.\n")
    assert link(vault, fake_arxiv).exit_code == 0
    (note,) = paper_notes(vault)["2105.01601"]
    assert note == MIXER_NOTE
    assert (vault / note).read_text(encoding="utf-8").endswith("\nRead this one first.\n")
    assert not (vault / stub).exists()


# -- two notes claiming one paper --------------------------------------------------------------


def test_two_paper_notes_claiming_one_id_are_reported_and_neither_is_deleted(
    tmp_path: Path,
) -> None:
    vault = cached_vault(
        tmp_path / "v", {"Reading.md": f"Perceiver {PERCEIVER_URL}\n"}, [PERCEIVER]
    )
    assert link(vault, None, "--offline").exit_code == 0
    original = (vault / PERCEIVER_NOTE).read_text(encoding="utf-8")
    copies = {
        # Syncthing's and Dropbox's names for the two sides of a conflict, and a user's copy.
        PERCEIVER_NOTE.replace(".md", ".sync-conflict-20240301-101010-ABCDEFG.md"): original,
        "Papers/Perceiver (conflicted copy 2024-03-01).md": original + "\nEdited elsewhere.\n",
        "Archive/Perceiver, my copy.md": original.replace("## Mentioned in", "## Cited by"),
    }
    build_vault(vault, copies)
    reading = (vault / "Reading.md").read_bytes()

    before = {path: (vault / path).read_bytes() for path in [PERCEIVER_NOTE, *copies]}

    result = link(vault, None, "--offline")
    assert sorted(paper_notes(vault)["2103.03206"]) == sorted(before), "a claimant was deleted"
    reported = lines_naming(result.stderr, "2103.03206")
    for path in before:
        assert any(path in line for line in reported), f"{path} not named:\n{result.stderr}"
    changed = [path for path, data in before.items() if (vault / path).read_bytes() != data]
    assert len(changed) <= 1, f"only the note in use may be updated, not {changed}"
    assert (vault / "Reading.md").read_bytes() == reading
    again = link(vault, None, "--offline")
    assert sorted(paper_notes(vault)["2103.03206"]) == sorted(before)
    assert again.stderr.count("2103.03206") >= 1


def test_a_pending_note_and_a_complete_note_of_one_paper_never_become_three(
    tmp_path: Path,
) -> None:
    """One machine was offline and made `arXiv ID.md`, the other fetched the paper and made
    the full note; sync brings both together."""
    wav2vec = make_paper(
        "2006.11477",
        "wav2vec 2.0: A Framework for Self-Supervised Learning of Speech Representations",
    )
    offline = cached_vault(tmp_path / "offline", {"n.md": "wav2vec arXiv:2006.11477\n"}, [])
    online = cached_vault(tmp_path / "online", {"n.md": "wav2vec arXiv:2006.11477\n"}, [wav2vec])
    assert link(offline, None, "--offline").exit_code == 1
    assert link(online, None, "--offline").exit_code == 0
    (complete,) = paper_notes(online)["2006.11477"]
    build_vault(offline, {complete: (online / complete).read_bytes()})
    (offline / "n.md").write_bytes((online / "n.md").read_bytes())
    claimants = sorted(paper_notes(offline)["2006.11477"])
    assert len(claimants) == 2
    texts = {path: (offline / path).read_bytes() for path in claimants}

    seed_cache(offline, [wav2vec])
    result = link(offline, None, "--offline")
    assert sorted(paper_notes(offline)["2006.11477"]) == claimants, "a third note appeared"
    assert lines_naming(result.stderr, "2006.11477", "claim"), result.stderr
    changed = [path for path in claimants if (offline / path).read_bytes() != texts[path]]
    assert len(changed) <= 1
    data = front_matter((offline / complete).read_text(encoding="utf-8"))
    assert data is not None and data.get("metadata") != "pending"
