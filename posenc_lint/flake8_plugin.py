"""The flake8 adapter: lints the buffer flake8 hands over, never the file on disk.

The engine is imported on the first file, not when flake8 loads the plugin, so
flake8 runs that never reach a Python file do not pay for importing LibCST.

Settings come from ``[tool.posenc-lint]`` in the nearest ``pyproject.toml``
above the linted file. The ``--posenc-...`` options, given on flake8's command
line or in its configuration (``setup.cfg``, ``tox.ini``, ``.flake8``),
override the values found there.
"""

from __future__ import annotations

import argparse
import ast
import logging
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from posenc_lint import __version__

LOG = logging.getLogger(__name__)

Result = Tuple[int, int, str, type]

# flake8 selects the plugin's codes by this prefix.
CODE_PREFIX = "PEL"


@dataclass(frozen=True)
class PluginOptions:
    """The plugin's flake8 options, applied on top of ``[tool.posenc-lint]``."""

    position_table_pattern: Optional[str] = None
    default_max_len: Optional[int] = None
    # Off-by-default rules that flake8's --select or --extend-select name, by
    # code or by a prefix longer than `PEL`. They join `extend-select`.
    extend_select: Tuple[str, ...] = ()
    # Why the options are invalid. Every file then gets a PEL902 with this reason.
    error: Optional[str] = None

    def apply(self, settings: Any) -> Any:
        if self.position_table_pattern is not None:
            settings = replace(settings, position_table_pattern=self.position_table_pattern)
        if self.default_max_len is not None:
            settings = replace(settings, default_max_len=self.default_max_len)
        if self.extend_select:
            # As if `extend-select` in [tool.posenc-lint] listed them, so an
            # `ignore` there that names them still wins.
            settings = replace(settings, extend_select=settings.extend_select + self.extend_select)
        return settings


def _pattern_argument(value: str) -> str:
    """Check a command-line pattern, so argparse reports an invalid one by option name."""
    try:
        re.compile(value)
    except re.error as error:
        raise argparse.ArgumentTypeError(f"invalid regular expression {value!r}: {error}")
    return value


def _max_len_argument(value: str) -> int:
    """Check a maximum length the way ``default-max-len`` in pyproject.toml is checked."""
    from posenc_lint.config import MAX_DEFAULT_MAX_LEN

    try:
        length = int(value)
    except ValueError:
        length = 0
    if not 1 <= length <= MAX_DEFAULT_MAX_LEN:
        raise argparse.ArgumentTypeError(
            f"invalid maximum length {value!r}: use a whole number from 1 to {MAX_DEFAULT_MAX_LEN}"
        )
    return length


