"""`vaultpapers link` killed with SIGKILL at random moments, many times: every note is always
either its old or its new version, the cache stays intact, and the next run finishes the job."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from factories import make_paper
from reliability.harness import (
    TEMP_SUFFIX,
    child_env,
    link_command,
    seed_cache,
    sqlite_files_are_intact,
)
from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.run.sources import cache_path
from vaultpapers.testing import FakeArxiv
from vaults import build_vault, notes_only, snapshot

PAPERS = [
    make_paper(
        f"2203.{n:05d}",
        f"Study number {n} of coupled oscillators",
        categories=("cs.LG", "cs.AI" if n % 2 else "physics.comp-ph"),
    )
    for n in range(1, 61)
]
FETCHED = PAPERS[:10]  # not cached: the killed runs also fetch, and write the cache
NOTES = {
    f"Log/{i // 40}/day {i:03}.md": (
        f"# Day {i}\n\n#topic/{i % 6} read https://arxiv.org/abs/{PAPERS[i % 60].arxiv_id}\n"
        f"and arXiv:{PAPERS[(i * 7) % 60].arxiv_id} again.\n"
    )
    for i in range(240)
}
ROUNDS = 4
KILLS_PER_ROUND = 6
SEED = 20240601
STALE_TEMP = re.compile(rf"(?:.*/)?\.[^/]+\.[0-9a-f]{{8}}{re.escape(TEMP_SUFFIX)}")


def files(vault: Path) -> tuple[dict[str, bytes], list[str]]:
    """The vault's notes, and apart from them the temp files a killed run left."""
    notes = notes_only(snapshot(vault))
    temps = sorted(path for path in notes if path.endswith(TEMP_SUFFIX))
    return {k: v for k, v in notes.items() if k not in temps}, temps


def run_to_completion(vault: Path, api: FakeArxiv) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        link_command(vault), env=child_env(api), capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow
def test_sigkill_at_random_moments_never_leaves_a_half_written_note(
    tmp_path: Path, fake_arxiv: FakeArxiv
) -> None:
    for paper in FETCHED:
        fake_arxiv.add(paper)
    template = build_vault(tmp_path / "template", NOTES)
    seed_cache(template, PAPERS[len(FETCHED) :])
    reference_vault = tmp_path / "reference"
    shutil.copytree(template, reference_vault)
    started = time.monotonic()
    done = run_to_completion(reference_vault, fake_arxiv)
    full_run = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    reference, _ = files(reference_vault)
    started = time.monotonic()
    assert run_to_completion(reference_vault, fake_arxiv).returncode == 0
    idle_run = time.monotonic() - started  # start-up, scan and plan: what no kill can skip

    rng = random.Random(SEED)
    kills = 0
    temps_seen: set[str] = set()
    for round_number in range(ROUNDS):
        vault = tmp_path / f"round {round_number}"
        shutil.copytree(template, vault)
        writing_left = max(full_run - idle_run, 0.2)
        for attempt in range(KILLS_PER_ROUND):
            before, _ = files(vault)
            # Anywhere in the run, start-up included, but mostly while it writes.
            delay = rng.uniform(0.2, idle_run + writing_left)
            writing_left = max(writing_left - max(delay - idle_run, 0), 0.2)
            where = f"round {round_number}, kill {attempt}, after {delay:.2f} s (seed {SEED})"
            process = subprocess.Popen(
                link_command(vault),
                env=child_env(fake_arxiv),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                process.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
                kills += 1

            after, temps = files(vault)
            for path in sorted(set(before) | set(after) | set(reference)):
                assert after.get(path) in (before.get(path), reference.get(path)), (
                    f"{where}: {path} is neither its old nor its new version"
                )
            unexpected = [t for t in temps if not STALE_TEMP.fullmatch(t)]
            assert not unexpected, f"{where}: stray files {unexpected}"
            temps_seen.update(temps)
            verdicts = sqlite_files_are_intact(vault)
            assert set(verdicts.values()) == {"ok"}, f"{where}: {verdicts}"
            with PaperCache(cache_path(vault)) as cache:
                cached = cache.get_many(p.arxiv_id for p in PAPERS)
            assert set(PAPERS[len(FETCHED) :]) <= set(cached.values()), where
            if process.returncode == 0:
                # It finished before the kill, leaving nothing for the next one to interrupt
                # (a run with nothing to do is over in a tenth of a second): start again.
                shutil.rmtree(vault)
                shutil.copytree(template, vault)
                writing_left = max(full_run - idle_run, 0.2)

        finished = run_to_completion(vault, fake_arxiv)
        assert finished.returncode == 0, f"round {round_number}: {finished.stderr}"
        final, _ = files(vault)
        assert final == reference, f"round {round_number}: the next run did not finish the job"

    assert kills >= ROUNDS * KILLS_PER_ROUND // 3, f"only {kills} runs were killed mid-way"
    # Stale temp files (see test_disk_faults) are dot-files named after their note.
    print(f"{kills} kills; temp files left behind by a kill: {len(temps_seen)}")
