"""Command line: parse, load settings, call the core, print, exit code. Nothing else."""

from __future__ import annotations

import atexit
import gc
import logging
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vaultpapers import __version__
from vaultpapers.arxiv.cache import CacheError
from vaultpapers.arxiv.ids import InvalidArxivId
from vaultpapers.config import ConfigError, load_settings
from vaultpapers.model import Outcome, Write
from vaultpapers.run.explain import explain_related
from vaultpapers.run.export import export_bibliography
from vaultpapers.run.options import RunOptions
from vaultpapers.run.pipeline import run_link
from vaultpapers.run.report import RunReport

if TYPE_CHECKING:
    from vaultpapers.protocol import Emitter

EXIT_OK = 0
EXIT_INCOMPLETE = 1  # finished, but a rerun has work left: pending papers, skipped writes
EXIT_USAGE = 2  # bad arguments or configuration; nothing was done

vault_argument = click.argument(
    "vault",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=".",
)


def run() -> None:
    """The `vaultpapers` program: `main` in a process whose garbage collector suits it.

    A run decodes a vault's worth of long-lived objects (scans, papers) and makes almost no
    reference cycles, so the collector's default pace re-walks them again and again, and its
    sweep at exit walks them once more. Even collecting rarely still costs a short run more
    than it frees (figures: benchmarks/README.md, "Figures behind design choices"); a run is
    short, so it does not collect at all, and what it frees by reference counting is freed as
    ever. A long-lived `watch` collects, at a rare pace. The last sweep is left to the
    operating system.
    """
    gc.disable()  # `watch` enables it again
    atexit.register(gc.freeze)
    main()


JSON_FLAG = "--json"
json_option = click.option(
    JSON_FLAG,
    "json_out",
    is_flag=True,
    help="Print newline-delimited JSON events on stdout instead (docs/protocol.md).",
)


class _Commands(click.Group):
    """The command group; under `--json` every failure, click's own included (a bad option,
    no such vault), is an `error` event on stdout, never text or a traceback there."""

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        before_separator = argv[: argv.index("--")] if "--" in argv else argv
        if JSON_FLAG not in before_separator or not standalone_mode:
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        try:
            return super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            exc.show()  # the human message, on stderr
            message, code = exc.format_message(), exc.exit_code
        except click.Abort:
            message, code = "aborted", EXIT_INCOMPLETE
        except Exception as exc:  # a bug: its traceback goes to stderr, never to stdout
            logging.getLogger("vaultpapers").exception("vaultpapers failed")
            message, code = f"internal error: {type(exc).__name__}: {exc}", EXIT_INCOMPLETE
        from vaultpapers import protocol

        protocol.Emitter(sys.stdout).emit(protocol.error(message, code))
        sys.exit(code)


@click.group(cls=_Commands)
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
@json_option
def link(
    vault: Path, offline: bool, dry_run: bool, show_diff: bool, quiet: bool, json_out: bool
) -> None:
    """Find every arXiv reference in VAULT and link it to a paper note.

    \b
    Exit codes: 0 the vault is fully linked (invalid references are reported, not fatal);
    1 finished, but work is left for a later run (papers pending, files skipped);
    2 bad usage or configuration, nothing done.
    """
    options = RunOptions(offline=offline, dry_run=dry_run or show_diff)
    _link(vault, options, quiet=quiet, show_diff=show_diff, events=_events(json_out))


def _events(json_out: bool) -> Emitter | None:
    """Where `--json` events go; None for human output (nothing more is imported then)."""
    if not json_out:
        return None
    from vaultpapers.protocol import Emitter

    return Emitter(sys.stdout)


def _link(
    vault: Path,
    options: RunOptions,
    *,
    quiet: bool,
    show_diff: bool = False,
    events: Emitter | None = None,
    command: str = "link",
) -> None:
    """`link` and `refresh`: one run, its report, its exit code."""
    try:
        settings = load_settings(vault)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if events is not None:
        from vaultpapers import protocol

        events.emit(protocol.run_started(command, vault, options))
        try:
            report = run_link(vault, settings, options, progress=events.progress)
        except CacheError as exc:
            raise click.ClickException(str(exc)) from exc
        events.emit_all(protocol.run_events(report))
        sys.exit(protocol.exit_code(report))
    with _progress_bar(quiet) as progress:
        try:
            report = run_link(vault, settings, options, progress=progress)
        except CacheError as exc:
            raise click.ClickException(str(exc)) from exc
    _print_report(report, vault, settings.papers_folder, quiet=quiet, show_diff=show_diff)
    sys.exit(EXIT_OK if report.complete or report.dry_run else EXIT_INCOMPLETE)


