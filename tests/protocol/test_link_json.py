"""`link --json` and `refresh --json`: the events of a run, checked against the schema and
against what the run did (docs/protocol.md)."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from json_events import assert_adds_up, named, parse, valid
from vaultpapers.cli import main
from vaultpapers.run.sources import open_cache
from vaultpapers.testing import FakeArxiv
from vaults import MALDACENA, MIXER, PERCEIVER, PERCEIVER_IO, build_vault, snapshot

READING_LOG = """\
---
tags: [review]
---
# July

- Perceiver https://arxiv.org/abs/2103.03206 is neat, and arXiv:2103.03206 again.
- [Perceiver IO](https://arxiv.org/pdf/2107.14795v2) generalises it #review
- 이 논문(https://arxiv.org/abs/2105.01601)가 재미있다.
"""
PHYSICS = "Physics: hep-th/9711200 started it all.\n"


@pytest.fixture
def api(fake_arxiv: FakeArxiv) -> FakeArxiv:
    for paper in (PERCEIVER, PERCEIVER_IO, MIXER, MALDACENA):
        fake_arxiv.add(paper)
    return fake_arxiv


def invoke(api: FakeArxiv | None, *args: str) -> Result:
    env = {"VAULTPAPERS_ARXIV_DELAY": "0"}
    if api is not None:
        env["VAULTPAPERS_ARXIV_API"] = api.url
    return CliRunner().invoke(main, list(args), env=env)


def test_a_first_run_tells_each_note_written_and_each_link_and_adds_up(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Reading log.md": READING_LOG, "Physics.md": PHYSICS})
    result = invoke(api, "link", "--json", str(vault))
    assert result.exit_code == 0, result.output
    events = parse(result.stdout)

    assert events[0]["event"] == "run_started"
    assert events[0] | {"time": None} == {
        "v": 1,
        "event": "run_started",
        "time": None,
        "command": "link",
        "vault": str(vault.resolve()),
        "offline": False,
        "dry_run": False,
        "reason": None,
    }
    assert events[-1]["event"] == "run_finished"
    counts = assert_adds_up([e for e in events if e["event"] != "progress"])
    assert counts["paper_notes_created"] == 4
    assert counts["notes_linked"] == 2
    created = {e["path"] for e in named(events, "note_written") if e["kind"] == "paper"}
    assert created == {
        path.relative_to(vault).as_posix() for path in (vault / "Papers").glob("*.md")
    }
    links = {e["path"]: e["papers"] for e in named(events, "link_inserted")}
    # One link per paper and line, in the note's order; the second Perceiver on a line gets none.
    assert links == {
        "Reading log.md": ["2103.03206", "2107.14795", "2105.01601"],
        "Physics.md": ["hep-th/9711200"],
    }
    assert counts["links_inserted"] == 4
    for path in links:
        assert (vault / path).read_text(encoding="utf-8").count("[[") == len(links[path])

    # Progress: the papers fetched, of the total, ending at the total.
    progress = named(events, "progress")
    assert progress, "metadata was fetched: progress is told"
    assert progress[-1]["done"] == progress[-1]["total"] == 4
    assert all(p["stage"] == "fetch" for p in progress)
    assert [p["done"] for p in progress] == sorted(p["done"] for p in progress)


SUMMARY = re.compile(
    r"(?P<notes>\d+) notes scanned \((?P<user_notes>\d+) yours\), (?P<papers>\d+) papers cited: "
    r"(?P<paper_notes_created>\d+) paper notes created in Papers/, "
    r"(?P<paper_notes_updated>\d+) updated(?:, (?P<own_notes_updated>\d+) of your own paper "
    r"notes)?; (?P<links_inserted>\d+) links inserted into (?P<notes_linked>\d+) notes; "
    r"(?P<index_notes>\d+) index notes written(?:, (?P<removed>\d+) removed)?\."
)


@pytest.mark.parametrize("offline", [False, True])
def test_the_counts_are_the_human_summarys_numbers(
    tmp_path: Path, api: FakeArxiv, offline: bool
) -> None:
    """The same run on two copies of a vault: once for people, once for programs."""
    files = {"Reading log.md": READING_LOG, "Physics.md": PHYSICS}
    if offline:  # the cache filled by a first run, then a note changed
        seed = build_vault(tmp_path / "seed", files)
        assert invoke(api, "link", str(seed)).exit_code == 0
        (seed / "Physics.md").write_text(PHYSICS + "\nAlso #physics\n", encoding="utf-8")
        for name in ("human", "machine"):
            shutil.copytree(seed, tmp_path / name)
    else:
        for name in ("human", "machine"):
            build_vault(tmp_path / name, files)
    flag = ["--offline"] if offline else []
    human = invoke(api, "link", *flag, str(tmp_path / "human"))
    machine = invoke(api, "link", *flag, "--json", str(tmp_path / "machine"))
    assert human.exit_code == machine.exit_code == 0, human.output + machine.output

    said = SUMMARY.search(human.stdout)
    assert said is not None, human.stdout
    counts = assert_adds_up(parse(machine.stdout))
    for name, value in said.groupdict().items():
        assert counts[name] == int(value or 0), name
    assert snapshot(tmp_path / "human").keys() == snapshot(tmp_path / "machine").keys()


def test_a_dry_run_tells_what_it_would_write_and_writes_nothing(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", {"Reading log.md": READING_LOG})
    before = snapshot(vault)
    result = invoke(api, "link", "--json", "--dry-run", str(vault))
    assert result.exit_code == 0, result.output
    events = parse(result.stdout)
    assert snapshot(vault) == before
    counts = assert_adds_up([e for e in events if e["event"] != "progress"])
    written = named(events, "note_written")
    assert written and all(e["planned"] for e in written)
    assert counts["planned"] == len(written)
    assert counts["paper_notes_created"] == counts["links_inserted"] == 0
    assert named(events, "link_inserted")[0]["planned"] is True
    assert events[-1]["dry_run"] is True


BAD_INPUT: dict[str, str | bytes] = {
    "Broken front matter.md": "---\ntitle: [unclosed\n---\nhttps://arxiv.org/abs/2103.03206\n",
    "Latin-1.md": "Café https://arxiv.org/abs/2105.01601\n".encode("latin-1"),
    "Binary.md": b"\x00\x01\x02 not text",
    "Typo.md": "See https://arxiv.org/abs/2006.162360 and arXiv:2113.01234.\n",
    "Missing.md": "A paper arXiv does not know: https://arxiv.org/abs/2107.99999\n",
    "Paper with bad id.md": "---\nvaultpapers: paper\narxiv_id: [1]\n---\nbody\n",
    "Fine.md": "Perceiver https://arxiv.org/abs/2103.03206\n",
}


def test_bad_input_is_problem_events_with_codes_and_never_a_traceback(
    tmp_path: Path, api: FakeArxiv
) -> None:
    vault = build_vault(tmp_path / "v", BAD_INPUT)
    result = invoke(api, "link", "--json", str(vault))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    events = parse(result.stdout)
    counts = assert_adds_up([e for e in events if e["event"] != "progress"])
    found = {(e["file"], e["code"], e["line"]) for e in named(events, "problem")}
    assert found == {
        ("Broken front matter.md", "front-matter-invalid", 1),
        ("Latin-1.md", "not-utf8", None),
        ("Binary.md", "binary", None),
        ("Typo.md", "invalid-arxiv-id", 1),
        ("Missing.md", "paper-not-found", 1),
        ("Paper with bad id.md", "paper-note-bad-id", 1),
    } | {("Typo.md", "invalid-arxiv-id", 1)}
    assert len(named(events, "problem")) == counts["problems"] == 7  # Typo.md: two bad ids
    assert named(events, "link_inserted") == [
        e for e in named(events, "link_inserted") if e["path"] == "Fine.md"
    ]
    assert (vault / "Latin-1.md").read_bytes() == BAD_INPUT["Latin-1.md"]


def test_a_bad_configuration_is_one_error_event_and_exit_2(tmp_path: Path) -> None:
    vault = build_vault(
        tmp_path / "v", {"a.md": "x\n", ".vaultpapers/config.yaml": "papers_fodler: P\n"}
    )
    result = invoke(None, "link", "--json", str(vault))
    assert result.exit_code == 2
    [error] = parse(result.stdout)
    assert error["event"] == "error" and error["exit_code"] == 2
    assert "papers_fodler" in error["message"]
    assert "papers_fodler" in result.stderr  # people still read it on stderr


@pytest.mark.parametrize(
    "args",
    [
        ["link", "--json", "{missing}"],
        ["link", "--json", "--no-such-option", "{vault}"],
        ["refresh", "--json", "{vault}"],  # neither ids nor --all
        ["refresh", "--json", "{vault}", "2006.162360"],  # a malformed id
        ["related", "--json", "2006.162360", "{vault}"],
    ],
)
def test_bad_usage_is_one_error_event_and_exit_2(tmp_path: Path, args: list[str]) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "x\n"})
    filled = [a.format(vault=vault, missing=tmp_path / "nowhere") for a in args]
    result = invoke(None, *filled)
    assert result.exit_code == 2, result.output
    [error] = parse(result.stdout)
    assert error["event"] == "error" and error["exit_code"] == 2


def test_an_unusable_cache_is_an_error_event_and_exit_1(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(
        tmp_path / "v",
        {"a.md": "https://arxiv.org/abs/2103.03206\n", ".vaultpapers/cache.sqlite": "not sqlite"},
    )
    result = invoke(api, "link", "--json", str(vault))
    assert result.exit_code == 1, result.output
    events = parse(result.stdout)
    assert events[0]["event"] == "run_started"
    assert events[-1]["event"] == "error" and events[-1]["exit_code"] == 1
    assert "cache" in events[-1]["message"]
    assert not named(events, "run_finished")


def test_pending_papers_are_told_with_their_reason_and_exit_1(tmp_path: Path) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "https://arxiv.org/abs/2103.03206\n"})
    result = invoke(None, "link", "--json", "--offline", str(vault))
    assert result.exit_code == 1, result.output
    events = parse(result.stdout)
    counts = assert_adds_up(events)
    [pending] = named(events, "pending")
    assert [p["id"] for p in pending["papers"]] == ["2103.03206"]
    assert counts["pending"] == 1
    assert events[-1]["complete"] is False and events[-1]["exit_code"] == 1


def test_refresh_tells_what_changed_upstream(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "https://arxiv.org/abs/2103.03206\n"})
    assert invoke(api, "link", str(vault)).exit_code == 0
    from dataclasses import replace

    api.add(replace(PERCEIVER, version=3, journal_ref="ICML 2021"))
    result = invoke(api, "refresh", "--json", str(vault), "2103.03206")
    assert result.exit_code == 0, result.output
    events = parse(result.stdout)
    counts = assert_adds_up(events)
    assert events[0]["command"] == "refresh"
    [refreshed] = named(events, "refreshed")
    assert refreshed["asked"] == counts["rechecked"] == 1
    assert len(refreshed["changes"]) == 1 and "v2 → v3" in refreshed["changes"][0]
    assert counts["paper_notes_updated"] == 1


def test_without_the_flag_nothing_is_json(tmp_path: Path, api: FakeArxiv) -> None:
    vault = build_vault(tmp_path / "v", {"a.md": "https://arxiv.org/abs/2103.03206\n"})
    result = invoke(api, "link", str(vault))
    assert result.exit_code == 0
    assert result.stdout.startswith("1 notes scanned")
    assert "{" not in result.stdout


@pytest.mark.parametrize("titles", ["off", "search"])
def test_a_note_saved_during_the_run_is_not_written_and_its_links_do_not_count(
    tmp_path: Path, api: FakeArxiv, titles: str
) -> None:
    """A real run, with the user saving one note after the run read it and before it wrote:
    that note is not written and its links are not counted as inserted. The run holds the
    text it read (titles off): the writer finds the file changed, a `write_skipped`
    (conflict). A first run's title pass leaves the texts to be read again while planning
    (titles on): the planner finds it changed, a `changed-during-run` problem."""
    from vaultpapers import protocol
    from vaultpapers.config import load_settings
    from vaultpapers.run.options import RunOptions
    from vaultpapers.run.pipeline import run_link

    vault = build_vault(
        tmp_path / "v",
        {
            "Reading log.md": READING_LOG,
            "Physics.md": PHYSICS,
            ".vaultpapers/config.yaml": f"titles: {titles}\n",
        },
    )
    assert invoke(api, "link", "--dry-run", str(vault)).exit_code == 0  # nothing written
    settings = load_settings(
        vault, {"VAULTPAPERS_ARXIV_API": api.url, "VAULTPAPERS_ARXIV_DELAY": "0"}
    )
    saved: list[bool] = []

    def user_saves_meanwhile() -> bool:  # asked while the run plans, after it read the notes
        if not saved:
            (vault / "Physics.md").write_text(PHYSICS + "A thought.\n", encoding="utf-8")
            saved.append(True)
        return False

    report = run_link(vault, settings, RunOptions(), should_yield=user_saves_meanwhile)
    assert saved, "the run asked should_yield while planning"
    events = [valid(e) for e in protocol.run_events(report)]
    counts = assert_adds_up([protocol.run_started("link", vault, RunOptions()), *events])
    if titles == "off":
        [skipped] = named(events, "write_skipped")
        assert skipped["path"] == "Physics.md" and skipped["outcome"] == "conflict"
        assert counts["skipped"] == 1
        assert events[-1]["exit_code"] == 1 and events[-1]["complete"] is False
    else:  # the note is owed to the next run, which sees it changed anyway
        changed = [e for e in named(events, "problem") if e["code"] == "changed-during-run"]
        assert [e["file"] for e in changed] == ["Physics.md"]
        assert not named(events, "write_skipped")
    assert "Physics.md" not in [e["path"] for e in named(events, "note_written")]
    assert counts["links_inserted"] == 3  # Reading log.md's, not Physics.md's
    assert (vault / "Physics.md").read_text(encoding="utf-8").endswith("A thought.\n")
    assert invoke(api, "link", str(vault)).exit_code == 0  # the next run links it
    physics = (vault / "Physics.md").read_text(encoding="utf-8")
    assert "[[" in physics and physics.endswith("A thought.\n")


LINES = st.sampled_from(
    [
        "Perceiver https://arxiv.org/abs/2103.03206",
        "IO [paper](https://arxiv.org/pdf/2107.14795v2) and arXiv:2103.03206",
        "Mixer (https://arxiv.org/abs/2105.01601)가",
        "physics hep-th/9711200",
        "not cached: https://arxiv.org/abs/2301.00001",
        "a typo https://arxiv.org/abs/2006.162360",
        "`https://arxiv.org/abs/2105.01601` in code",
        "#review plain prose",
        "",
    ]
)
NOTES = st.dictionaries(
    st.sampled_from(["a.md", "b.md", "Sub/c.md", "d.md"]),
    st.one_of(
        st.lists(LINES, max_size=5).map(lambda lines: "\n".join(lines) + "\n"),
        st.just("---\ntitle: [broken\n---\nhttps://arxiv.org/abs/2103.03206\n"),
        st.just(b"caf\xe9 https://arxiv.org/abs/2105.01601\n"),
    ),
    min_size=1,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notes=NOTES, second=st.dictionaries(st.sampled_from(["a.md", "e.md"]), LINES))
def test_on_any_vault_the_events_add_up_to_the_counts_and_the_human_summary(
    notes: dict[str, str | bytes], second: dict[str, str]
) -> None:
    """Offline, from a cache: a first run and a second after some edits, on two copies of
    the vault, once for people and once for programs."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        copies = [build_vault(root / name, notes) for name in ("human", "machine")]
        for vault in copies:
            with open_cache(vault) as cache:
                cache.put_many([PERCEIVER, PERCEIVER_IO, MIXER, MALDACENA])
        for edits in ({}, second):
            for vault in copies:
                build_vault(vault, {path: text + "\n" for path, text in edits.items()})
            human = invoke(None, "link", "--offline", str(copies[0]))
            machine = invoke(None, "link", "--offline", "--json", str(copies[1]))
            assert human.exit_code == machine.exit_code, human.output + machine.output
            assert "Traceback" not in machine.output
            counts = assert_adds_up(parse(machine.stdout))
            said = SUMMARY.search(human.stdout)
            assert said is not None, human.stdout
            for name, value in said.groupdict().items():
                assert counts[name] == int(value or 0), name
            assert human.stderr.count("problem(s)") == (1 if counts["problems"] else 0)
