"""The vaultpapers benchmark (issue 5): synthetic vaults against a loopback arXiv API.

For each size: generate the vault, then on that same vault measure a cold first `link`, a rerun
with nothing changed, a rerun after one note changed, the watcher's save -> paper note latency,
peak RSS and API requests, plus two reference points: `grep -rE` over the vault and loading it
with obsidiantools. Prints a Markdown table and writes every number as JSON.

    bash benchmarks/run.sh                       # venv, install, all sizes
    python benchmarks/run.py --sizes 1000 10000  # in an environment that has vaultpapers

Every measured step is its own child process, timed with perf_counter around spawn -> exit, its
peak RSS read from that child's own rusage (os.wait4), never from RUSAGE_CHILDREN, which is a
maximum over every child so far.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from generate import DEFAULT_SEED, Corpus, make_corpus, write_vault

from vaultpapers.testing.arxiv_server import FakeArxiv

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GREP_PATTERN = r"arxiv\.org/(abs|pdf)/[^ )>]+"
PAPERS_FOLDER = "Papers"  # the default; the harness writes no papers_folder setting
COLD_RUNS = 3
CHANGED_NOTE_RUNS = 3
UNCHANGED_RUNS = 3
OBSIDIANTOOLS_CODE = """
import sys, time
from pathlib import Path
import obsidiantools.api as otools
vault = otools.Vault(Path(sys.argv[1])).connect().gather()
print(len(vault.md_file_index))
"""
DEFAULT_WATCH_COMMAND = "{python} -m vaultpapers watch {vault}"
WATCH_EDITS_MAX = 200  # spare papers the generator provides, less the ones other steps cite
README_BEGIN = "<!-- benchmark-table:begin -->"
README_END = "<!-- benchmark-table:end -->"


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# -- child processes ---------------------------------------------------------------------------


@dataclass
class Finished:
    """One child process, from spawn to exit."""

    seconds: float
    exit_code: int | None  # None when it had to be killed for running past its time limit
    peak_rss_mib: float | None
    stdout: str
    stderr: str

    @property
    def timed_out(self) -> bool:
        return self.exit_code is None

    def record(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 4),
            "exit_code": self.exit_code,
            "timed_out": self.timed_out,
            "peak_rss_mib": None if self.peak_rss_mib is None else round(self.peak_rss_mib, 1),
        }


class Child:
    """A child process reaped with os.wait4, so its rusage is its own and nobody else's."""

    def __init__(self, argv: Sequence[str], *, env: dict[str, str], log_path: Path | None = None):
        # Files, not pipes: nobody has to drain them while we wait, and a log survives a crash.
        self._out: BinaryIO = (
            open(log_path, "w+b") if log_path else tempfile.TemporaryFile()  # noqa: SIM115
        )
        self._err: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115
        self.started = time.perf_counter()
        # A session of its own: on a time limit the whole group goes, grep's pipeline included.
        self.popen = subprocess.Popen(
            list(argv),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT if log_path else self._err,
            start_new_session=True,
        )
        self.ended: float | None = None
        self.exit_code: int | None = None
        self.rusage: Any = None
        self._killed = False
        self._lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def _reaped(self, status: int, rusage: Any) -> None:
        self.ended = time.perf_counter()
        self.rusage = rusage
        code = os.waitstatus_to_exitcode(status)
        self.exit_code = None if self._killed else code
        # Popen must not wait for a pid we reaped ourselves.
        self.popen.returncode = code

    def poll(self) -> bool:
        """True once the child has exited (and is reaped)."""
        with self._lock:
            if self.ended is not None:
                return True
            pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
            if pid == 0:
                return False
            self._reaped(status, rusage)
            return True

    def signal(self, signum: int, *, group: bool = False) -> None:
        with self._lock:
            if self.ended is not None:
                return
            with contextlib.suppress(ProcessLookupError):
                if group:
                    os.killpg(self.pid, signum)
                else:
                    os.kill(self.pid, signum)

    def _kill_for_time(self) -> None:
        self._killed = True
        self.signal(signal.SIGKILL, group=True)

    def wait(self, timeout: float) -> Finished:
        timer = threading.Timer(timeout, self._kill_for_time)
        timer.daemon = True
        timer.start()
        try:
            _, status, rusage = os.wait4(self.pid, 0)
        except BaseException:
            # Ctrl-C on the harness: the child is in a session of its own and would live on.
            self._kill_for_time()
            raise
        finally:
            timer.cancel()
        with self._lock:
            self._reaped(status, rusage)
        return self.finished()

    def finished(self) -> Finished:
        assert self.ended is not None
        outputs = []
        for handle in (self._out, self._err):
            if handle.closed:
                outputs.append("")
                continue
            handle.flush()
            handle.seek(0)
            outputs.append(handle.read().decode("utf-8", "replace"))
            handle.close()
        # ru_maxrss is in KiB on Linux.
        rss = self.rusage.ru_maxrss / 1024 if self.rusage is not None else None
        return Finished(self.ended - self.started, self.exit_code, rss, outputs[0], outputs[1])

    def stop(self, grace: float = 10.0) -> Finished:
        """Ask politely (SIGINT, as Ctrl-C would), then firmly."""
        for signum, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0)):
            self.signal(signum)
            if wait_until(self.poll, wait, interval=0.05):
                return self.finished()
        self.signal(signal.SIGKILL, group=True)
        wait_until(self.poll, 10.0, interval=0.05)
        return self.finished()


