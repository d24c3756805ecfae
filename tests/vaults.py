"""Building vaults for tests: a vault is a `{path: text}` dict written to disk; the papers
the vault tests cite."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from factories import make_paper
from vaultpapers.cli import main
from vaultpapers.testing.arxiv_server import FakeArxiv


def build_vault(root: Path, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below root (dot-folders included) with its bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def notes_only(files: dict[str, bytes]) -> dict[str, bytes]:
    return {path: data for path, data in files.items() if not path.startswith(".vaultpapers/")}


PERCEIVER = make_paper(
    "2103.03206",
    "Perceiver: General Perception with Iterative Attention",
    version=2,
    published="2021-03-04",
    updated="2021-06-23",
    authors=("Andrew Jaegle", "Felix Gimeno", "Andrew Brock", "Andrew Zisserman"),
    categories=("cs.CV", "cs.AI", "cs.LG"),
    comment="ICML 2021",
)
PERCEIVER_IO = make_paper(
    "2107.14795",
    "Perceiver IO: A General Architecture for Structured Inputs & Outputs",
    version=3,
    published="2021-07-30",
    updated="2022-03-15",
    authors=("Andrew Jaegle", "Sebastian Borgeaud", "Jean-Baptiste Alayrac"),
    summary="The recently-proposed Perceiver model obtains good results on several domains.",
)
MIXER = make_paper(
    "2105.01601",
    "MLP-Mixer: An all-MLP Architecture for Vision",
    published="2021-05-04",
    categories=("cs.CV", "cs.AI", "cs.LG"),
)
MALDACENA = make_paper(
    "hep-th/9711200",
    "The Large N Limit of Superconformal Field Theories and Supergravity",
    published="1997-11-27",
    authors=("Juan M. Maldacena",),
    categories=("hep-th",),
    journal_ref="Adv.Theor.Math.Phys.2:231-252,1998",
    doi="10.1023/A:1026654312961",
)


def is_only_insertions(old: str, new: str) -> bool:
    """True when `new` is `old` with text inserted: `old` is a subsequence of `new`."""
    remaining = iter(new)
    return all(char in remaining for char in old)


def link_cli(vault: Path, api: FakeArxiv, *args: str) -> Result:
    """`vaultpapers link VAULT` against the loopback arXiv, which must succeed."""
    env = {"VAULTPAPERS_ARXIV_API": api.url, "VAULTPAPERS_ARXIV_DELAY": "0"}
    result = CliRunner().invoke(main, ["link", str(vault), *args], env=env)
    assert result.exit_code == 0, result.output
    return result
