"""The protocol's documents agree with each other and with the code: every event and every
problem code in the schema is in docs/protocol.md, every code the code uses is in the schema,
every command takes --json, and the plain commands do not load any of it."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys

import click

from json_events import SCHEMA_PATH
from paths import REPO
from vaultpapers.cli import main

DOC = (REPO / "docs" / "protocol.md").read_text(encoding="utf-8")
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
CODES = set(SCHEMA["$defs"]["problem_code"]["enum"])


def test_every_event_of_the_schema_is_documented_field_by_field() -> None:
    events = SCHEMA["properties"]["event"]["enum"]
    assert len(SCHEMA["oneOf"]) == len(events)
    for name in events:
        definition = SCHEMA["$defs"][name]
        assert definition["properties"]["event"] == {"const": name}
        heading = re.search(rf"^### `{name}`|^### `[a-z]+ --json[^`]*`\n\nOne `{name}`", DOC, re.M)
        assert heading or f"`{name}`" in DOC, name
        for field in definition["properties"]:
            if field not in ("v", "event", "time"):
                assert f"`{field}`" in DOC, f"{name}.{field} is not documented"


def test_the_problem_codes_are_the_documented_ones() -> None:
    section = DOC.split("## Problem codes", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, re.M))
    assert documented == CODES


def _codes_in_source() -> set[str]:
    """The code given to every Problem, ReadProblem and status problem the source makes (the
    planner's parts make theirs through `PlanContext.problem(path, message, code)`)."""
    position = {"Problem": 3, "ReadProblem": 2, "problem_entry": 3}
    found: set[str] = set()
    for path in (REPO / "src" / "vaultpapers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Name):
                index = position.get(node.func.id)
            elif isinstance(node.func, ast.Attribute) and node.func.attr == "problem":
                index = 2
            else:
                continue
            if index is None or len(node.args) <= index:
                continue
            argument = node.args[index]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                found.add(argument.value)
    return found


def test_every_problem_the_code_makes_has_a_documented_code_and_none_is_unused() -> None:
    used = _codes_in_source()
    assert used <= CODES, used - CODES
    assert used == CODES  # no code documented that nothing makes


def test_every_command_takes_json() -> None:
    assert isinstance(main, click.Group)
    for name, command in main.commands.items():
        assert any("--json" in param.opts for param in command.params), name


def test_the_plain_commands_load_nothing_of_the_protocol() -> None:
    """`--json` costs the plain path nothing: not the protocol module, not the schema."""
    code = (
        "import sys, vaultpapers.cli, vaultpapers.watch.status;"
        "print(sorted(m for m in sys.modules if m in "
        "('vaultpapers.protocol', 'jsonschema', 'vaultpapers.watch.watcher', "
        "'vaultpapers.run.pipeline')))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert loaded.strip() == "['vaultpapers.run.pipeline']"  # cli needs it; the rest not


def test_the_version_is_the_last_word_of_version() -> None:
    from click.testing import CliRunner

    from vaultpapers import __version__

    shown = CliRunner().invoke(main, ["--version"])
    assert shown.exit_code == 0
    assert shown.stdout == f"vaultpapers, version {__version__}\n"
    assert shown.stdout.split()[-1] == __version__