def run_child(argv: Sequence[str], env: dict[str, str], timeout: float) -> Finished:
    return Child(argv, env=env).wait(timeout)


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    deadline = time.perf_counter() + timeout
    while True:
        if condition():
            return True
        if time.perf_counter() >= deadline:
            return False
        time.sleep(interval)


# -- vault helpers ----------------------------------------------------------------------------


def save_editor_style(path: Path, text: str) -> float:
    """Write a temp file beside `path` and move it over, as editors save; returns the moment of
    the move (perf_counter), which is when the new text appears to a watcher."""
    temp = path.with_name(f".{path.name}.bench-save~")
    temp.write_bytes(text.encode("utf-8"))
    moment = time.perf_counter()
    os.replace(temp, path)
    return moment


def append_reference(path: Path, key: str, purpose: str) -> tuple[str, float]:
    """Append a line citing `key`; returns the line added and the moment of the save."""
    text = path.read_text(encoding="utf-8-sig")
    line = f"{purpose}: https://arxiv.org/abs/{key}"
    return line, save_editor_style(path, text.rstrip("\n") + f"\n\n{line}\n")


def vault_files(vault: Path) -> dict[str, tuple[int, int, int]]:
    """Every file outside `.vaultpapers/` with (mtime_ns, size, inode): what a run wrote."""
    files: dict[str, tuple[int, int, int]] = {}
    for folder, dirs, names in os.walk(vault):
        if folder == str(vault):
            dirs[:] = [d for d in dirs if d != ".vaultpapers"]
        for name in names:
            path = os.path.join(folder, name)
            with contextlib.suppress(FileNotFoundError):
                stat = os.stat(path)
                files[os.path.relpath(path, vault)] = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    return files


