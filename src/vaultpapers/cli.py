"""Command line: parse, load settings, call the core, print, exit code. Nothing else."""

from __future__ import annotations

import difflib
import logging
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .cache import CacheError
from .config import ConfigError, load_settings
from .pipeline import RunReport, run_link
from .writer import Outcome

EXIT_OK = 0
EXIT_INCOMPLETE = 1  # finished, but a rerun has work left: pending papers, skipped writes
EXIT_USAGE = 2  # bad arguments or configuration; nothing was done

vault_argument = click.argument(
    "vault",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=".",
)


@click.group()
@click.version_option(__version__, prog_name="vaultpapers")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Keep a Markdown/Obsidian vault linked to the arXiv papers it cites."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@vault_argument
@click.option("--offline", is_flag=True, help="Use only cached metadata; no network.")
@click.option("--dry-run", is_flag=True, help="Print the planned changes; write nothing.")
@click.option("--diff", "show_diff", is_flag=True, help="With --dry-run: show each change.")
@click.option("-q", "--quiet", is_flag=True, help="Print problems only.")
def link(vault: Path, offline: bool, dry_run: bool, show_diff: bool, quiet: bool) -> None:
    """Find every arXiv reference in VAULT and link it to a paper note.

    \b
    Exit codes: 0 the vault is fully linked (invalid references are reported, not fatal);
    1 finished, but work is left for a later run (papers pending, files skipped);
    2 bad usage or configuration, nothing done.
    """
    try:
        settings = load_settings(vault)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    with _progress_bar(quiet) as progress:
        try:
            report = run_link(
                vault, settings, offline=offline, dry_run=dry_run or show_diff, progress=progress
            )
        except CacheError as exc:
            raise click.ClickException(str(exc)) from exc
    _print_report(report, vault, settings.papers_folder, quiet=quiet, show_diff=show_diff)
    sys.exit(EXIT_OK if report.complete or report.dry_run else EXIT_INCOMPLETE)


class _progress_bar:
    """A progress bar on stderr, shown only once metadata is actually being fetched."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None

    def __enter__(self) -> _progress_bar:
        return self

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.bar is None:
            self.bar = click.progressbar(
                length=total, label="Fetching arXiv metadata", file=sys.stderr
            )
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _print_report(
    report: RunReport, vault: Path, papers_folder: str, *, quiet: bool, show_diff: bool
) -> None:
    echo = click.echo
    if report.dry_run:
        if not quiet:
            echo(f"Dry run: {len(report.planned)} file(s) would change; nothing was written.")
            for write in report.planned:
                verb = "create" if write.expected is None else "update"
                echo(f"  would {verb} {write.path} ({write.reason})")
                if show_diff:
                    echo(_diff(vault, write.path, write.text, write.replaces), nl=False)
    elif not quiet:
        echo(
            f"{report.notes} notes scanned, {report.papers} papers cited; "
            f"{report.created} paper notes created in {papers_folder}/, "
            f"{report.updated} notes updated, {report.links_inserted} links inserted."
        )
        if report.requests:
            echo(f"{report.requests} arXiv API request(s).")
    if report.pending:
        echo(
            f"{len(report.pending)} paper(s) pending; their notes complete on a later run:",
            err=True,
        )
        for key, reason in sorted(report.pending.items()):
            echo(f"  {key}: {reason}", err=True)
    skipped = [r for r in report.results if r.outcome in (Outcome.CONFLICT, Outcome.FAILED)]
    for result in skipped:
        echo(f"  not written: {result.write.path}: {result.message}", err=True)
    if report.problems:
        echo(f"{len(report.problems)} problem(s):", err=True)
        for problem in report.problems:
            echo(f"  {problem}", err=True)


def _diff(vault: Path, path: str, new_text: str, replaces: str | None) -> str:
    source = vault / (replaces or path)
    old = source.read_text(encoding="utf-8-sig") if source.exists() else ""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new_text.splitlines(keepends=True),
        fromfile=f"a/{replaces or path}",
        tofile=f"b/{path}",
    )
    return "".join(lines)
