"""Command line: arguments -> run -> exit code."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, TextIO, Tuple

from posenc_lint import __version__
from posenc_lint.cache import DEFAULT_FOLDER as DEFAULT_CACHE_FOLDER
from posenc_lint.config import (
    ConfigError,
    Settings,
    find_config_file,
    load_settings,
    validate_selectors,
    with_command_line_selection,
)
from posenc_lint.diagnostics import INTERNAL_ERROR, UNREADABLE_FILE, Diagnostic, file_diagnostic
from posenc_lint.discovery import discover
from posenc_lint.report import OUTPUT_FORMATS, summary_line, write_report

LOG = logging.getLogger("posenc_lint")

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


# Output formats that print each fix's edits, not only its message.
FORMATS_WITH_EDITS = ("full", "json", "json-lines", "sarif")


class UsageError(Exception):
    """A command-line mistake; reported with exit code 2."""


def _selector_list(value: str) -> List[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    try:
        return list(validate_selectors(items))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posenc-lint",
        description="Find position-embedding mistakes in PyTorch model code.",
        epilog="Run `posenc-lint rule PEL301` for a rule's documentation, "
        "`posenc-lint rule --all` for the catalogue.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to lint (default: .); `-` reads standard input")
    parser.add_argument("--select", type=_selector_list, action="append", metavar="CODES", help="comma-separated codes or prefixes to enable, replacing the configured selection (PEL3 selects PEL301-PEL399)")
    parser.add_argument("--extend-select", type=_selector_list, action="append", metavar="CODES", help="codes or prefixes to enable in addition to the selection")
    parser.add_argument("--ignore", type=_selector_list, action="append", metavar="CODES", help="codes or prefixes to disable")
    parser.add_argument("--output-format", choices=OUTPUT_FORMATS, default="concise", help="how findings are printed (default: concise)")
    parser.add_argument("-o", "--output-file", metavar="FILE", help="write the report to FILE instead of standard output")
    parser.add_argument("--exit-zero", action="store_true", help="exit with 0 even when there are findings")
    parser.add_argument("--fix", action="store_true", help="apply the safe fixes and report the findings that remain; with `-`, write the fixed source to standard output")
    parser.add_argument("--unsafe-fixes", action="store_true", help="apply unsafe fixes too (they change behaviour on purpose), and mark their findings fixable with [*]")
    parser.add_argument("--diff", action="store_true", help="print a unified diff of what --fix would change instead of writing files; exit with 1 when there is a diff")
    parser.add_argument("--fix-only", action="store_true", help="apply fixes as --fix does but report no findings; exit with 0 unless --exit-non-zero-on-fix")
    parser.add_argument("--exit-non-zero-on-fix", action="store_true", help="exit with 1 when any file was fixed, even if no findings remain")
    parser.add_argument("--stdin-filename", metavar="PATH", help="the name to report for standard input, also used to find configuration")
    parser.add_argument("--config", metavar="FILE", help="the pyproject.toml to read instead of the nearest one")
    parser.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    parser.add_argument("--force-exclude", action="store_true", help="apply exclusions to paths named on the command line too")
    parser.add_argument("--extend-exclude", action="append", default=[], metavar="PATTERN", help="glob patterns of paths to skip, in addition to the configured ones")
    parser.add_argument("-j", "--jobs", type=int, default=None, metavar="N", help="number of worker processes (default: one per CPU)")
    parser.add_argument("--no-cache", action="store_true", help="lint every file again instead of reusing the findings of unchanged files (or set $POSENC_LINT_NO_CACHE=1)")
    parser.add_argument("--cache-dir", metavar="DIR", help=f"where results are cached (default: {DEFAULT_CACHE_FOLDER} in the folder of the configuration file, else the current folder; or $POSENC_LINT_CACHE_DIR)")
    parser.add_argument("--no-progress", action="store_true", help="draw no progress bar on standard error (none is drawn when it is not a terminal or in CI)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print findings only, no summary")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging details to standard error")
    parser.add_argument("--version", action="version", version=f"posenc-lint {__version__}")
    return parser


def build_rule_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="posenc-lint rule", description="Show rule documentation.")
    parser.add_argument("code", nargs="?", help="a rule code such as PEL301, or a rule name")
    parser.add_argument("--all", action="store_true", help="list every rule")
    parser.add_argument("--output-format", choices=("text", "json"), default="text")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`posenc-lint src/ | head`). Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FINDINGS


def _main(argv: Optional[Sequence[str]]) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "rule":
        return rule_command(argv[1:], sys.stdout)
    if argv and argv[0] == "server":
        return server_command(argv[1:])
    if argv and argv[0] == "check":
        argv = argv[1:]
    parser = build_parser()
    arguments = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if arguments.verbose else logging.WARNING,
        format="posenc-lint: %(levelname)s: %(message)s",
    )
    try:
        return check_command(arguments)
    except (ConfigError, UsageError) as error:
        sys.stderr.write(f"posenc-lint: error: {error}\n")
        return EXIT_ERROR


def server_command(argv: Sequence[str]) -> int:
    """Run the language server; pygls, an optional dependency, is imported only here."""
    try:
        from posenc_lint.server import main as server_main
    except ImportError as error:
        missing = (error.name or "").split(".")[0]
        if missing not in ("pygls", "lsprotocol"):
            raise
        sys.stderr.write(
            f"posenc-lint: error: the language server needs {missing}, which is not installed; "
            'install it with `pip install "posenc-lint[lsp]"`\n'
        )
        return EXIT_ERROR
    return server_main(argv)


def _settings_for(arguments: argparse.Namespace, start: Path) -> Settings:
    if arguments.isolated:
        settings = Settings()
    elif arguments.config:
        config_file = Path(arguments.config)
        if not config_file.is_file():
            raise UsageError(f"configuration file not found: {config_file}")
        settings = load_settings(config_file)
    else:
        settings = load_settings(find_config_file(start))

    def flatten(groups: Optional[List[List[str]]]) -> tuple:
        return tuple(code for group in groups or () for code in group)

    settings = with_command_line_selection(
        settings,
        None if arguments.select is None else flatten(arguments.select),
        flatten(arguments.extend_select),
        flatten(arguments.ignore),
    )
    if arguments.extend_exclude:
        extend_exclude = settings.extend_exclude + tuple(arguments.extend_exclude)
        settings = dataclasses.replace(settings, extend_exclude=extend_exclude)
    if arguments.output_format in FORMATS_WITH_EDITS:
        settings = dataclasses.replace(settings, fix_edits=True)
    return settings


def check_command(arguments: argparse.Namespace) -> int:
    paths = arguments.paths or ["."]
    if arguments.jobs is not None and arguments.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if "-" in paths and len(paths) > 1:
        raise UsageError("`-` (standard input) cannot be combined with other paths")

    # The fix machinery imports LibCST, which a lint run served from the cache never needs.
    wants_fix = bool(arguments.fix or arguments.fix_only or arguments.diff)

    if paths == ["-"]:
        display = arguments.stdin_filename or "-"
        start = Path(arguments.stdin_filename).parent if arguments.stdin_filename else Path.cwd()
        settings = _settings_for(arguments, start if start.is_dir() else Path.cwd())
        source = sys.stdin.buffer.read()
        path = Path(arguments.stdin_filename) if arguments.stdin_filename else None
        if wants_fix:
            from posenc_lint import fix_command

            return fix_command.fix_stdin(source, display, settings, path, arguments)
        from posenc_lint.engine import lint_source

        result = lint_source(source, display, settings, path=path)
        return _finish(list(result.diagnostics), 1, arguments, sources={display: source})

    first = Path(paths[0])
    start = first if first.is_dir() else first.parent
    settings = _settings_for(arguments, start if start.is_dir() else Path.cwd())
    found = discover([Path(path) for path in paths], settings, force_exclude=arguments.force_exclude)

    diagnostics: List[Diagnostic] = []
    for path in found.missing:
        diagnostics.append(file_diagnostic(UNREADABLE_FILE, str(path), "path not found"))
    for folder, reason in found.unreadable_folders:
        diagnostics.append(file_diagnostic(UNREADABLE_FILE, str(folder), f"cannot read folder: {reason}"))
    for folder in found.empty_folders:
        LOG.warning("no Python files found under %s", folder)

    if wants_fix:
        from posenc_lint import fix_command

        groups = _group_by_config(found.files, settings, arguments)
        return fix_command.fix_groups(groups, diagnostics, len(found.files), arguments)

    from posenc_lint.runner import lint_files, show_progress

    progress = not arguments.no_progress and show_progress()
    for group_settings, files in _group_by_config(found.files, settings, arguments):
        cache = _cache_for(group_settings, arguments)
        for result in lint_files(files, group_settings, arguments.jobs, cache=cache, progress=progress):
            diagnostics.extend(result.diagnostics)
    return _finish(diagnostics, len(found.files), arguments)


def _cache_for(settings: Settings, arguments: argparse.Namespace):
    """Return the result cache for one settings group, or None with ``--no-cache``."""
    if arguments.no_cache or os.environ.get("POSENC_LINT_NO_CACHE", "") not in ("", "0"):
        return None
    from posenc_lint.cache import ResultCache

    folder = arguments.cache_dir or os.environ.get("POSENC_LINT_CACHE_DIR")
    if folder:
        location = Path(folder)
    else:
        location = (settings.root or Path.cwd()) / DEFAULT_CACHE_FOLDER
    return ResultCache(location, repr((settings.cache_key(), str(settings.root))))


def _group_by_config(
    files: Sequence[Path], settings: Settings, arguments: argparse.Namespace
) -> List[Tuple[Settings, List[Path]]]:
    """Pair each file with the settings of the nearest configuration file above it.

    ``settings`` (from the first path) serve every file under the same
    configuration file, and every file when ``--config`` or ``--isolated`` is
    given. File discovery and its exclusions use ``settings`` only.
    """
    if arguments.isolated or arguments.config:
        return [(settings, list(files))]
    config_by_folder: Dict[Path, Optional[Path]] = {}
    groups: Dict[Optional[Path], List[Path]] = {}
    for path in files:
        folder = path.parent
        if folder not in config_by_folder:
            config_by_folder[folder] = find_config_file(folder)
        groups.setdefault(config_by_folder[folder], []).append(path)

    paired = []
    for config_file, group in groups.items():
        if config_file == settings.config_file:
            paired.append((settings, group))
        else:
            paired.append((_settings_for(arguments, group[0].parent), group))
    return paired


def _finish(
    diagnostics: List[Diagnostic],
    files_checked: int,
    arguments: argparse.Namespace,
    sources: Optional[Dict[str, bytes]] = None,
) -> int:
    diagnostics.sort(key=Diagnostic.sort_key)
    if arguments.output_file:
        try:
            with open(arguments.output_file, "w", encoding="utf-8") as stream:
                write_report(diagnostics, arguments.output_format, stream, sources, arguments.unsafe_fixes)
        except OSError as error:
            raise UsageError(f"cannot write the report to {arguments.output_file}: {error.strerror}")
    else:
        write_report(diagnostics, arguments.output_format, sys.stdout, sources, arguments.unsafe_fixes)
        sys.stdout.flush()
    if not arguments.quiet:
        sys.stderr.write(summary_line(diagnostics, files_checked, arguments.unsafe_fixes) + "\n")

    if any(diagnostic.code == INTERNAL_ERROR for diagnostic in diagnostics):
        return EXIT_ERROR
    if diagnostics and not arguments.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def rule_command(argv: Sequence[str], stream: TextIO) -> int:
    from posenc_lint.rules import ALL_RULES, RULES_BY_CODE

    arguments = build_rule_parser().parse_args(list(argv))
    if arguments.all:
        if arguments.output_format == "json":
            import json

            json.dump([_rule_json(rule) for rule in ALL_RULES], stream, indent=2)
            stream.write("\n")
            return EXIT_CLEAN
        width = max(len(rule.name) for rule in ALL_RULES)
        for rule in ALL_RULES:
            default = "on " if rule.default_enabled else "off"
            stream.write(f"{rule.code}  {rule.name:<{width}}  {default}  {rule.summary}\n")
        return EXIT_CLEAN
    if not arguments.code:
        sys.stderr.write("posenc-lint: error: give a rule code such as PEL301, or --all\n")
        return EXIT_ERROR

    wanted = arguments.code.strip()
    rule = RULES_BY_CODE.get(wanted.upper()) or next(
        (candidate for candidate in ALL_RULES if candidate.name == wanted), None
    )
    if rule is None:
        sys.stderr.write(f"posenc-lint: error: unknown rule `{wanted}`; `posenc-lint rule --all` lists them\n")
        return EXIT_ERROR
    if arguments.output_format == "json":
        import json

        json.dump(_rule_json(rule), stream, indent=2)
        stream.write("\n")
        return EXIT_CLEAN
    default = "on by default" if rule.default_enabled else "off by default; enable with --extend-select " + rule.code
    stream.write(f"# {rule.name} ({rule.code})\n\n{rule.summary}. This rule is {default}.\n\n")
    stream.write(rule.documentation() + "\n")
    return EXIT_CLEAN


def _rule_json(rule) -> dict:
    return {
        "code": rule.code,
        "name": rule.name,
        "summary": rule.summary,
        "default": rule.default_enabled,
        "explanation": rule.documentation(),
    }


if __name__ == "__main__":
    sys.exit(main())