@main.command()
@click.argument("vault", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("ids", nargs=-1)
@click.option("--all", "all_papers", is_flag=True, help="Ask about every paper with a note.")
@click.option("-q", "--quiet", is_flag=True, help="Print problems only.")
@json_option
def refresh(
    vault: Path, ids: tuple[str, ...], all_papers: bool, quiet: bool, json_out: bool
) -> None:
    """Ask arXiv again now about the papers IDS (or --all), due or not, and bring their
    notes and the bibliography up to date; then link VAULT as `link` does.

    \b
    Exit codes: as `link`; 2 also for a malformed id, or neither IDS nor --all.
    """
    from vaultpapers.arxiv.ids import parse_arxiv_id

    if not ids and not all_papers:
        raise click.UsageError("name the papers to ask about again (arXiv ids), or --all")
    try:
        keys = sorted({parse_arxiv_id(arxiv_id).key for arxiv_id in ids})
    except InvalidArxivId as exc:
        raise click.UsageError(str(exc)) from exc
    options = RunOptions(refresh_keys=frozenset(keys), refresh_all=all_papers)
    _link(vault, options, quiet=quiet, events=_events(json_out), command="refresh")


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
    if report.dry_run:
        if not quiet:
            _print_dry_run(report, vault, show_diff=show_diff)
    elif not quiet:
        _print_summary(report, papers_folder)
    _print_left_over(report)


def _print_dry_run(report: RunReport, vault: Path, *, show_diff: bool) -> None:
    echo = click.echo
    echo(f"Dry run: {len(report.planned)} file(s) would change; nothing was written.")
    if report.fetched_in_memory:
        echo(
            f"Fetched {report.fetched_in_memory} paper(s)' metadata from arXiv, kept in "
            "memory only: a real run fetches it again."
        )
    for write in report.planned:
        verb = "create" if write.expected is None else "update"
        echo(f"  would {verb} {write.path} ({write.reason})")
        if show_diff:
            echo(_diff(vault, write), nl=False)


def _print_summary(report: RunReport, papers_folder: str) -> None:
    echo = click.echo
    counted = [f"{report.user_notes} yours"] if report.user_notes is not None else []
    if report.plugin_files:
        # Drawings are the user's, but not prose we read: counted apart, so that "yours"
        # stays the notes vaultpapers reads and may link in.
        counted.append(f"{report.plugin_files} kept by other plugins, such as drawings, left alone")
    yours = f" ({'; '.join(counted)})" if counted else ""
    echo(
        f"{report.notes} notes scanned{yours}, {report.papers} papers cited: "
        f"{report.written('paper', new=True)} paper notes created in {papers_folder}/, "
        f"{report.written('paper', new=False)} updated"
        + (f", {own} of your own paper notes" if (own := report.written("own")) else "")
        + f"; {report.links_inserted} links inserted"
        + (
            f" ({report.title_links} after paper titles, "
            f"{report.links_inserted - report.title_links} after URLs and ids)"
            if report.title_links
            else ""
        )
        + f" into {report.written('note')} notes; "
        f"{report.written('index')} index notes written"
        + (f", {report.removed} removed." if report.removed else ".")
    )
    if report.requests:
        echo(f"{report.requests} arXiv API request(s).")
    if report.rechecked:
        echo(
            f"Asked arXiv again about {report.rechecked} paper(s): "
            + (f"{len(report.refreshed)} changed." if report.refreshed else "none changed.")
        )
    for change in report.refreshed:
        echo(f"  {change}")
    if report.not_rechecked:
        echo(f"Metadata not refreshed: {report.not_rechecked}.")
    for result in report.results:
        if result.write.kind == "bibliography" and result.outcome is Outcome.WRITTEN:
            echo(f"Bibliography written: {result.write.path}.")


def _print_left_over(report: RunReport) -> None:
    """What the run could not do, on stderr, even with --quiet."""
    echo = click.echo
    if report.titles_unsearched:
        echo(
            f"{len(report.titles_unsearched)} title(s) not looked up on arXiv; "
            "asked again on a later run.",
            err=True,
        )
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


def _diff(vault: Path, write: Write) -> str:
    path, replaces = write.path, write.replaces
    source = vault / (replaces or path)
    # Bytes decoded as they are: text mode would turn CRLF into LF and show every line changed.
    old = source.read_bytes().decode("utf-8-sig") if source.exists() else ""
    new_text = write.new_text(old)
    import difflib  # only for --diff: the import costs a plain run more than it needs

    lines = difflib.unified_diff(
        _lines(old), _lines(new_text), fromfile=f"a/{replaces or path}", tofile=f"b/{path}"
    )
    # A last line without its newline would run into the next line of the diff: mark it,
    # as diff and git do, on whichever side it is.
    return "".join(
        line if line.endswith(("\n", "\r")) else f"{line}\n{NO_NEWLINE}\n" for line in lines
    )


NO_NEWLINE = "\\ No newline at end of file"
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _lines(text: str) -> list[str]:
    """Lines as a note has them: ended by LF, CRLF or CR only (`str.splitlines` would also
    split at form feeds and Unicode separators, which a note may hold inside a line)."""
    return _LINE.findall(text)


@main.command()
@vault_argument
@click.option(
    "--polling",
    is_flag=True,
    help="Look for changes every second instead of using OS file events "
    "(network drives, WSL, Docker volumes).",
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="How long a note must be quiet before links go into it (default: watch.settle, 5).",
)
@click.option("--offline", is_flag=True, help="Never fetch metadata; use the cache only.")
@json_option
def watch(vault: Path, polling: bool, settle: float | None, offline: bool, json_out: bool) -> None:
    """Keep VAULT linked while you write in it; stop with Ctrl-C or SIGTERM.

    Catches up on everything changed since the last run, then watches. New paper notes
    appear within about a second; links go into a note once it has been quiet for
    --settle seconds. Logs go to stderr (and to watch.log_file if set).

    \b
    Exit codes: 0 stopped by Ctrl-C or SIGTERM; 1 could not start (another watcher runs
    on VAULT, the cache cannot be used) or stopped on a fault; 2 bad usage or configuration.
    """
    # Imported here: watchdog is not needed by the other commands, which should start fast.
    from vaultpapers.watch import VaultWatcher, WatcherAlreadyRunning, watch_logging

    # Long-lived: cycles must not pile up, but its warm vault is not re-walked often (`run`).
    gc.set_threshold(50_000, 20, 100)
    gc.enable()
    try:
        settings = load_settings(vault)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if settle is not None:
        settings = replace(settings, watch=replace(settings.watch, settle=settle))
    listener = None
    if json_out:
        import os
        import signal

        from vaultpapers.protocol import Emitter, WatchEvents

        # Nobody reads the events any more (the plugin is gone): stop as on SIGTERM.
        events = Emitter(sys.stdout, on_closed=lambda: os.kill(os.getpid(), signal.SIGTERM))
        listener = WatchEvents(events, vault)
    watcher = VaultWatcher(vault, settings, polling=polling, offline=offline, listener=listener)
    with watch_logging(watcher.vault, settings):
        try:
            code = watcher.run_until_signalled()
        except (WatcherAlreadyRunning, CacheError, OSError) as exc:
            raise click.ClickException(str(exc)) from exc
    sys.exit(code)


@main.command()
@vault_argument
@json_option
def status(vault: Path, json_out: bool) -> None:
    """Whether a watcher runs on VAULT, what is pending, and what problems it saw.

    \b
    Exit codes: 0 a watcher is running; 1 none is.
    """
    # The status module alone: `status` needs neither watchdog nor the pipeline.
    from vaultpapers.watch.status import describe_status, read_status

    report = read_status(vault.resolve())
    if (events := _events(json_out)) is not None:
        from vaultpapers import protocol

        events.emit(protocol.status(report))
    else:
        for line in describe_status(report):
            click.echo(line)
    sys.exit(EXIT_OK if report.running else EXIT_INCOMPLETE)


@main.command()
@click.argument("arxiv_id")
@vault_argument
@json_option
def related(arxiv_id: str, vault: Path, json_out: bool) -> None:
    """Explain why ARXIV_ID is related to other papers in VAULT.

    Prints the paper's short name, its series and how each member was matched, every
    detected relation with its reason, and what you added or removed yourself. Offline and
    read-only: uses the cached metadata of the papers that have notes in VAULT.

    \b
    Exit codes: 0 explained; 1 no metadata for that paper yet; 2 malformed id or bad usage.
    """
    try:
        settings = load_settings(vault)
        explained = explain_related(vault, settings, arxiv_id)
    except (ConfigError, InvalidArxivId) as exc:
        raise click.UsageError(str(exc)) from exc
    except LookupError as exc:
        if json_out:
            raise click.ClickException(str(exc).strip("'\"")) from exc
        click.echo(str(exc).strip("'\""), err=True)
        sys.exit(EXIT_INCOMPLETE)
    if (events := _events(json_out)) is not None:
        from vaultpapers import protocol

        events.emit(protocol.related(explained))
        return
    for line in explained.lines:
        click.echo(line)


@main.command()
@vault_argument
@click.option(
    "--format",
    "format_",
    type=click.Choice(["bibtex", "csl-json"]),
    default=None,
    help="BibTeX (default; CSL-JSON when -o ends in .json) or CSL-JSON.",
)
@click.option("--note", metavar="NOTE", help="Only the papers NOTE cites (its path or name).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (anywhere you name, replaced atomically); default: stdout.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace the -o file even if it is not a bibliography vaultpapers wrote (never a note).",
)
@json_option
def export(
    vault: Path,
    format_: str | None,
    note: str | None,
    output: Path | None,
    force: bool,
    json_out: bool,
) -> None:
    """Print (or write with -o) a bibliography of VAULT's papers, or of the papers one NOTE
    cites, with the citekeys their notes hold. Offline and read-only in VAULT.

    \b
    Exit codes: 0 written; 1 some papers NOTE cites have no metadata or citekey yet (run
    `vaultpapers link`), or the file could not be written; 2 bad usage (no such note, or a
    -o file it will not replace: a Markdown file, or one it did not write, without --force).
    """
    from vaultpapers.notes.bibliography import format_of
    from vaultpapers.run.export import ExportRefused, write_export

    try:
        settings = load_settings(vault)
        chosen = format_ or (format_of(output.name) if output is not None else "bibtex")
        made = export_bibliography(vault, settings, chosen, note)
    except (ConfigError, LookupError) as exc:
        raise click.UsageError(str(exc).strip("'\"")) from exc
    except CacheError as exc:
        raise click.ClickException(str(exc)) from exc
    for key in made.missing:
        click.echo(f"  left out: arXiv {key}: no metadata or citekey yet (run link)", err=True)
    events = _events(json_out)
    if output is None and events is not None:
        from vaultpapers import protocol

        events.emit(protocol.exported(chosen, made.papers, made.missing, made.text, None))
    elif output is None:
        click.echo(made.text, nl=False)
    else:
        try:
            result = write_export(output.absolute(), made.text, force)
        except ExportRefused as exc:
            raise click.UsageError(str(exc)) from exc
        if result.outcome in (Outcome.CONFLICT, Outcome.FAILED):
            if events is not None:
                raise click.ClickException(f"not written: {output}: {result.message}")
            click.echo(f"not written: {output}: {result.message}", err=True)
            sys.exit(EXIT_INCOMPLETE)
        if events is not None:
            from vaultpapers import protocol

            target = output.absolute()
            events.emit(protocol.exported(chosen, made.papers, made.missing, None, target))
        else:
            click.echo(f"{made.papers} paper(s) written to {output}.", err=True)
    sys.exit(EXIT_INCOMPLETE if made.missing else EXIT_OK)
