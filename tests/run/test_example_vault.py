"""The shipped example vault works offline, as the README promises a new user."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from paths import REPO
from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.cli import main
from vaults import snapshot

EXAMPLES = REPO / "examples"
ENTRY_IDS = sorted(p.stem.replace("_", "/") for p in (EXAMPLES / "arxiv-entries").glob("*.xml"))


def copy_example(tmp_path: Path) -> Path:
    vault = tmp_path / "vault"
    shutil.copytree(EXAMPLES / "vault", vault, ignore=shutil.ignore_patterns("*.sqlite-*"))
    return vault


def test_offline_link_gives_every_cited_paper_one_complete_note(tmp_path: Path) -> None:
    vault = copy_example(tmp_path)
    result = CliRunner().invoke(main, ["link", "--offline", str(vault)])
    assert result.exit_code == 0, result.output

    ids = {}
    for note in (vault / "Papers").glob("*.md"):
        properties = yaml.safe_load(note.read_text(encoding="utf-8").split("---\n")[1])
        assert "metadata" not in properties, f"{note.name} is still pending"
        assert properties["title"] and properties["authors"] and properties["published"]
        ids.setdefault(properties["arxiv_id"], []).append(note.name)
    # DDPM's note is the user's own, named in its `source` property: it gained the metadata.
    own = vault / "Paper notes" / "DDPM, my notes.md"
    properties = yaml.safe_load(own.read_text(encoding="utf-8").split("---\n")[1])
    assert properties["title"] == "Denoising Diffusion Probabilistic Models"
    ids.setdefault("2006.11239", []).append(own.name)
    assert sorted(ids) == ENTRY_IDS
    assert all(len(names) == 1 for names in ids.values())
    assert (
        "Projects/Detection baseline/2021-09-14 meeting.md:17: https://arxiv.org/abs/2006.162360"
        in result.stderr
    )
    # `git diff examples/vault` shows only what went into the notes: the cache is as shipped.
    shipped = EXAMPLES / "vault" / ".vaultpapers" / "cache.sqlite"
    assert (vault / ".vaultpapers" / "cache.sqlite").read_bytes() == shipped.read_bytes()


def test_every_link_the_tool_wrote_resolves_and_a_rerun_changes_nothing(tmp_path: Path) -> None:
    vault = copy_example(tmp_path)
    assert CliRunner().invoke(main, ["link", "--offline", str(vault)]).exit_code == 0
    names = {p.stem.lower() for p in vault.rglob("*.md")}
    names |= {p.relative_to(vault).with_suffix("").as_posix().lower() for p in vault.rglob("*.md")}
    for note in vault.rglob("*.md"):
        for target in re.findall(r"\[\[([^\]|\\#]+)", note.read_text(encoding="utf-8")):
            assert target.lower() in names, f"{note.name}: [[{target}]] does not resolve"
    before = snapshot(vault)
    again = CliRunner().invoke(main, ["link", "--offline", str(vault)])
    assert again.exit_code == 0
    assert (
        "0 paper notes created in Papers/, 0 updated; 0 links inserted into 0 notes; 0 index"
        in again.output
    )
    assert snapshot(vault) == before


def test_the_shipped_cache_holds_exactly_the_shipped_entries(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("build", EXAMPLES / "build_example_cache.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    rebuilt = tmp_path / "cache.sqlite"
    assert build.build_cache(rebuilt) == len(ENTRY_IDS)
    shipped_copy = tmp_path / "shipped.sqlite"
    shutil.copy(EXAMPLES / "vault" / ".vaultpapers" / "cache.sqlite", shipped_copy)
    with PaperCache(rebuilt) as fresh, PaperCache(shipped_copy) as shipped:
        assert shipped.get_many(ENTRY_IDS) == fresh.get_many(ENTRY_IDS)


def test_the_example_vault_keeps_a_bibliography_pandoc_renders_its_draft_from(
    tmp_path: Path,
) -> None:
    """The README's first command writes Papers/library.bib (the example's `bibliography:`
    setting); its draft cites four papers by citekey, counted as citing them, and pandoc
    renders it from that file."""
    vault = copy_example(tmp_path)
    assert CliRunner().invoke(main, ["link", "--offline", str(vault)]).exit_code == 0
    bib = (vault / "Papers" / "library.bib").read_text(encoding="utf-8")
    assert bib.count("\n@") == len(ENTRY_IDS)
    draft = vault / "Projects" / "Perceiver survey" / "Draft.md"
    shipped = EXAMPLES / "vault" / "Projects" / "Perceiver survey" / "Draft.md"
    assert draft.read_bytes() == shipped.read_bytes()  # a Pandoc citation gets no link
    perceiver = next((vault / "Papers").glob("Perceiver - *.md")).read_text(encoding="utf-8")
    assert "- [[Draft]]" in perceiver
    if shutil.which("pandoc") is None and not os.environ.get("CI"):
        pytest.skip("pandoc not installed (CI installs it)")
    rendered = subprocess.run(
        ["pandoc", "--citeproc", "-t", "plain", draft.name],
        cwd=draft.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    out = " ".join(rendered.stdout.split())
    assert "Perceiver (Jaegle, Gimeno, et al. 2021)" in out, out
    assert "(see Jaegle, Borgeaud, et al. 2021, sec. 3)" in out
    assert "“Attention Is All You Need.”" in out and "Vaswani, Ashish" in out
    assert "Tolstikhin, Ilya" in out and "???" not in out
