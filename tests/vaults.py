"""Building vaults and papers for tests: a vault is a `{path: text}` dict written to disk."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from click.testing import CliRunner, Result

from vaultpapers.cli import main
from vaultpapers.papers import Paper
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


def make_paper(
    arxiv_id: str,
    title: str,
    *,
    version: int = 1,
    published: str = "2021-03-04",
    updated: str | None = None,
    authors: tuple[str, ...] | None = None,
    summary: str = "We study a problem and report what we found.",
    categories: tuple[str, ...] = ("cs.LG",),
    doi: str | None = None,
    journal_ref: str | None = None,
    comment: str | None = None,
) -> Paper:
    def when(day: str) -> datetime:
        return datetime.fromisoformat(day).replace(hour=17, tzinfo=timezone.utc)

    return Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        # Papers share no author unless a test says so: shared authors relate papers.
        authors=authors if authors is not None else (f"Author of {arxiv_id}",),
        summary=summary,
        published=when(published),
        updated=when(updated or published),
        primary_category=categories[0],
        categories=categories,
        doi=doi,
        journal_ref=journal_ref,
        comment=comment,
    )


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
