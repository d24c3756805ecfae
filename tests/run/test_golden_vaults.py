"""Golden vaults: tests/cases/vaults/<case>/input is linked, and must become .../expected.

Regenerate after an intended change with VAULTPAPERS_UPDATE_GOLDEN=1, then read the diff.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from paths import REPO, TESTS
from vaultpapers.cli import main
from vaultpapers.testing.arxiv_server import FakeArxiv
from vaults import snapshot

CASES = TESTS / "cases" / "vaults"
ENTRIES = REPO / "examples" / "arxiv-entries"


@pytest.mark.parametrize("case", sorted(CASES.iterdir()), ids=lambda p: p.name)
def test_vault_becomes_expected(case: Path, tmp_path: Path, fake_arxiv: FakeArxiv) -> None:
    spec = yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8"))
    for key in spec["papers"]:
        entry = (ENTRIES / f"{key.replace('/', '_')}.xml").read_text(encoding="utf-8")
        fake_arxiv.add_entry_xml(key, entry)
    vault = tmp_path / "vault"
    shutil.copytree(case / "input", vault)
    env = {"VAULTPAPERS_ARXIV_API": fake_arxiv.url, "VAULTPAPERS_ARXIV_DELAY": "0"}
    result = CliRunner().invoke(main, ["link", str(vault)], env=env)
    assert result.exit_code == 0, result.output
    produced = {k: v for k, v in snapshot(vault).items() if not k.startswith(".vaultpapers/")}

    expected_dir = case / "expected"
    if os.environ.get("VAULTPAPERS_UPDATE_GOLDEN"):
        shutil.rmtree(expected_dir, ignore_errors=True)
        for relative, data in produced.items():
            (expected_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / relative).write_bytes(data)
    assert produced == snapshot(expected_dir)