class Plugin:
    """flake8 entry point ``PEL``."""

    name = "posenc-lint"
    version = __version__

    # Settings by configuration file, shared by the files one flake8 process lints.
    _settings_cache: Dict[Optional[str], Any] = {}
    # Set by parse_options; workers started by `flake8 -j` inherit it or parse it again.
    _options: PluginOptions = PluginOptions()

    @classmethod
    def add_options(cls, parser: Any) -> None:
        parser.add_option(
            "--posenc-position-table-pattern",
            metavar="REGEX",
            type=_pattern_argument,
            parse_from_config=True,
            help="regular expression for the attribute and variable names that mark a "
            "position table; overrides `position-table-pattern` from [tool.posenc-lint] "
            "(default: a built-in pattern for names such as pos_embed, pe and wpe)",
        )
        parser.add_option(
            "--posenc-default-max-len",
            metavar="N",
            type=_max_len_argument,
            parse_from_config=True,
            help="the `max_len` default, in positions, that fixes write when the code names "
            "no maximum length; overrides `default-max-len` from [tool.posenc-lint.fix]",
        )

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        cls._options = options_from_flake8(options)
        cls._settings_cache = {}

    def __init__(self, tree: ast.AST, lines: List[str], filename: str):
        self.tree = tree
        self.lines = lines
        self.filename = filename

    def run(self) -> Iterator[Result]:
        try:
            results = list(self._lint())
        except Exception as error:  # noqa: BLE001 - an exception would abort flake8's whole run
            LOG.debug("posenc-lint failed on %s", self.filename, exc_info=True)
            results = [
                (
                    1,
                    0,
                    f"PEL902 posenc-lint failed on this file: {error!r}; please report this with the file",
                    type(self),
                )
            ]
        yield from results

    def _lint(self) -> Iterator[Result]:
        from posenc_lint import skeleton
        from posenc_lint.config import ConfigError

        if self._options.error is not None:
            yield 1, 0, f"PEL902 invalid posenc-lint flake8 option: {self._options.error}", type(self)
            return
        try:
            settings = self._settings()
        except ConfigError as error:
            yield 1, 0, f"PEL902 invalid posenc-lint configuration: {error}", type(self)
            return
        source = "".join(self.lines)
        # Most files hold no position table; they are passed over without
        # importing the engine and LibCST.
        if not skeleton.could_report(source, settings.position_table_pattern):
            return
        from posenc_lint.engine import lint_source

        path = Path(self.filename) if self.filename not in ("-", "stdin") else None
        # flake8 applies `# noqa` itself, over the same lines, and has parsed them with `ast` already.
        result = lint_source(source, self.filename, settings, path=path, apply_noqa=False, tree=self.tree)
        for diagnostic in result.diagnostics:
            yield (
                diagnostic.start.line,
                diagnostic.start.column,
                f"{diagnostic.code} {diagnostic.message}",
                type(self),
            )

    def _settings(self):
        from posenc_lint.config import find_config_file, load_settings

        folder = Path(self.filename).parent if self.filename not in ("-", "stdin") else None
        if folder is None or not folder.is_dir():
            folder = Path(os.getcwd())
        config_file = find_config_file(folder)
        key = str(config_file) if config_file is not None else None
        settings = self._settings_cache.get(key)
        if settings is None:
            settings = self._options.apply(load_settings(config_file))
            self._settings_cache[key] = settings
        return settings


def options_from_flake8(options: argparse.Namespace) -> PluginOptions:
    """Read and check the plugin's options from flake8's parsed options.

    Values from a configuration file arrive unchecked, because flake8 does not
    pass them through the option's type, so the pattern is compiled here too.
    """
    pattern = getattr(options, "posenc_position_table_pattern", None)
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as error:
            return PluginOptions(
                error=f"`posenc-position-table-pattern` is not a valid regular expression: {error}"
            )
    max_len = getattr(options, "posenc_default_max_len", None)
    if isinstance(max_len, str):
        try:
            max_len = _max_len_argument(max_len)
        except argparse.ArgumentTypeError as error:
            return PluginOptions(error=f"`posenc-default-max-len`: {error}")
    selectors: List[str] = []
    for name in ("select", "extend_select"):
        selectors.extend(getattr(options, name, None) or ())
    return PluginOptions(pattern, max_len, _off_by_default_codes(selectors))


def _off_by_default_codes(selectors: Sequence[str]) -> Tuple[str, ...]:
    """Return the off-by-default rules that selectors such as PEL202 or PEL5 name.

    ``PEL`` alone only turns the plugin on in flake8, so it keeps the default
    selection. Rules that are on by default are left alone, so an `ignore` in
    ``[tool.posenc-lint]`` still removes them.
    """
    candidates = [selector.strip().upper() for selector in selectors]
    candidates = [
        selector
        for selector in candidates
        if selector.startswith(CODE_PREFIX) and selector != CODE_PREFIX
    ]
    if not candidates:
        return ()

    # Imported only here, because the rules import LibCST.
    from posenc_lint.rules import ALL_RULES

    codes = []
    for rule in ALL_RULES:
        if rule.default_enabled or getattr(rule, "file_level", False):
            continue
        if any(rule.code.startswith(selector) for selector in candidates):
            codes.append(rule.code)
    return tuple(codes)
