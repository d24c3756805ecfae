"""The README tells the truth: its commands are the ones CI runs, its tables match the code."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from click.testing import CliRunner

from vaultpapers.cli import main
from vaultpapers.config import ArxivSettings, RefreshSettings, Settings, WatchSettings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = next(line for line in ci.splitlines() if "pytest" in line)
    assert test_command in README.splitlines()


def test_the_main_command_links_the_example_vault_offline() -> None:
    assert (
        "python3 -m venv .venv && .venv/bin/pip install -q -e . && "
        ".venv/bin/vaultpapers link --offline examples/vault"
    ) in README


def test_every_setting_is_documented_and_every_documented_setting_exists() -> None:
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", section, flags=re.MULTILINE))
    actual = {f.name for f in fields(Settings) if f.name not in ("arxiv", "watch", "refresh")}
    actual |= {f"arxiv.{f.name}" for f in fields(ArxivSettings)}
    actual |= {f"watch.{f.name}" for f in fields(WatchSettings)}
    actual |= {f"refresh.{f.name}" for f in fields(RefreshSettings)}
    assert documented == actual


def test_every_module_in_the_table_exists() -> None:
    table = README.split("## How it works", 1)[1].split("##", 1)[0]
    for cell in re.findall(r"^\| ([^|]+) \|", table, flags=re.MULTILINE):
        for module in re.findall(r"`([a-z_.]+)`", cell):
            path = ROOT / "src" / "vaultpapers" / (module.replace(".", "/") + ".py")
            assert path.exists(), module


def test_every_command_has_help() -> None:
    for name, command in main.commands.items():
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0 and command.help, name
