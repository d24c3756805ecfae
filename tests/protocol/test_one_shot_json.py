"""`status --json`, `related --json`, `export --json`: one event each (or an error), checked
against the schema and against what the human output says."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from json_events import named, parse
from vaultpapers.cli import main
from vaultpapers.config import Settings, WatchSettings
from vaultpapers.testing import FakeArxiv
from vaultpapers.watch import VaultWatcher
from vaults import MIXER, PERCEIVER, PERCEIVER_IO, build_vault


def invoke(*args: str, api: FakeArxiv | None = None) -> Result:
    env = {"VAULTPAPERS_ARXIV_DELAY": "0"}
    if api is not None:
        env["VAULTPAPERS_ARXIV_API"] = api.url
    return CliRunner().invoke(main, list(args), env=env)


@pytest.fixture
def linked(tmp_path: Path, fake_arxiv: FakeArxiv) -> Path:
    for paper in (PERCEIVER, PERCEIVER_IO, MIXER):
        fake_arxiv.add(paper)
    vault = build_vault(
        tmp_path / "v",
        {
            "Reading.md": "Perceiver https://arxiv.org/abs/2103.03206\n"
            "Perceiver IO https://arxiv.org/abs/2107.14795\n"
            "Mixer https://arxiv.org/abs/2105.01601\n",
            "Draft.md": "As shown in [@jaegle2021perceiver].\n",
            "Latin-1.md": "Café\n".encode("latin-1"),
        },
    )
    assert invoke("link", str(vault), api=fake_arxiv).exit_code == 0
    return vault


# -- status -----------------------------------------------------------------------------------


def test_status_without_a_watcher_ever(tmp_path: Path) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "x\n"})
    result = invoke("status", "--json", str(vault))
    assert result.exit_code == 1
    [status] = parse(result.stdout)
    assert status["event"] == "status"
    assert status["running"] is False and status["pid"] is None and status["state"] is None
    assert status["vault"] == str(vault.resolve())


def test_status_of_a_running_then_stopped_watcher(linked: Path) -> None:
    settings = replace(Settings(), watch=replace(WatchSettings(), settle=0.1, quiet=0.05))
    with VaultWatcher(linked, settings, offline=True) as watcher:
        assert watcher.wait_idle(10)
        result = invoke("status", "--json", str(linked))
        human = invoke("status", str(linked))
    assert result.exit_code == human.exit_code == 0
    [status] = parse(result.stdout)
    assert status["running"] is True and status["pid"] == os.getpid()
    assert status["state"] == "watching" and status["message"] is None
    assert status["problems"] == [
        {
            "file": "Latin-1.md",
            "line": None,
            "message": "skipped: not UTF-8 (byte 0xe9 at offset 3); re-save it as UTF-8 to "
            "include it",
            "code": "not-utf8",
        }
    ]
    # The human lines show the same problem as `link` prints it.
    assert "  Latin-1.md: skipped: not UTF-8" in human.stdout
    assert status["notes"] > 0 and status["runs"] >= 1

    after = invoke("status", "--json", str(linked))
    assert after.exit_code == 1
    [stopped] = parse(after.stdout)
    assert stopped["running"] is False and stopped["state"] == "stopped"
    assert stopped["pid"] == os.getpid() and stopped["stopped"] is not None


# -- related ---------------------------------------------------------------------------------


def test_related_as_data_and_as_the_lines_people_read(linked: Path) -> None:
    result = invoke("related", "--json", "2107.14795", str(linked))
    human = invoke("related", "2107.14795", str(linked))
    assert result.exit_code == human.exit_code == 0, result.output
    [related] = parse(result.stdout)
    assert related["id"] == "2107.14795"
    assert related["title"] == PERCEIVER_IO.title
    assert related["short_name"] == "Perceiver IO"
    assert related["series"]["name"] == "Perceiver"
    assert [m["id"] for m in related["series"]["members"]] == ["2103.03206", "2107.14795"]
    assert {(r["id"], r["kind"]) for r in related["relations"]} >= {("2103.03206", "series")}
    assert all(r["title"] == PERCEIVER.title for r in related["relations"])
    assert related["lines"] == human.stdout.splitlines()


def test_related_without_metadata_is_an_error_event_and_exit_1(linked: Path) -> None:
    result = invoke("related", "--json", "2301.00001", str(linked))
    assert result.exit_code == 1
    [error] = parse(result.stdout)
    assert error["event"] == "error" and error["exit_code"] == 1
    assert "run `vaultpapers link` first" in error["message"]


# -- export ----------------------------------------------------------------------------------


def test_export_to_stdout_carries_the_bibliography_in_the_event(linked: Path) -> None:
    result = invoke("export", "--json", str(linked))
    human = invoke("export", str(linked))
    assert result.exit_code == human.exit_code == 0
    [exported] = parse(result.stdout)
    assert exported["format"] == "bibtex" and exported["papers"] == 3
    assert exported["text"] == human.stdout
    assert exported["path"] is None and exported["written"] is False


def test_export_to_a_file_names_it(linked: Path, tmp_path: Path) -> None:
    target = tmp_path / "refs.json"
    result = invoke("export", "--json", str(linked), "--note", "Draft", "-o", str(target))
    assert result.exit_code == 0, result.output
    [exported] = parse(result.stdout)
    assert exported["format"] == "csl-json" and exported["papers"] == 1
    assert exported["path"] == str(target) and exported["written"] is True
    assert exported["text"] is None and exported["missing"] == []
    assert target.is_file()


def test_export_refusing_a_note_is_an_error_event(linked: Path) -> None:
    result = invoke("export", "--json", str(linked), "-o", str(linked / "Reading.md"))
    assert result.exit_code == 2
    [error] = parse(result.stdout)
    assert error["event"] == "error" and "Markdown" in error["message"]
    assert named(parse(result.stdout), "exported") == []
