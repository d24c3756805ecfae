"""Metadata that stays current: papers are asked about again when due (young ones more often),
within a request budget per run; a change upstream reaches the note, the bibliography and the
run's summary, and nothing of the user's is touched."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from factories import make_paper
from vaultpapers.arxiv.refresh import DAY, due, what_changed
from vaultpapers.cli import main
from vaultpapers.config import ArxivSettings, RefreshSettings, Settings, WatchSettings
from vaultpapers.testing.arxiv_server import FakeArxiv
from vaultpapers.watch import VaultWatcher
from vaults import build_vault

IO_V2 = make_paper(
    "2107.14795",
    "Perceiver IO: A General Architecture for Structured Inputs & Outputs",
    version=2,
    published="2021-07-30",
    updated="2021-08-02",
    authors=("Andrew Jaegle", "Sebastian Borgeaud"),
)
IO_V3 = make_paper(
    "2107.14795",
    "Perceiver IO: A General Architecture for Structured Inputs and Outputs",
    version=3,
    published="2021-07-30",
    updated="2022-03-15",
    authors=("Andrew Jaegle", "Sebastian Borgeaud"),
    journal_ref="ICLR 2022",
    doi="10.48550/arXiv.2107.14795-iclr",
)
NOTE = (
    "Papers/Perceiver IO - A General Architecture for Structured Inputs & Outputs (2107.14795).md"
)


def run(vault: Path, api: FakeArxiv, *args: str, command: str = "link") -> Result:
    env = {"VAULTPAPERS_ARXIV_API": api.url, "VAULTPAPERS_ARXIV_DELAY": "0"}
    return CliRunner().invoke(main, [command, str(vault), *args], env=env)


def asked_ago(vault: Path, days: float, keys: list[str] | None = None) -> None:
    """As if arXiv was last asked about these papers `days` ago (time passing, for a test).
    The state remembered when the next paper would fall due, from the times we move back
    here: it goes too (it is derived data; a run without it is only slower)."""
    (vault / ".vaultpapers" / "state.sqlite").unlink(missing_ok=True)
    with sqlite3.connect(vault / ".vaultpapers" / "cache.sqlite") as db:
        when = time.time() - days * DAY
        if keys is None:
            db.execute("UPDATE papers SET fetched_at = ?", (when,))
        else:
            db.executemany(
                "UPDATE papers SET fetched_at = ? WHERE arxiv_id = ?", [(when, k) for k in keys]
            )


def days_ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


def test_young_papers_are_due_weekly_and_old_ones_quarterly() -> None:
    policy = RefreshSettings()
    now = time.time()
    young = make_paper("1", "Young", published=days_ago(30))
    old = make_paper("2", "Old", published=days_ago(800))
    papers = {"1": young, "2": old}
    assert due(papers, {"1": now - 6 * DAY, "2": now - 6 * DAY}, now, policy) == []
    assert due(papers, {"1": now - 8 * DAY, "2": now - 8 * DAY}, now, policy) == ["1"]
    # Most overdue first.
    assert due(papers, {"1": now - 8 * DAY, "2": now - 100 * DAY}, now, policy) == ["2", "1"]


def test_what_changed_is_said_in_a_few_words() -> None:
    assert what_changed(IO_V2, IO_V3) == [
        "v2 → v3",
        "retitled 'Perceiver IO: A General Architecture for Structured Inputs and Outputs'",
        "now ICLR 2022",
        "DOI 10.48550/arXiv.2107.14795-iclr",
    ]


USER_NOTE = """\
---
tags: [reading]
---
Perceiver IO https://arxiv.org/abs/2107.14795 generalises Perceiver.
"""


def test_a_paper_changed_upstream_is_updated_by_the_next_due_run_user_edits_kept(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.add(IO_V2)
    config = "bibliography: library.bib\n"
    vault = build_vault(
        tmp_path / "v", {"Reading.md": USER_NOTE, ".vaultpapers/config.yaml": config}
    )
    assert run(vault, fake_arxiv).exit_code == 0
    note = vault / NOTE
    # The user adds a property, an alias and text of their own to the paper note.
    text = note.read_text("utf-8")
    text = text.replace("aliases:\n", "my_rating: 5\naliases:\n  - PIO\n", 1)
    note.write_text(text + "\nMy own thoughts on IO.\n", encoding="utf-8")
    reading = (vault / "Reading.md").read_text("utf-8")

    fake_arxiv.add(IO_V3)  # arXiv has a new version, a venue, a DOI and a new title
    requests = len(fake_arxiv.requests)
    result = run(vault, fake_arxiv)
    assert len(fake_arxiv.requests) == requests  # not due yet: not asked
    assert "version: 2" in note.read_text("utf-8")

    asked_ago(vault, 91)  # a paper over a year old is due after 90 days
    result = run(vault, fake_arxiv)
    assert result.exit_code == 0, result.output
    assert len(fake_arxiv.requests) == requests + 1
    assert (
        "Perceiver IO: v2 → v3, retitled 'Perceiver IO: A General Architecture for Structured "
        "Inputs and Outputs', now ICLR 2022, DOI 10.48550/arXiv.2107.14795-iclr"
    ) in result.stdout
    after = note.read_text("utf-8")
    data = yaml.safe_load(after.split("---\n")[1])
    assert data["version"] == 3 and data["journal_ref"] == "ICLR 2022"
    assert data["doi"] == "10.48550/arXiv.2107.14795-iclr"
    assert data["title"] == IO_V3.title
    assert data["my_rating"] == 5
    # The old title stays an alias (links by that name keep resolving); the file keeps its name.
    assert data["aliases"] == ["PIO", IO_V2.title, IO_V3.title]
    assert after.endswith("\nMy own thoughts on IO.\n")
    assert "- **Journal:** ICLR 2022" in after
    assert (vault / "Reading.md").read_text("utf-8") == reading
    bib = (vault / "library.bib").read_text("utf-8")
    assert "@inproceedings{jaegle2021perceiver," in bib and "booktitle = {ICLR 2022}" in bib
    # Asked now: the next run asks nothing.
    assert run(vault, fake_arxiv).exit_code == 0
    assert len(fake_arxiv.requests) == requests + 1


def test_a_run_spends_at_most_its_request_budget_on_refreshing(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    keys = [f"2101.0000{i}" for i in range(1, 6)]
    for key in keys:
        fake_arxiv.add(make_paper(key, f"Paper {key}", published="2021-01-05"))
    log = "\n".join(f"https://arxiv.org/abs/{k}" for k in keys)
    config = "arxiv: {batch_size: 2}\nrefresh: {max_requests: 1}\n"
    vault = build_vault(tmp_path / "v", {"Log.md": log, ".vaultpapers/config.yaml": config})
    assert run(vault, fake_arxiv).exit_code == 0
    asked_ago(vault, 100)
    asked_ago(vault, 120, keys[3:])  # these two are the most overdue
    before = len(fake_arxiv.requests)
    result = run(vault, fake_arxiv)
    assert result.exit_code == 0, result.output
    sent = fake_arxiv.requests[before:]
    assert [sorted(r.id_list) for r in sent] == [keys[3:]]
    assert "Asked arXiv again about 2 paper(s): none changed." in result.stdout
    result = run(vault, fake_arxiv)
    assert [sorted(r.id_list) for r in fake_arxiv.requests[before + 1 :]] == [keys[:2]]


def test_an_arxiv_that_fails_costs_one_request_and_is_not_asked_again_the_next_run(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.add(IO_V2)
    vault = build_vault(tmp_path / "v", {"Reading.md": USER_NOTE})
    assert run(vault, fake_arxiv).exit_code == 0
    note = (vault / NOTE).read_text("utf-8")
    asked_ago(vault, 91)
    fake_arxiv.fail_next(503)  # retrying, as before, would have asked again and been answered
    before = len(fake_arxiv.requests)
    started = time.monotonic()
    result = run(vault, fake_arxiv)
    assert result.exit_code == 0, result.output
    assert len(fake_arxiv.requests) == before + 1  # one try: no retries, no backoff waits
    assert time.monotonic() - started < 5
    assert "Metadata not refreshed: could not ask arXiv again about 1 paper(s)" in result.stdout
    assert (vault / NOTE).read_text("utf-8") == note
    # Not at the very next run: a day later.
    (vault / ".vaultpapers" / "state.sqlite").unlink()
    assert run(vault, fake_arxiv).exit_code == 0
    assert len(fake_arxiv.requests) == before + 1
    asked_ago(vault, 91)
    assert "Asked arXiv again about 1 paper(s)" in run(vault, fake_arxiv).stdout


def test_refresh_asks_now_about_the_papers_named_or_all(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.add(IO_V2)
    vault = build_vault(tmp_path / "v", {"Reading.md": USER_NOTE})
    assert run(vault, fake_arxiv).exit_code == 0
    fake_arxiv.add(IO_V3)
    before = len(fake_arxiv.requests)
    result = run(vault, fake_arxiv, "arXiv:2107.14795v2", command="refresh")
    assert result.exit_code == 0, result.output
    assert len(fake_arxiv.requests) == before + 1
    assert "Perceiver IO: v2 → v3" in result.stdout
    assert "version: 3" in (vault / NOTE).read_text("utf-8")
    assert run(vault, fake_arxiv, "--all", command="refresh").exit_code == 0
    assert run(vault, fake_arxiv, command="refresh").exit_code == 2
    assert run(vault, fake_arxiv, "2006.162360", command="refresh").exit_code == 2


def test_refresh_is_off_with_a_budget_of_zero_and_offline(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.add(IO_V2)
    config = "refresh: {max_requests: 0}\n"
    vault = build_vault(
        tmp_path / "v", {"Reading.md": USER_NOTE, ".vaultpapers/config.yaml": config}
    )
    assert run(vault, fake_arxiv).exit_code == 0
    asked_ago(vault, 1000)
    before = len(fake_arxiv.requests)
    assert run(vault, fake_arxiv).exit_code == 0
    (vault / ".vaultpapers/config.yaml").write_text("", "utf-8")
    assert run(vault, fake_arxiv, "--offline").exit_code == 0
    assert len(fake_arxiv.requests) == before


def test_the_watcher_asks_about_papers_due_in_the_background(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.add(IO_V2)
    vault = build_vault(tmp_path / "v", {"Reading.md": USER_NOTE})
    assert run(vault, fake_arxiv).exit_code == 0
    note = vault / NOTE
    note.write_text(note.read_text("utf-8") + "\nMine.\n", encoding="utf-8")
    asked_ago(vault, 91)
    fake_arxiv.add(IO_V3)
    arxiv = replace(ArxivSettings(), api_url=fake_arxiv.url, delay=0, timeout=5, max_retries=1)
    settings = replace(Settings(), arxiv=arxiv, watch=replace(WatchSettings(), quiet=0.1))
    with VaultWatcher(vault, settings):
        deadline = time.monotonic() + 15
        while "version: 3" not in note.read_text("utf-8"):
            assert time.monotonic() < deadline, "the watcher never brought the note up to date"
            time.sleep(0.05)
    text = note.read_text("utf-8")
    assert "journal_ref: ICLR 2022" in text and text.endswith("\nMine.\n")
    assert IO_V2.title in yaml.safe_load(text.split("---\n")[1])["aliases"]
    assert len([r for r in fake_arxiv.requests if r.id_list == ("2107.14795",)]) == 2
