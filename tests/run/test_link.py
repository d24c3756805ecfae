"""`vaultpapers link`, end to end: a vault on disk, the real arxiv client, a loopback API."""

from __future__ import annotations

import gc
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from factories import make_paper
from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.cli import main
from vaultpapers.testing.arxiv_server import FakeArxiv
from vaults import (
    MALDACENA,
    MIXER,
    PERCEIVER,
    PERCEIVER_IO,
    build_vault,
    is_only_insertions,
    snapshot,
)

PERCEIVER_NOTE = "Papers/Perceiver - General Perception with Iterative Attention (2103.03206).md"
MIXER_NOTE = "Papers/MLP-Mixer - An all-MLP Architecture for Vision (2105.01601).md"


def run_link(vault: Path, api: FakeArxiv | None, *args: str) -> Result:
    env = {"VAULTPAPERS_ARXIV_DELAY": "0"}
    if api is not None:
        env["VAULTPAPERS_ARXIV_API"] = api.url
    return CliRunner().invoke(main, ["link", str(vault), *args], env=env)


def front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1])


@pytest.fixture
def api(fake_arxiv: FakeArxiv) -> FakeArxiv:
    for paper in (PERCEIVER, PERCEIVER_IO, MIXER, MALDACENA):
        fake_arxiv.add(paper)
    return fake_arxiv


READING_LOG = """\
---
layout: post
title: "Reading log: July"
tags: [review]
---
# July

- Perceiver https://arxiv.org/abs/2103.03206 is neat.
- Same paper as a PDF: https://arxiv.org/pdf/2103.03206v2, and arXiv:2103.03206.
- [Perceiver IO](https://arxiv.org/pdf/2107.14795v2) generalises it #review
- 이 논문(https://arxiv.org/abs/2105.01601)가 재미있다.
- Physics: hep-th/9711200 started it all.

```
https://arxiv.org/abs/1706.03762 is in a code block
```

Inline `arXiv:1810.04805` too.
"""