def changed_files(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def markdown_files(vault: Path) -> set[str]:
    return {p for p in vault_files(vault) if p.endswith(".md")}


_ARXIV_ID_PROPERTY = re.compile(r"^arxiv_id:\s*['\"]?([^'\"\s]+)", re.MULTILINE)


def paper_note_key(path: Path) -> str | None:
    """The `arxiv_id` of a paper note vaultpapers wrote, or None."""
    try:
        head = path.read_text(encoding="utf-8-sig")[:4000]
    except (OSError, UnicodeDecodeError):
        return None
    if "vaultpapers: paper" not in head:
        return None
    match = _ARXIV_ID_PROPERTY.search(head)
    return match[1] if match else None


_GENERATED_KIND = re.compile(r"^vaultpapers:\s*['\"]?([\w-]+)", re.MULTILINE)


def generated_notes(vault: Path, user_notes: set[str]) -> dict[str, int]:
    """How many notes vaultpapers made, by the kind in their `vaultpapers:` property."""
    kinds: dict[str, int] = {}
    for relative in markdown_files(vault) - user_notes:
        try:
            with open(vault / relative, encoding="utf-8-sig") as handle:
                head = handle.read(2000)
        except (OSError, UnicodeDecodeError):
            continue
        match = _GENERATED_KIND.search(head.split("\n---", 1)[0])
        kind = match[1] if match else "other"
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def vault_stats(vault: Path) -> dict[str, Any]:
    sizes = [
        os.path.getsize(os.path.join(folder, name))
        for folder, _, names in os.walk(vault)
        for name in names
        if name.endswith(".md")
    ]
    folders = sum(1 for _ in os.walk(vault)) - 1
    return {"md_files": len(sizes), "bytes": sum(sizes), "folders": folders}


def pick_notes(corpus: Corpus, count: int, rng: random.Random, avoid: set[str]) -> list[str]:
    candidates = [n.path for n in corpus.notes if n.path not in avoid]
    chosen = rng.sample(candidates, min(count, len(candidates)))
    avoid.update(chosen)
    return chosen


# -- statistics and formatting -----------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `fraction` of values <= it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def seconds_text(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


# -- the measurements ---------------------------------------------------------------------------


@dataclass
class SizeRun:
    notes: int
    vault: Path
    corpus: Corpus
    api: FakeArxiv
    env: dict[str, str]
    args: argparse.Namespace
    spare: Iterator[str]
    edited: set[str] = field(default_factory=set)
    results: dict[str, Any] = field(default_factory=dict)
    rss: dict[str, float] = field(default_factory=dict)

    def link(self, label: str, *extra: str) -> dict[str, Any]:
        before = len(self.api.requests)
        argv = [sys.executable, "-m", "vaultpapers", "link", *extra, str(self.vault)]
        done = run_child(argv, self.env, self.args.timeout)
        record = done.record()
        record["requests"] = len(self.api.requests) - before
        # The summary's wording changes as the CLI grows; only these two numbers are read.
        for name, pattern in (
            ("notes_scanned", r"(\d+) notes scanned"),
            ("papers_cited", r"(\d+) papers cited"),
        ):
            found = re.search(pattern, done.stdout)
            if found:
                record[name] = int(found[1])
        problems = re.search(r"(\d+) problem\(s\):", done.stderr)
        record["problems"] = int(problems[1]) if problems else 0
        if done.exit_code != 0:
            # Exit 1 is also what an uncaught exception gives: keep the output to tell them apart.
            record["output_tail"] = (done.stdout + done.stderr)[-2000:]
            if done.exit_code != 1 or "Traceback" in done.stderr:
                record["crashed"] = True
                log(f"  {label}: exit code {done.exit_code}:\n{record['output_tail']}")
        if done.peak_rss_mib is not None:
            self.rss[label] = max(self.rss.get(label, 0.0), done.peak_rss_mib)
        log(
            f"  {label}: {seconds_text(done.seconds)}, exit {done.exit_code}, "
            f"{record['requests']} requests, {record['peak_rss_mib']} MiB"
        )
        return record

    @property
    def user_notes(self) -> set[str]:
        return {note.path for note in self.corpus.notes}

    def next_spare(self) -> str:
        return next(self.spare)


def settle_on_disk() -> None:
    """Flush what the harness wrote (a generated vault is hundreds of MB of dirty pages) before
    a timed run: a user's vault has long been on disk, and the first fsync or syncfs a run makes
    would otherwise also write the generator's output."""
    os.sync()


def regenerate(run: SizeRun) -> None:
    shutil.rmtree(run.vault)
    write_vault(run.corpus, run.vault)


def measure_links(run: SizeRun) -> None:
    results = run.results
    log(f"{run.notes}: cold first link (x{COLD_RUNS}, each on the vault as generated)")
    runs = []
    for attempt in range(COLD_RUNS):
        if attempt:
            regenerate(run)
        settle_on_disk()
        runs.append(run.link("cold_link"))
    times = [r["seconds"] for r in runs]
    # The vault the last run left is the one every later step measures.
    results["cold_link"] = {
        **{key: value for key, value in runs[-1].items() if key != "seconds"},
        "notes_made": generated_notes(run.vault, run.user_notes),
        "runs": runs,
        "median_s": statistics.median(times),
        "best_s": min(times),
        "requests": max(r["requests"] for r in runs),
    }

    log(f"{run.notes}: rerun, nothing changed (x{UNCHANGED_RUNS})")
    runs = []
    for _ in range(UNCHANGED_RUNS):
        before = vault_files(run.vault)
        record = run.link("rerun_unchanged")
        written = changed_files(before, vault_files(run.vault))
        record["files_written"] = len(written)
        record["files_written_sample"] = written[:20]
        runs.append(record)
    times = [r["seconds"] for r in runs]
    results["rerun_unchanged"] = {
        "runs": runs,
        "median_s": statistics.median(times),
        "best_s": min(times),
        "requests": max(r["requests"] for r in runs),
        "files_written": max(r["files_written"] for r in runs),
    }

    log(f"{run.notes}: rerun after one note changed (x{CHANGED_NOTE_RUNS}, different notes)")
    rng = random.Random(f"edits:{run.args.seed}:{run.notes}")
    runs = []
    for path in pick_notes(run.corpus, CHANGED_NOTE_RUNS, rng, run.edited):
        key = run.next_spare()
        append_reference(run.vault / path, key, "Added later")
        record = run.link("rerun_one_changed")
        record.update(note=path, cited=key)
        runs.append(record)
    times = [r["seconds"] for r in runs]
    results["rerun_one_changed"] = {
        "runs": runs,
        "median_s": statistics.median(times),
        "best_s": min(times),
        "requests": max(r["requests"] for r in runs),
    }


def measure_grep(run: SizeRun) -> None:
    log(f"{run.notes}: grep -rE floor (warm-up + 3)")
    script = 'grep -rEo --exclude-dir=.vaultpapers "$1" "$2" | wc -l'
    argv = ["bash", "-c", script, "bash", GREP_PATTERN, str(run.vault)]
    run_child(argv, run.env, run.args.timeout)  # warm-up: page cache as warm as for link
    runs = [run_child(argv, run.env, run.args.timeout) for _ in range(3)]
    run.results["grep"] = {
        "command": f"grep -rEo --exclude-dir=.vaultpapers '{GREP_PATTERN}' VAULT | wc -l",
        "runs": [r.record() for r in runs],
        "median_s": statistics.median(r.seconds for r in runs),
        "matches": int(runs[0].stdout.strip() or 0),
    }
    log(f"  grep: {seconds_text(run.results['grep']['median_s'])}")


def measure_obsidiantools(run: SizeRun) -> None:
    log(f"{run.notes}: obsidiantools Vault(...).connect().gather()")
    probe = run_child([sys.executable, "-c", "import obsidiantools.api"], run.env, 120)
    if probe.exit_code != 0:
        run.results["obsidiantools"] = {"status": "not installed"}
        log("  obsidiantools: not installed")
        return
    argv = [sys.executable, "-c", OBSIDIANTOOLS_CODE, str(run.vault)]
    done = run_child(argv, run.env, run.args.obsidiantools_timeout)
    record: dict[str, Any] = done.record()
    if done.timed_out:
        record["status"] = f"timeout (> {run.args.obsidiantools_timeout:g} s)"
    elif done.exit_code != 0:
        record["status"] = "failed"
        record["output_tail"] = done.stderr[-2000:]
    else:
        record["status"] = "ok"
        record["notes_indexed"] = int(done.stdout.strip().splitlines()[-1])
    run.results["obsidiantools"] = record
    log(f"  obsidiantools: {record['status']}, {seconds_text(done.seconds)}")


# -- the watcher ------------------------------------------------------------------------------


def watch_available(env: dict[str, str]) -> bool:
    argv = [sys.executable, "-m", "vaultpapers", "watch", "--help"]
    return run_child(argv, env, 60).exit_code == 0


def watch_command(template: str, vault: Path) -> list[str]:
    return [
        part.replace("{python}", sys.executable).replace("{vault}", str(vault))
        for part in shlex.split(template)
    ]


def find_paper_notes(vault: Path, keys: set[str]) -> dict[str, str]:
    """key -> vault-relative path of its paper note, for the keys that have one (any folder)."""
    found: dict[str, str] = {}
    for relative in markdown_files(vault):
        if any(key in relative for key in keys) or relative.startswith(PAPERS_FOLDER + "/"):
            key = paper_note_key(vault / relative)
            if key in keys:
                found[key] = relative
    return found


class PaperNoteWatch:
    """Notices a paper note appearing: the path it had before is checked every millisecond or
    two (cheap, precise); the papers folder is listed now and then in case the name changed."""

    def __init__(self, vault: Path, expected: dict[str, str]) -> None:
        self.vault = vault
        self.expected = expected

    def wait(self, key: str, timeout: float) -> float | None:
        """perf_counter when the note for `key` was first seen, or None on timeout."""
        predicted = self.expected.get(key)
        deadline = time.perf_counter() + timeout
        next_listing = 0.0
        folder = self.vault / PAPERS_FOLDER
        while True:
            now = time.perf_counter()
            if predicted and os.path.exists(self.vault / predicted):
                return now
            if now >= next_listing:
                with contextlib.suppress(FileNotFoundError):
                    if any(key in name for name in os.listdir(folder)):
                        return now
                next_listing = now + 0.25
            if now >= deadline:
                return None
            time.sleep(0.002)


def link_inserted(path: Path, line: str) -> bool:
    """True once something was inserted after the reference on the line we appended."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return False
    for current in text.splitlines():
        if current.startswith(line):
            return "[[" in current[len(line) :]
    return False


def wait_until_quiet(vault: Path, quiet: float, timeout: float) -> bool:
    """True once no file in the vault (outside .vaultpapers) changed for `quiet` seconds."""
    last = vault_files(vault)
    calm_since = time.perf_counter()
    deadline = calm_since + timeout
    while time.perf_counter() < deadline:
        time.sleep(min(0.25, quiet / 2))
        now = vault_files(vault)
        if now != last:
            last, calm_since = now, time.perf_counter()
        elif time.perf_counter() - calm_since >= quiet:
            return True
    return False


def measure_watch(run: SizeRun) -> None:
    args = run.args
    custom = args.watch_command != DEFAULT_WATCH_COMMAND
    if not custom and not watch_available(run.env):
        run.results["watch"] = {"status": "not available"}
        log(f"{run.notes}: watcher: `vaultpapers watch` not available; skipped")
        return
    log(f"{run.notes}: watcher, {args.saves} saves")
    # More papers than saves: a paper whose title a note names gets its note again as
    # soon as its title is known (the vault links the note to it), so it cannot be measured.
    keys = [run.next_spare() for _ in range(args.saves + 1 + WATCH_SPARE)]
    wanted = set(keys)

    # Metadata cached, paper notes absent: cite the papers once, link, delete what that made.
    prefetch = run.vault / "bench-watch-prefetch.md"
    before = markdown_files(run.vault)
    prefetch.write_text(
        "# Watch benchmark prefetch\n\n"
        + "".join(f"- https://arxiv.org/abs/{key}\n" for key in keys),
        encoding="utf-8",
    )
    record: dict[str, Any] = {"prefetch_link": run.link("watch_prefetch")}
    created = markdown_files(run.vault) - before
    expected = {}
    for relative in created:
        key = paper_note_key(run.vault / relative)
        if key in wanted:
            expected[key] = relative
            (run.vault / relative).unlink()
    prefetch.unlink()
    record["settle_link"] = run.link("watch_settle")
    named = find_paper_notes(run.vault, wanted)
    record["named_by_title"] = sorted(named)
    keys = [key for key in keys if key not in named][: args.saves + 1]
    leftover = find_paper_notes(run.vault, set(keys))
    if len(expected) != len(wanted) or leftover or len(keys) < args.saves + 1:
        record["status"] = "setup failed"
        record["detail"] = f"{len(expected)}/{len(wanted)} notes made; still present: {leftover}"
        tail = record["prefetch_link"].get("output_tail", "")
        if tail:
            record["detail"] += f"; prefetch link said: {tail[-600:]}"
        run.results["watch"] = record
        log(f"  watcher setup failed: {record['detail']}")
        return

    config = run.vault / ".vaultpapers" / "config.yaml"
    original_config = config.read_bytes() if config.exists() else None
    if args.watch_settle is not None:
        # Only link insertion waits for settle; the paper note is written at once. A short settle
        # lets each save's whole cycle finish before the next save.
        config.write_text(f"watch:\n  settle: {args.watch_settle}\n", encoding="utf-8")
    record["settle"] = args.watch_settle
    record["command"] = args.watch_command
    watcher_log = args.out.parent / f"watch-{run.notes}.log"
    detector = PaperNoteWatch(run.vault, expected)
    rng = random.Random(f"watch:{args.seed}:{run.notes}")
    notes = pick_notes(run.corpus, len(keys), rng, run.edited)
    settle = args.watch_settle if args.watch_settle is not None else 5.0
    link_timeout = settle + 10.0
    child = Child(watch_command(args.watch_command, run.vault), env=run.env, log_path=watcher_log)
    latencies: list[float] = []
    link_latencies: list[float] = []
    try:
        # Ready means: it handled a save. Whatever start-up work it does is inside this time.
        line, _ = append_reference(run.vault / notes[0], keys[0], "Watch probe")
        seen = detector.wait(keys[0], args.watch_start_timeout)
        if seen is None or child.poll():
            raise WatchAborted("no paper note for the probe save", child)
        record["ready_s"] = round(seen - child.started, 3)
        wait_until(lambda: link_inserted(run.vault / notes[0], line), link_timeout, 0.02)
        if not wait_until_quiet(run.vault, 1.0, args.watch_start_timeout):
            raise WatchAborted("the vault never went quiet after start-up", child)
        record["rss_after_catch_up_mib"] = resident_mib(child.pid)
        budget_end = time.perf_counter() + args.watch_budget
        for key, path in zip(keys[1:], notes[1:], strict=True):
            if time.perf_counter() > budget_end:
                record["budget_exhausted"] = True
                log(f"  watch: --watch-budget of {args.watch_budget:g} s used up")
                break
            line, saved = append_reference(run.vault / path, key, "Watch save")
            seen = detector.wait(key, args.watch_save_timeout)
            if seen is None:
                if child.poll():
                    raise WatchAborted("the watcher exited", child)
                latencies.append(math.inf)
                log(f"  watch: no paper note for {key} within {args.watch_save_timeout} s")
                continue
            latencies.append(seen - saved)
            # Let this save's cycle finish (links inserted after settle) before the next one; a
            # slow watcher needs about as long again for that as it took for the paper note.
            note = run.vault / path
            patience = link_timeout + 2 * (seen - saved)
            if wait_until(lambda note=note, line=line: link_inserted(note, line), patience):
                link_latencies.append(time.perf_counter() - saved)
        record["status"] = "ok"
    except WatchAborted as exc:
        record["status"] = f"failed: {exc}"
        log(f"  watcher failed: {exc}")
    finally:
        finished = child.stop()
        if original_config is None:
            config.unlink(missing_ok=True)
        else:
            config.write_bytes(original_config)
    record["exit_code"] = finished.exit_code
    record["peak_rss_mib"] = finished.peak_rss_mib and round(finished.peak_rss_mib, 1)
    if finished.peak_rss_mib is not None:
        run.rss["watch"] = finished.peak_rss_mib
    record["log"] = str(watcher_log)
    if latencies:
        # A save whose paper note never came counts as infinitely slow: it spoils p95, not JSON.
        record["saves"] = len(latencies)
        record["latencies_s"] = [None if math.isinf(x) else round(x, 4) for x in latencies]
        record["missed"] = sum(1 for x in latencies if math.isinf(x))
        for name, value in (
            ("median_s", statistics.median(latencies)),
            ("p95_s", percentile(latencies, 0.95)),
        ):
            record[name] = "missed" if math.isinf(value) else value
    if link_latencies:
        record["link_median_s"] = statistics.median(link_latencies)
        record["links_seen"] = len(link_latencies)
    run.results["watch"] = record
    if latencies:
        log(
            f"  watch: median {format_value(record['median_s'], 's')}, "
            f"p95 {format_value(record['p95_s'], 's')}, peak RSS {record['peak_rss_mib']} MiB"
        )


WATCH_SPARE = 60  # papers set aside for the watcher beyond its saves (see measure_watch)


def resident_mib(pid: int) -> float | None:
    """What a process holds in memory now (VmRSS), not its peak: a watcher's peak is its
    catch-up, what it keeps afterwards is what it costs for weeks."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        return None
    return None


class WatchAborted(Exception):
    def __init__(self, message: str, child: Child) -> None:
        code = f" (exit code {child.exit_code})" if child.ended is not None else ""
        super().__init__(message + code)


# -- one size, all sizes -------------------------------------------------------------------------


def bench_size(notes: int, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    vault = args.work / f"vault-{notes}"
    if vault.exists():
        shutil.rmtree(vault)
    log(f"{notes}: generating the vault in {vault}")
    t0 = time.perf_counter()
    corpus = make_corpus(notes, args.seed)
    write_vault(corpus, vault)
    generated = time.perf_counter() - t0
    results: dict[str, Any] = {
        "generate_s": round(generated, 2),
        "vault": {
            **vault_stats(vault),
            "notes": len(corpus.notes),
            "citing_notes": corpus.citing_notes,
            "distinct_ids": len(corpus.cited_keys),
            "unknown_to_arxiv": len(corpus.unknown),
            "series_stems": len(corpus.series_names),
            "path": str(vault),
        },
    }
    spare = iter([p.arxiv_id for p in corpus.spare if "/" not in p.arxiv_id])
    with FakeArxiv() as api:
        for paper in corpus.served_papers():
            api.add(paper)
        env = dict(os.environ, VAULTPAPERS_ARXIV_API=api.url, VAULTPAPERS_ARXIV_DELAY="0")
        # Python caches compiled modules unless told not to; a user's does, so runs here do too.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        run = SizeRun(notes, vault, corpus, api, env, args, spare, results=results)
        if args.only == "watch":
            log(f"{notes}: cold first link (set-up for the watcher)")
            results["cold_link"] = run.link("cold_link")
            results["cold_link"]["notes_made"] = generated_notes(run.vault, run.user_notes)
        else:
            measure_links(run)
            measure_grep(run)
            if not args.skip_obsidiantools:
                measure_obsidiantools(run)
        if args.only != "link":
            measure_watch(run)
    results["md_files_after"] = vault_stats(vault)["md_files"]
    results["peak_rss_mib"] = {k: round(v, 1) for k, v in run.rss.items()}
    results["harness_s"] = round(time.perf_counter() - started, 1)
    if not args.keep:
        shutil.rmtree(vault)
    return results


# -- targets and the table ------------------------------------------------------------------------

TARGET_SIZE = 10_000
SCALE_FROM, SCALE_TO, SCALE_LIMIT = 10_000, 50_000, 6.0


@dataclass(frozen=True)
class Row:
    label: str
    value: Callable[[dict[str, Any]], Any]  # size results -> number, text or None
    unit: str = ""
    limit: float | None = None  # a target: value <= limit
    every_size: bool = False  # the limit holds at every size, not only at 10k
    scales: bool = True  # also: 50k value within 6x of the 10k value
    target_text: str = ""
    limit_50k: float | None = None  # a target at 50k notes too (issue 18): value <= limit_50k


def _get(*keys: str) -> Callable[[dict[str, Any]], Any]:
    def value(results: dict[str, Any]) -> Any:
        current: Any = results
        for key in keys:
            if not isinstance(current, dict) or key not in current:
                return None
            current = current[key]
        return current

    return value


def _rerun_vs_grep(results: dict[str, Any]) -> float | None:
    rerun, grep = _get("rerun_unchanged", "median_s")(results), _get("grep", "median_s")(results)
    return rerun / grep if rerun is not None and grep else None


def _obsidiantools(results: dict[str, Any]) -> Any:
    record = results.get("obsidiantools")
    if record is None:
        return None
    return record["seconds"] if record.get("status") == "ok" else record["status"]


def _watch(key: str) -> Callable[[dict[str, Any]], Any]:
    def value(results: dict[str, Any]) -> Any:
        record = results.get("watch")
        if record is None:
            return None
        if key in record:
            return record[key]
        status = record.get("status")
        return None if status == "ok" else status

    return value


def _index_notes(results: dict[str, Any]) -> str | None:
    made = _get("cold_link", "notes_made")(results)
    if made is None:
        return None
    others = sorted((kind, count) for kind, count in made.items() if kind != "paper")
    return ", ".join(f"{count:,} {kind}" for kind, count in others) or "0"


def _peak_rss(results: dict[str, Any]) -> float | None:
    values = list(results.get("peak_rss_mib", {}).values())
    return max(values) if values else None


ROWS = (
    Row(
        "notes: generated / .md files after the run",
        lambda r: f"{r['vault']['notes']:,} / {r.get('md_files_after', 0):,}",
    ),
    Row("vault size, MB", lambda r: round(r["vault"]["bytes"] / 1e6, 1)),
    Row("distinct arXiv ids cited", lambda r: r["vault"]["distinct_ids"]),
    Row(
        f"cold first link (median of {COLD_RUNS})",
        _get("cold_link", "median_s"),
        "s",
        20,
        target_text="<= 20 s",
    ),
    Row("  paper notes made", _get("cold_link", "notes_made", "paper")),
    Row("  index notes made, by kind", _index_notes),
    Row(
        "  API requests (cold)",
        _get("cold_link", "requests"),
        limit=50,
        target_text="<= 50",
    ),
    Row(
        f"rerun, nothing changed (median of {UNCHANGED_RUNS})",
        _get("rerun_unchanged", "median_s"),
        "s",
        1,
        target_text="<= 1 s",
    ),
    Row(
        "  rerun / grep floor",
        _rerun_vs_grep,
        "x",
        2.5,
        scales=False,
        target_text="<= 2.5x",
    ),
    Row(
        "  files written / requests",
        lambda r: (
            None
            if "rerun_unchanged" not in r
            else f"{r['rerun_unchanged']['files_written']} / {r['rerun_unchanged']['requests']}"
        ),
        target_text="0 / 0 (README)",
    ),
    Row(
        f"rerun, one note changed (median of {CHANGED_NOTE_RUNS})",
        _get("rerun_one_changed", "median_s"),
        "s",
        1,
        target_text="<= 1 s; 50k: <= 1 s",
        limit_50k=1,
    ),
    Row(
        "watch: save -> paper note, median",
        _watch("median_s"),
        "s",
    ),
    Row(
        "watch: save -> paper note, p95",
        _watch("p95_s"),
        "s",
        1,
        every_size=True,
        target_text="<= 1 s, every size",
    ),
    Row("watch: save -> link in note, median", _watch("link_median_s"), "s"),
    Row(
        "watch: saves measured",
        lambda r: (
            None
            if "saves" not in r.get("watch", {})
            else f"{r['watch']['saves']}"
            + (" (budget)" if r["watch"].get("budget_exhausted") else "")
            + (f", {r['watch']['missed']} missed" if r["watch"]["missed"] else "")
        ),
    ),
    Row(
        "peak RSS, any vaultpapers process, MiB",
        _peak_rss,
        "MiB",
        300,
        target_text="<= 300 MiB",
    ),
    Row(
        "  cold first link, peak RSS",
        _get("cold_link", "peak_rss_mib"),
        "MiB",
        target_text="50k: <= 400 MB (381 MiB)",
        limit_50k=400 / 1.048576,
        scales=False,
    ),
    Row(
        "  watch: RSS after catch-up",
        _watch("rss_after_catch_up_mib"),
        "MiB",
        target_text="50k: <= 200 MB (191 MiB)",
        limit_50k=200 / 1.048576,
        scales=False,
    ),
    Row("grep -rE floor (median of 3)", _get("grep", "median_s"), "s"),
    Row("obsidiantools load", _obsidiantools, "s"),
    Row("harness time for this size", _get("harness_s"), "s"),
)


def format_value(value: Any, unit: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isinf(value):
        return "missed"
    if unit == "s":
        return seconds_text(value)
    if unit == "x":
        return f"{value:.1f}x"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    return f"{value:,}" if isinstance(value, int) else str(value)


def size_label(notes: int) -> str:
    return f"{notes // 1000}k" if notes % 1000 == 0 else str(notes)


def verdict(row: Row, by_size: dict[int, dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """PASS/FAIL of the row's target where it applies, and of the 50k/10k scaling rule."""
    if row.limit is None and row.limit_50k is None:
        return "", []
    checks: list[dict[str, Any]] = []
    sizes = sorted(by_size) if row.every_size else [s for s in by_size if s == TARGET_SIZE]
    limits = [(size, row.limit, "absolute") for size in sizes if row.limit is not None]
    if row.limit_50k is not None and SCALE_TO in by_size:
        limits.append((SCALE_TO, row.limit_50k, "absolute 50k"))
    for size, limit, kind in limits:
        value = row.value(by_size[size])
        measured = isinstance(value, (int, float))
        checks.append(
            {
                "check": f"{row.label.strip()} at {size_label(size)} <= {limit:g}",
                "kind": kind,
                "value": value,
                "pass": (value <= limit) if measured else None,
            }
        )
    if row.scales and SCALE_FROM in by_size and SCALE_TO in by_size:
        low, high = row.value(by_size[SCALE_FROM]), row.value(by_size[SCALE_TO])
        if isinstance(low, (int, float)) and isinstance(high, (int, float)):
            ratio = high / low if low else (math.inf if high else 1.0)
            checks.append(
                {
                    "check": f"{row.label.strip()}: 50k within {SCALE_LIMIT:g}x of 10k",
                    "kind": "scale",
                    "value": ratio,
                    "pass": ratio <= SCALE_LIMIT,
                }
            )
    parts = []
    absolute = [c["pass"] for c in checks if c["kind"] == "absolute"]
    if row.limit is None:
        pass  # a target at 50k alone
    elif not absolute:
        parts.append("n/a (no 10k run)")
    elif any(result is False for result in absolute):
        parts.append("FAIL")
    elif all(result is True for result in absolute):
        parts.append("PASS")
    else:
        parts.append("not measured")
    for check in checks:
        if check["kind"] == "scale":
            word = "PASS" if check["pass"] else "FAIL"
            parts.append(f"{word} 50k/10k {check['value']:.1f}x")
        elif check["kind"] == "absolute 50k":
            word = {True: "PASS", False: "FAIL", None: "not measured"}[check["pass"]]
            parts.append(f"{word} at 50k")
    return "; ".join(parts), checks


def build_table(by_size: dict[int, dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    sizes = sorted(by_size)
    header = ["measure", *(f"{size_label(s)} notes" for s in sizes), "target", "verdict"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    all_checks: list[dict[str, Any]] = []
    for row in ROWS:
        cells = [format_value(row.value(by_size[s]), row.unit) for s in sizes]
        text, checks = verdict(row, by_size)
        all_checks += checks
        label = (
            row.label.replace("  ", "&nbsp;&nbsp;", 1) if row.label.startswith("  ") else row.label
        )
        lines.append("| " + " | ".join([label, *cells, row.target_text, text]) + " |")
    return "\n".join(lines), all_checks


# -- machine ------------------------------------------------------------------------------------


def _command_output(argv: Sequence[str]) -> str | None:
    try:
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=30, cwd=REPO, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info(work: Path) -> dict[str, Any]:
    cpu = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = round(int(line.split()[1]) / 1024 / 1024, 1)
    versions = {}
    for package in ("vaultpapers", "arxiv", "watchdog", "obsidiantools"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[package] = version(package)
    commit = _command_output(["git", "rev-parse", "HEAD"])
    dirty = _command_output(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "uname": _command_output(["uname", "-a"]) or " ".join(platform.uname()),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "ram_gib": ram,
        "python": sys.version.split()[0],
        "packages": versions,
        "filesystem": _command_output(["stat", "-f", "-c", "%T", str(work)]),
        "locale": os.environ.get("LC_ALL") or os.environ.get("LANG") or "",
        "git_commit": commit,
        "git_dirty": bool(dirty) if dirty is not None else None,
    }


def machine_line(machine: dict[str, Any]) -> str:
    return (
        f"{machine['cpu']}, {machine['usable_cores']} cores, {machine['ram_gib']} GiB RAM, "
        f"Python {machine['python']}, {machine['filesystem']}; {machine['uname']}"
    )


def update_readme(path: Path, block: str) -> None:
    text = path.read_text(encoding="utf-8")
    start, end = text.index(README_BEGIN) + len(README_BEGIN), text.index(README_END)
    path.write_text(text[:start] + "\n" + block + "\n" + text[end:], encoding="utf-8")


# -- command line ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark vaultpapers on synthetic vaults (see benchmarks/README.md)."
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 50_000])
    parser.add_argument("--saves", type=int, default=50, help="watcher saves per size")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "results.json")
    parser.add_argument("--work", type=Path, default=HERE / "out" / "vaults")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--only", choices=("link", "watch"))
    parser.add_argument("--skip-obsidiantools", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the generated vaults")
    parser.add_argument(
        "--timeout", type=float, default=3600, help="seconds before one link run is abandoned"
    )
    parser.add_argument(
        "--obsidiantools-timeout",
        type=float,
        default=1800,
        help="seconds before obsidiantools is abandoned and recorded as a timeout",
    )
    parser.add_argument("--watch-command", default=DEFAULT_WATCH_COMMAND)
    parser.add_argument(
        "--watch-settle",
        type=float,
        default=0.5,
        help="watch.settle written to the vault's config for the watcher measurement",
    )
    parser.add_argument("--watch-start-timeout", type=float, default=600)
    parser.add_argument("--watch-save-timeout", type=float, default=60)
    parser.add_argument(
        "--watch-budget",
        type=float,
        default=1200,
        help="seconds of saves per size; fewer saves are measured if they run out",
    )
    parser.add_argument(
        "--update-readme", action="store_true", help="put the table into benchmarks/README.md"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.saves <= WATCH_EDITS_MAX:
        parser.error(f"--saves must be between 1 and {WATCH_EDITS_MAX}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.out = args.out.resolve()
    args.work = args.work.resolve()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    check = run_child([sys.executable, "-m", "vaultpapers", "--version"], dict(os.environ), 120)
    if check.exit_code != 0:
        print(f"vaultpapers is not importable by {sys.executable}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    machine = machine_info(args.work)
    log(f"machine: {machine_line(machine)}")
    report: dict[str, Any] = {
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "sizes": {},
    }
    by_size: dict[int, dict[str, Any]] = {}
    for notes in args.sizes:
        by_size[notes] = bench_size(notes, args)
        report["sizes"][str(notes)] = by_size[notes]
        table, checks = build_table(by_size)
        report["table"], report["targets"] = table, checks
        report["harness_s"] = round(time.perf_counter() - started, 1)
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    table = report["table"]
    command = " ".join(["benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])])
    when = report["started"][:10]
    commit = (machine["git_commit"] or "?")[:10] + (" (modified)" if machine["git_dirty"] else "")
    block = (
        f"Run {when} at {commit}: `{command}`, {report['harness_s']:.0f} s in all.\n"
        f"Machine: {machine_line(machine)}\n\n{table}\n"
    )
    args.out.with_suffix(".md").write_text(block, encoding="utf-8")
    print(f"\n{block}")
    print(f"Harness time: {report['harness_s']:.0f} s. JSON: {args.out}")
    if args.update_readme:
        update_readme(HERE / "README.md", block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