def test_every_paper_cited_gets_exactly_one_note_with_its_metadata(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Reading log.md": READING_LOG})
    result = run_link(vault, api)
    assert result.exit_code == 0, result.output

    papers = sorted(p.relative_to(vault).as_posix() for p in (vault / "Papers").glob("*.md"))
    assert papers == [
        "Papers/MLP-Mixer - An all-MLP Architecture for Vision (2105.01601).md",
        PERCEIVER_NOTE,
        "Papers/Perceiver IO - A General Architecture for Structured Inputs & Outputs "
        "(2107.14795).md",
        "Papers/The Large N Limit of Superconformal Field Theories and Supergravity "
        "(hep-th_9711200).md",
    ]
    properties = front_matter(vault / PERCEIVER_NOTE)
    assert properties == {
        "vaultpapers": "paper",
        "arxiv_id": "2103.03206",
        "citekey": "jaegle2021perceiver",
        "version": 2,
        "title": "Perceiver: General Perception with Iterative Attention",
        "authors": ["Andrew Jaegle", "Felix Gimeno", "Andrew Brock", "Andrew Zisserman"],
        "published": PERCEIVER.published_date,
        "updated": PERCEIVER.updated_date,
        "primary_category": "cs.CV",
        "categories": ["cs.CV", "cs.AI", "cs.LG"],
        "url": "https://arxiv.org/abs/2103.03206",
        "pdf": "https://arxiv.org/pdf/2103.03206v2",
        "comment": "ICML 2021",
        "series": "Perceiver",
        "aliases": ["Perceiver: General Perception with Iterative Attention"],
        "tags": ["arxiv/cs-CV", "arxiv/cs-AI", "arxiv/cs-LG"],
        "related": [
            "[[Perceiver IO - A General Architecture for Structured Inputs & Outputs (2107.14795)]]"
        ],
    }
    maldacena = next((vault / "Papers").glob("The Large N Limit*(hep-th_9711200).md"))
    assert front_matter(maldacena)["doi"] == "10.1023/A:1026654312961"
    body = (vault / PERCEIVER_NOTE).read_text(encoding="utf-8")
    assert "## Mentioned in\n\n- [[Reading log]]\n" in body
    assert "Andrew Jaegle, Felix Gimeno" in body
    assert "[PDF](https://arxiv.org/pdf/2103.03206v2)" in body


def test_the_users_note_only_gains_links_placed_where_markdown_stays_intact(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Reading log.md": READING_LOG})
    assert run_link(vault, api).exit_code == 0
    new = (vault / "Reading log.md").read_text(encoding="utf-8")
    assert is_only_insertions(READING_LOG, new)
    perceiver = (
        " [[Perceiver - General Perception with Iterative Attention (2103.03206)|Perceiver]]"
    )
    assert new.count(perceiver) == 2  # one per line: line 58 cites the paper twice
    assert "https://arxiv.org/pdf/2103.03206v2" + perceiver + ", and arXiv:2103.03206.\n" in new
    assert "https://arxiv.org/abs/2103.03206" + perceiver + " is neat." in new
    assert "[Perceiver IO](https://arxiv.org/pdf/2107.14795v2) [[Perceiver IO - " in new
    assert "(https://arxiv.org/abs/2105.01601 [[MLP-Mixer - " in new and "|MLP-Mixer]])가" in new
    assert "hep-th/9711200 [[The Large N Limit" in new
    assert "1706.03762 is in a code block" in new and "(1706.03762)" not in new
    assert "`arXiv:1810.04805` too." in new


def test_every_link_written_resolves_to_a_note_in_the_vault(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(tmp_path / "v", {"Reading log.md": READING_LOG, "b/Other.md": "x"})
    assert run_link(vault, api).exit_code == 0
    names = {p.stem.lower() for p in vault.rglob("*.md")}
    for note in vault.rglob("*.md"):
        for target in re.findall(r"\[\[([^\]|\\]+)", note.read_text(encoding="utf-8")):
            assert target.lower() in names, f"{note}: dangling [[{target}]]"


def test_a_second_run_with_nothing_changed_writes_nothing_and_asks_nothing(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Reading log.md": READING_LOG})
    assert run_link(vault, api).exit_code == 0
    before = snapshot(vault)
    mtimes = {p: p.stat().st_mtime_ns for p in vault.rglob("*.md")}
    requests = len(api.requests)

    again = run_link(vault, api)
    assert again.exit_code == 0, again.output
    assert len(api.requests) == requests
    assert snapshot(vault) == before
    assert {p: p.stat().st_mtime_ns for p in vault.rglob("*.md")} == mtimes
    assert (
        "0 paper notes created in Papers/, 0 updated; 0 links inserted into 0 notes; 0 index"
        in again.output
    )


def test_the_summary_counts_the_users_notes_apart_from_the_generated_ones(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Reading log.md": READING_LOG, "Ideas.md": "# Ideas\n"})
    first = run_link(vault, api)
    assert "\n2 notes scanned (2 yours), " in first.output
    generated = len(list(vault.rglob("*.md"))) - 2
    assert generated > 0
    again = run_link(vault, api)  # nothing changed: answered from the last complete run
    assert again.output.startswith(f"{2 + generated} notes scanned (2 yours), "), again.output
    (vault / "Ideas.md").write_text("# Ideas\n\nMore.\n", encoding="utf-8")
    edited = run_link(vault, api)
    assert edited.output.startswith(f"{2 + generated} notes scanned (2 yours), "), edited.output


def test_metadata_is_fetched_once_ever_even_when_the_notes_are_deleted(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Reading log.md": READING_LOG})
    assert run_link(vault, api).exit_code == 0
    requests = len(api.requests)
    for note in (vault / "Papers").glob("*.md"):
        note.unlink()
    assert run_link(vault, api).exit_code == 0
    assert len(api.requests) == requests
    assert len(list((vault / "Papers").glob("*.md"))) == 4


def test_ids_are_fetched_in_batches(tmp_path: Path, fake_arxiv: FakeArxiv) -> None:
    ids = [f"2101.{n:05d}" for n in range(1, 251)]
    for arxiv_id in ids:
        fake_arxiv.add(make_paper(arxiv_id, f"Paper number {arxiv_id}"))
    vault = build_vault(
        tmp_path / "v",
        {
            ".vaultpapers/config.yaml": "arxiv:\n  batch_size: 100\n",
            "many.md": "\n".join(f"- https://arxiv.org/abs/{i}" for i in ids) + "\n",
        },
    )
    result = run_link(vault, fake_arxiv)
    assert result.exit_code == 0, result.output
    assert len(fake_arxiv.requests) == 3
    assert all(len(r.id_list) <= 100 for r in fake_arxiv.requests)
    assert len(list((vault / "Papers").glob("*.md"))) == 250


def test_invalid_and_unknown_ids_are_reported_with_file_and_line_and_get_no_note(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(
        tmp_path / "v",
        {"typo.md": "# Typos\n\nSee https://arxiv.org/abs/2006.162360 and arXiv:2109.99999.\n"},
    )
    result = run_link(vault, api)
    assert result.exit_code == 0, result.output
    assert "typo.md:3: https://arxiv.org/abs/2006.162360:" in result.stderr
    assert "typo.md:3: arXiv has no paper 2109.99999" in result.stderr
    assert not (vault / "Papers").exists()
    assert (vault / "typo.md").read_text(encoding="utf-8").count("[[") == 0


def test_offline_run_creates_pending_notes_a_later_run_completes_them(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(
        tmp_path / "v", {"log.md": "Read https://arxiv.org/abs/2103.03206 today.\n"}
    )
    offline = run_link(vault, None, "--offline")
    assert offline.exit_code == 1, offline.output
    assert "2103.03206: offline" in offline.stderr
    pending = vault / "Papers" / "arXiv 2103.03206.md"
    assert front_matter(pending)["metadata"] == "pending"
    assert (vault / "log.md").read_text(encoding="utf-8") == (
        "Read https://arxiv.org/abs/2103.03206 today.\n"
    ), "no link to a note whose name is not final yet"

    online = run_link(vault, api)
    assert online.exit_code == 0, online.output
    assert not pending.exists()
    assert front_matter(vault / PERCEIVER_NOTE)["title"].startswith("Perceiver")
    assert "metadata" not in front_matter(vault / PERCEIVER_NOTE)
    assert "[[Perceiver - General" in (vault / "log.md").read_text(encoding="utf-8")


def test_a_failing_api_leaves_papers_pending_and_nothing_lost(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"log.md": "Read https://arxiv.org/abs/2103.03206.\n"})
    (vault / ".vaultpapers").mkdir()
    (vault / ".vaultpapers/config.yaml").write_text("arxiv:\n  max_retries: 0\n", encoding="utf-8")
    api.fail_next(503)
    result = run_link(vault, api)
    assert result.exit_code == 1
    assert "1 paper(s) pending" in result.stderr
    assert (vault / "Papers" / "arXiv 2103.03206.md").exists()
    assert run_link(vault, api).exit_code == 0
    assert (vault / PERCEIVER_NOTE).exists()


def test_a_paper_note_renamed_and_moved_by_the_user_is_found_again(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "https://arxiv.org/abs/2103.03206\n"})
    assert run_link(vault, api).exit_code == 0
    moved = vault / "Reading" / "My Perceiver notes.md"
    moved.parent.mkdir()
    (vault / PERCEIVER_NOTE).rename(moved)
    (vault / "b.md").write_text("Also arXiv:2103.03206.\n", encoding="utf-8")

    assert run_link(vault, api).exit_code == 0
    assert not (vault / "Papers" / PERCEIVER_NOTE.split("/")[1]).exists()
    assert "- [[a]]\n- [[b]]\n" in moved.read_text(encoding="utf-8")
    assert "arXiv:2103.03206 [[My Perceiver notes|Perceiver]]." in (vault / "b.md").read_text(
        encoding="utf-8"
    )


def test_what_the_user_writes_in_a_paper_note_survives_later_runs(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "https://arxiv.org/abs/2103.03206\n"})
    assert run_link(vault, api).exit_code == 0
    note = vault / PERCEIVER_NOTE
    text = note.read_text(encoding="utf-8")
    text = text.replace("vaultpapers: paper\n", "vaultpapers: paper\nrating: 5  # mine\n")
    text = text.replace("tags:\n", "tags:\n  - to-read\n")
    text = text.replace(
        "<!-- vaultpapers:begin paper -->", "My summary first.\n\n<!-- vaultpapers:begin paper -->"
    )
    text += "\n## My notes\n\nCross-attention to a latent array. See arXiv:2107.14795.\n"
    note.write_text(text, encoding="utf-8")
    (vault / "b.md").write_text("More https://arxiv.org/abs/2103.03206\n", encoding="utf-8")

    assert run_link(vault, api).exit_code == 0
    after = note.read_text(encoding="utf-8")
    assert "rating: 5  # mine\n" in after
    assert "  - to-read\n" in after
    assert "My summary first.\n\n<!-- vaultpapers:begin paper -->" in after
    assert "## My notes\n\nCross-attention to a latent array. See arXiv:2107.14795 [[" in after
    assert "- [[a]]\n- [[b]]\n" in after
    io_note = next((vault / "Papers").glob("Perceiver IO*"))
    assert "- [[Perceiver - General Perception with Iterative Attention (2103.03206)]]" in (
        io_note.read_text(encoding="utf-8")
    )


def test_links_in_a_table_escape_the_pipe(tmp_path: Path, api: FakeArxiv) -> None:
    table = "| paper | link |\n|---|---|\n| Perceiver | https://arxiv.org/abs/2103.03206 |\n"
    vault = build_vault(tmp_path / "v", {"t.md": table})
    assert run_link(vault, api).exit_code == 0
    row = (vault / "t.md").read_text(encoding="utf-8").splitlines()[2]
    assert row == (
        "| Perceiver | https://arxiv.org/abs/2103.03206 "
        "[[Perceiver - General Perception with Iterative Attention (2103.03206)\\|Perceiver]] |"
    )


def test_inline_links_can_be_turned_off(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(
        tmp_path / "v",
        {".vaultpapers/config.yaml": "inline_links: off\n", "a.md": READING_LOG},
    )
    assert run_link(vault, api).exit_code == 0
    assert (vault / "a.md").read_text(encoding="utf-8") == READING_LOG
    assert (vault / PERCEIVER_NOTE).exists()


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(tmp_path / "v", {"Reading log.md": READING_LOG})
    before = snapshot(vault)
    result = run_link(vault, api, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"would create {PERCEIVER_NOTE}" in result.output
    assert "would update Reading log.md" in result.output
    assert {k: v for k, v in snapshot(vault).items() if not k.startswith(".vaultpapers")} == {
        k: v for k, v in before.items()
    }


def test_unreadable_notes_are_reported_and_the_run_goes_on(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(
        tmp_path / "v",
        {
            "latin1.md": "caf\xe9 https://arxiv.org/abs/2103.03206".encode("latin-1"),
            "bad yaml.md": "---\ntitle: [oops\n---\nhttps://arxiv.org/abs/2105.01601\n",
            "good.md": "https://arxiv.org/abs/2103.03206\n",
        },
    )
    result = run_link(vault, api)
    assert "latin1.md: skipped: not UTF-8" in result.stderr
    assert "bad yaml.md:1: front matter not read" in result.stderr
    assert (vault / "latin1.md").read_bytes() == "caf\xe9 https://arxiv.org/abs/2103.03206".encode(
        "latin-1"
    )
    assert (vault / PERCEIVER_NOTE).exists() and (vault / MIXER_NOTE).exists()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("paper_folder: X\n", "unknown key 'paper_folder' (did you mean 'papers_folder'?)"),
        ("inline_links: sometimes\n", "inline_links: expected one of each, first, off"),
        ("arxiv:\n  delay: -1\n", "arxiv.delay: expected a number >= 0"),
        ("filename_pattern: '{title}'\n", "must contain {id}"),
        ("- a list\n", "expected a mapping of settings"),
        ("index_tags: [review]\n", "index_tags: expected true, false, or a mapping with include"),
        ("index_tags:\n  exlude: [x]\n", "unknown key 'exlude' (did you mean 'exclude'?)"),
        ("index_tags:\n  include: [cs.LG]\n", "index_tags.include: 'cs.LG' can match no tag"),
        ("index_tags:\n  exclude: [3]\n", "index_tags.exclude: expected a list of text"),
    ],
)
def test_bad_configuration_is_explained_and_nothing_is_done(
    tmp_path: Path, config: str, message: str
) -> None:
    vault = build_vault(tmp_path / "v", {".vaultpapers/config.yaml": config, "a.md": READING_LOG})
    result = run_link(vault, None, "--offline")
    assert result.exit_code == 2
    assert message in result.output
    assert not (vault / "Papers").exists()


def test_a_run_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(tmp_path / "v", {"Reading log.md": READING_LOG})
    assert gc.isenabled()
    assert run_link(vault, api).exit_code == 0
    assert gc.isenabled()  # paused while the scans are decoded, then on again
    (vault / "Reading log.md").write_text(READING_LOG + "\nMore.\n", encoding="utf-8")
    gc.disable()
    try:
        assert run_link(vault, api).exit_code == 0
        assert not gc.isenabled()  # a caller's choice stands
    finally:
        gc.enable()


def test_dry_run_diff_marks_a_last_line_without_newline_on_both_sides(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(
        tmp_path / "v",
        {"a.md": "# Reading\nPerceiver: https://arxiv.org/abs/2103.03206"},
    )
    result = run_link(vault, api, "--dry-run", "--diff")
    assert result.exit_code == 0, result.output
    diff = result.output[result.output.index("--- a/a.md") :].splitlines()  # the last write
    assert diff[3:] == [
        " # Reading",
        "-Perceiver: https://arxiv.org/abs/2103.03206",
        "\\ No newline at end of file",
        f"+Perceiver: https://arxiv.org/abs/2103.03206 [[{PERCEIVER_NOTE[7:-3]}|Perceiver]]",
        "\\ No newline at end of file",
    ]


def test_dry_run_diff_marks_an_unchanged_last_line_without_newline_once(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(
        tmp_path / "v",
        {"a.md": "https://arxiv.org/abs/2103.03206\r\nfirst\r\nlast, no newline"},
    )
    result = run_link(vault, api, "--dry-run", "--diff")
    assert result.exit_code == 0, result.output
    diff = result.output[result.output.index("--- a/a.md") :].splitlines()
    assert diff[3:7] == [
        "-https://arxiv.org/abs/2103.03206",
        f"+https://arxiv.org/abs/2103.03206 [[{PERCEIVER_NOTE[7:-3]}|Perceiver]]",
        " first",
        " last, no newline",
    ]
    assert diff[7] == "\\ No newline at end of file"
    assert diff.count("\\ No newline at end of file") == 1


def every_entry(root: Path) -> tuple[list[str], dict[str, bytes]]:
    """Every name below root, folders and dot-folders included, and every file's bytes."""
    names = sorted(path.relative_to(root).as_posix() for path in root.rglob("*"))
    return names, snapshot(root)


@pytest.mark.parametrize("diff", [False, True], ids=["dry-run", "dry-run-diff"])
@pytest.mark.parametrize("earlier_run", [False, True], ids=["fresh", "cache-and-state"])
def test_a_dry_run_writes_nothing_at_all_inside_the_vault(
    tmp_path: Path, api: FakeArxiv, diff: bool, earlier_run: bool
) -> None:
    vault = build_vault(tmp_path / "v", {"Reading log.md": READING_LOG})
    if earlier_run:
        assert run_link(vault, api).exit_code == 0
        (vault / "new.md").write_text("Attention: arXiv:1706.03762\n", encoding="utf-8")
        api.add(make_paper("1706.03762", "Attention Is All You Need"))
        assert (vault / ".vaultpapers" / "state.sqlite").exists()
    before = every_entry(vault)
    result = run_link(vault, api, "--dry-run", *(["--diff"] if diff else []))
    assert result.exit_code == 0, result.output
    assert every_entry(vault) == before  # no .vaultpapers/, no -wal, -shm or temp files
    fetched = 1 if earlier_run else 4
    assert (
        f"Fetched {fetched} paper(s)' metadata from arXiv, kept in memory only: "
        "a real run fetches it again." in result.output
    )
    requests = len(api.requests)
    assert run_link(vault, api, "--dry-run").exit_code == 0
    assert len(api.requests) > requests  # nothing was kept: fetched again


def test_a_dry_run_reads_the_cache_another_process_is_writing(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "Mixer: arXiv:2105.01601\n"})
    (vault / ".vaultpapers").mkdir()
    # A watcher's open cache: its newest papers may be only in the -wal file as yet.
    with PaperCache(vault / ".vaultpapers" / "cache.sqlite") as cache:
        cache.put_many([MIXER])
        names = every_entry(vault)[0]
        assert ".vaultpapers/cache.sqlite-wal" in names
        result = run_link(vault, None, "--dry-run", "--offline")
        assert result.exit_code == 0, result.output
        assert every_entry(vault)[0] == names
        assert f"would create {MIXER_NOTE}" in result.output
        assert "pending" not in result.output


def test_related_only_reads_the_vault(tmp_path: Path) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "Perceiver arXiv:2103.03206\n"})
    before = every_entry(vault)
    result = CliRunner().invoke(main, ["related", "2103.03206", str(vault)])
    assert result.exit_code == 1  # no metadata yet
    assert every_entry(vault) == before  # and no .vaultpapers/ made to find that out


# --- where real notes differ from ours (issue 16) ----------------------------------------------

PERCEIVER_LINK = (
    " [[Perceiver - General Perception with Iterative Attention (2103.03206)|Perceiver]]"
)


@pytest.mark.parametrize("mode", ["each", "first"])
def test_a_paper_cited_twice_on_one_line_gets_one_link_there(
    tmp_path: Path, api: FakeArxiv, mode: str
) -> None:
    note = (
        "- Perceiver arXiv:2103.03206 (2021) [[paper]](https://arxiv.org/abs/2103.03206)\n"
        "- again https://arxiv.org/abs/2103.03206\n"
    )
    vault = build_vault(
        tmp_path / "v", {".vaultpapers/config.yaml": f"inline_links: {mode}\n", "a.md": note}
    )
    assert run_link(vault, api).exit_code == 0
    new = (vault / "a.md").read_text(encoding="utf-8")
    assert new.splitlines()[0] == (
        "- Perceiver arXiv:2103.03206" + PERCEIVER_LINK + " (2021) "
        "[[paper]](https://arxiv.org/abs/2103.03206)"
    )
    assert new.count(PERCEIVER_LINK) == (2 if mode == "each" else 1)
    before = snapshot(vault)
    assert run_link(vault, api).exit_code == 0
    assert snapshot(vault) == before


def test_a_link_an_earlier_run_left_anywhere_on_the_line_counts(
    tmp_path: Path, api: FakeArxiv
) -> None:
    # Earlier versions linked both references; the user deleted the first link.
    note = (
        "arXiv:2103.03206 (2021) [[paper]](https://arxiv.org/abs/2103.03206)"
        + PERCEIVER_LINK
        + "\n"
    )
    vault = build_vault(tmp_path / "v", {"a.md": note})
    assert run_link(vault, api).exit_code == 0
    assert (vault / "a.md").read_text(encoding="utf-8") == note


def test_a_button_link_gets_the_link_after_its_closing_parenthesis(
    tmp_path: Path, api: FakeArxiv
) -> None:
    # haoyangliu123/awesome-deepseek-r1, README.md: the "button" style of paper lists.
    note = (
        "- Perceiver [[Paper]](https://arxiv.org/abs/2103.03206) [[Code]](https://github.com/x/y)\n"
        "| Mixer | [[arXiv]](https://arxiv.org/abs/2105.01601) |\n|---|---|\n"
    )
    vault = build_vault(tmp_path / "v", {"a.md": note})
    assert run_link(vault, api).exit_code == 0
    new = (vault / "a.md").read_text(encoding="utf-8")
    assert is_only_insertions(note, new)
    assert "[[Paper]](https://arxiv.org/abs/2103.03206)" + PERCEIVER_LINK + " [[Code]]" in new
    assert "[[arXiv]](https://arxiv.org/abs/2105.01601) [[MLP-Mixer - " in new
    assert "\\|MLP-Mixer]] |" in new
    before = snapshot(vault)
    assert run_link(vault, api).exit_code == 0
    assert snapshot(vault) == before


def test_dataview_fields_and_html_blocks_cite_papers_but_gain_no_link(
    tmp_path: Path, api: FakeArxiv
) -> None:
    note = (
        "source:: https://arxiv.org/abs/2103.03206\n"
        "Read [via:: arXiv:2107.14795] today.\n\n"
        '<div style="background-color: #f8f9fa">\n'
        '<a href="https://arxiv.org/abs/2105.01601">arXiv: 2105.01601v1</a>\n'
        "</div>\n"
    )
    vault = build_vault(tmp_path / "v", {"a.md": note})
    result = run_link(vault, api)
    assert result.exit_code == 0, result.output
    assert (vault / "a.md").read_text(encoding="utf-8") == note
    for paper_note in (PERCEIVER_NOTE, MIXER_NOTE):
        assert "## Mentioned in\n\n- [[a]]\n" in (vault / paper_note).read_text(encoding="utf-8")
    assert not [p for p in vault.rglob("*f8f9fa*")], "a hex colour made a tag"


def test_a_link_to_one_entry_of_a_bibliography_cites_no_paper(
    tmp_path: Path, api: FakeArxiv
) -> None:
    note = "As in [39](https://ar5iv.labs.arxiv.org/html/2103.03206#bib.bib39).\n"
    vault = build_vault(tmp_path / "v", {"a.md": note})
    result = run_link(vault, api)
    assert result.exit_code == 0, result.output
    assert (vault / "a.md").read_text(encoding="utf-8") == note
    assert not (vault / PERCEIVER_NOTE).exists()
    assert "2103.03206" not in result.output


def test_msc_and_acm_classes_from_arxiv_become_no_categories_and_no_tag_index(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.add(make_paper("2503.21800", "ELM", categories=("cs.CL", "68T50", "I.2.7")))
    vault = build_vault(tmp_path / "v", {"a.md": "ELM arXiv:2503.21800\n"})
    assert run_link(vault, fake_arxiv).exit_code == 0
    (note,) = (vault / "Papers").glob("ELM*.md")
    assert front_matter(note)["categories"] == ["cs.CL"]
    tags = {p.name for p in (vault / "Papers" / "Tags").glob("*.md")}
    assert tags == {"Tag arxiv.md", "Tag arxiv › cs-CL.md"}
