"""``[tool.posenc-lint]`` discovery, validation and rule selection."""

from __future__ import annotations

import fnmatch
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, Optional, Sequence, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.9 and 3.10 only
    import tomli as tomllib

from posenc_lint.catalogue import ALL_CODES, DEFAULT_ENABLED, DEFAULT_MAX_LEN, DEFAULT_TABLE_PATTERN

SECTION = "posenc-lint"
FIX_SECTION = "fix"

# Tables that a position-table rewrite sizes for a maximum length stop at
# 1 << 24 rows, because a larger default would allocate gigabytes per module.
MAX_DEFAULT_MAX_LEN = 1 << 24

DEFAULT_EXCLUDE = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".hg",
    ".mypy_cache",
    ".nox",
    ".posenc_lint_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    "__pycache__",
    "__pypackages__",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
)

# Codes of the file-level diagnostics, reported whatever the selection is.
ALWAYS_ON = ("PEL900", "PEL901", "PEL902")


class ConfigError(Exception):
    """An invalid configuration value; the message names the key and the file."""


@dataclass(frozen=True)
class Settings:
    """The options that decide what is linted and how."""

    select: Optional[Tuple[str, ...]] = None
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()
    per_file_ignores: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    exclude: Tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: Tuple[str, ...] = ()
    position_table_pattern: str = DEFAULT_TABLE_PATTERN
    # The folder of the configuration file, where relative patterns start.
    root: Optional[Path] = None
    config_file: Optional[Path] = None
    max_file_size: int = 2 * 1024 * 1024
    # The `max_len` default a fix writes when the code names no maximum length.
    default_max_len: int = DEFAULT_MAX_LEN
    # Whether diagnostics carry their fixes' text edits; set by output formats
    # that show them, because computing them costs a rewrite per fixable finding.
    fix_edits: bool = False
    # Not an __init__ argument, so dataclasses.replace() starts a fresh cache
    # instead of sharing one that contains the old selection.
    selected_cache: Dict[str, FrozenSet[str]] = field(
        default_factory=dict, init=False, compare=False, hash=False, repr=False
    )

    def cache_key(self) -> str:
        """Return a string that changes whenever the findings could change."""
        return repr(
            (
                self.select,
                self.extend_select,
                self.ignore,
                self.per_file_ignores,
                self.position_table_pattern,
                self.max_file_size,
                self.default_max_len,
                self.fix_edits,
            )
        )


def find_config_file(start: Path) -> Optional[Path]:
    """Return the nearest ``pyproject.toml`` at or above ``start`` with our section."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = _read_toml(candidate)
            except ConfigError:
                raise
            if SECTION in data.get("tool", {}):
                return candidate
    return None


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration file: {error.strerror}")
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}")


def load_settings(config_file: Optional[Path]) -> Settings:
    """Read ``[tool.posenc-lint]`` from ``config_file``, or return the defaults."""
    if config_file is None:
        return Settings()
    table = _read_toml(config_file).get("tool", {}).get(SECTION, {})
    return settings_from_table(table, config_file)


def settings_from_table(table: dict, config_file: Path) -> Settings:
    known = {
        "select",
        "extend-select",
        "ignore",
        "per-file-ignores",
        "exclude",
        "extend-exclude",
        "position-table-pattern",
        "max-file-size",
        FIX_SECTION,
    }
    for key in table:
        if key not in known:
            raise ConfigError(
                f"{config_file}: unknown key `{key}` in [tool.{SECTION}]; "
                f"known keys: {', '.join(sorted(known))}"
            )

    def strings(key: str) -> Optional[Tuple[str, ...]]:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(
                f"{config_file}: `{key}` in [tool.{SECTION}] must be a list of strings"
            )
        return tuple(value)

    def selectors(key: str) -> Optional[Tuple[str, ...]]:
        values = strings(key)
        if values is None:
            return None
        try:
            return validate_selectors(values)
        except ValueError as error:
            raise ConfigError(f"{config_file}: `{key}` in [tool.{SECTION}]: {error}")

    settings = Settings(root=config_file.parent, config_file=config_file)
    changes: dict = {}
    select = selectors("select")
    if select is not None:
        changes["select"] = select
    for key, attribute in (("extend-select", "extend_select"), ("ignore", "ignore")):
        value = selectors(key)
        if value is not None:
            changes[attribute] = value
    for key, attribute in (("exclude", "exclude"), ("extend-exclude", "extend_exclude")):
        value = strings(key)
        if value is not None:
            changes[attribute] = value

    if "per-file-ignores" in table:
        changes["per_file_ignores"] = _per_file_ignores(table["per-file-ignores"], config_file)

    if "position-table-pattern" in table:
        pattern = table["position-table-pattern"]
        if not isinstance(pattern, str):
            raise ConfigError(
                f"{config_file}: `position-table-pattern` in [tool.{SECTION}] must be a string"
            )
        try:
            re.compile(pattern)
        except re.error as error:
            raise ConfigError(
                f"{config_file}: `position-table-pattern` in [tool.{SECTION}] "
                f"is not a valid regular expression: {error}"
            )
        changes["position_table_pattern"] = pattern

    if "max-file-size" in table:
        size = table["max-file-size"]
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ConfigError(
                f"{config_file}: `max-file-size` in [tool.{SECTION}] must be a positive "
                "number of bytes"
            )
        changes["max_file_size"] = size

    if FIX_SECTION in table:
        changes.update(_fix_options(table[FIX_SECTION], config_file))

    return replace(settings, **changes)


def _fix_options(value: object, config_file: Path) -> Dict[str, int]:
    """Validate the ``[tool.posenc-lint.fix]`` table and return its Settings fields."""
    section = f"[tool.{SECTION}.{FIX_SECTION}]"
    if not isinstance(value, dict):
        raise ConfigError(
            f"{config_file}: `{FIX_SECTION}` in [tool.{SECTION}] must be the table {section}, "
            "for example `default-max-len = 2048` under that header"
        )
    known = {"default-max-len"}
    for key in value:
        if key not in known:
            raise ConfigError(
                f"{config_file}: unknown key `{key}` in {section}; known keys: {', '.join(sorted(known))}"
            )

    changes: Dict[str, int] = {}
    if "default-max-len" in value:
        length = value["default-max-len"]
        if (
            not isinstance(length, int)
            or isinstance(length, bool)
            or not 1 <= length <= MAX_DEFAULT_MAX_LEN
        ):
            raise ConfigError(
                f"{config_file}: `default-max-len` in {section} must be a whole number of "
                f"positions from 1 to {MAX_DEFAULT_MAX_LEN}, not {length!r}"
            )
        changes["default_max_len"] = length
    return changes


def _per_file_ignores(value: object, config_file: Path) -> Tuple[Tuple[str, Tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(
            f"{config_file}: `per-file-ignores` in [tool.{SECTION}] must be a table "
            'of glob patterns to code lists, for example {"tests/*" = ["PEL201"]}'
        )
    entries = []
    for pattern, codes in value.items():
        if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
            raise ConfigError(
                f"{config_file}: `per-file-ignores` entry `{pattern}` in [tool.{SECTION}] "
                "must be a list of rule codes"
            )
        try:
            entries.append((pattern, validate_selectors(codes)))
        except ValueError as error:
            raise ConfigError(
                f"{config_file}: `per-file-ignores` entry `{pattern}` in [tool.{SECTION}]: {error}"
            )
    return tuple(entries)


def validate_selectors(values: Iterable[str]) -> Tuple[str, ...]:
    """Check that each selector is ``ALL`` or a prefix of at least one rule code."""
    checked = []
    for value in values:
        selector = value.strip().upper()
        if selector == "ALL" or any(code.startswith(selector) for code in ALL_CODES):
            if selector:
                checked.append(selector)
                continue
        raise ValueError(
            f"unknown rule selector `{value}`; use a code such as PEL301 or a prefix such as PEL3"
        )
    return tuple(checked)


def selected_codes(settings: Settings, path: Optional[Path] = None) -> FrozenSet[str]:
    """Return the codes enabled for ``path``, resolving prefixes as Ruff does.

    The longest matching selector decides each code; between an enabling and
    an ignoring selector of equal length, the ignore wins. A per-file ignore
    that matches ``path`` then removes its codes whatever selected them.
    """
    key = str(path) if path is not None else ""
    cached = settings.selected_cache.get(key)
    if cached is not None:
        return cached

    enabled = _resolve_layer(None, settings.select, settings.extend_select, settings.ignore)
    per_file = tuple(_per_file_ignore_codes(settings, path))
    result = frozenset(code for code in enabled if _longest_match(code, per_file) < 0)
    settings.selected_cache[key] = result
    return result


def with_command_line_selection(
    settings: Settings,
    select: Optional[Sequence[str]],
    extend_select: Sequence[str],
    ignore: Sequence[str],
) -> Settings:
    """Apply command-line selectors on top of the configured selection, as Ruff layers them.

    ``--select`` starts a new selection, so the configured ``select``,
    ``extend-select`` and ``ignore`` no longer count; ``--extend-select`` and
    ``--ignore`` alone adjust the configured result. Per-file ignores still apply.
    """
    if select is None and not extend_select and not ignore:
        return settings
    configured = _resolve_layer(None, settings.select, settings.extend_select, settings.ignore)
    enabled = _resolve_layer(
        configured, None if select is None else tuple(select), tuple(extend_select), tuple(ignore)
    )
    return replace(settings, select=tuple(sorted(enabled)), extend_select=(), ignore=())


def _resolve_layer(
    previous: Optional[FrozenSet[str]],
    select: Optional[Sequence[str]],
    extend_select: Sequence[str],
    ignore: Sequence[str],
) -> FrozenSet[str]:
    """Return the codes one layer of selectors enables, starting from ``previous``.

    Without ``select``, a layer starts from ``previous``, the codes the layer
    below enabled, or from the default-enabled rules when ``previous`` is None.
    """
    enable = list(select or ()) + list(extend_select)
    enabled = set()
    for code in ALL_CODES:
        enabling = _longest_match(code, enable)
        ignoring = _longest_match(code, ignore)
        if enabling < 0 and ignoring < 0:
            if previous is None:
                kept = DEFAULT_ENABLED[code]
            else:
                kept = code in previous
            if select is None and kept:
                enabled.add(code)
        elif enabling > ignoring:
            enabled.add(code)
    return frozenset(enabled)


def _longest_match(code: str, selectors: Sequence[str]) -> int:
    best = -1
    for selector in selectors:
        if selector == "ALL":
            best = max(best, 0)
        elif code.startswith(selector):
            best = max(best, len(selector))
    return best


def _per_file_ignore_codes(settings: Settings, path: Optional[Path]) -> Iterable[str]:
    if path is None or not settings.per_file_ignores:
        return ()
    codes = []
    for pattern, listed in settings.per_file_ignores:
        if path_matches(path, pattern, settings.root):
            codes.extend(listed)
    return codes


def path_matches(path: Path, pattern: str, root: Optional[Path]) -> bool:
    """Match a glob against a path's name, its path under ``root`` and its absolute path."""
    name = path.name
    candidates = [name, path.as_posix()]
    try:
        absolute = path.resolve()
        candidates.append(absolute.as_posix())
        if root is not None:
            candidates.append(absolute.relative_to(root.resolve()).as_posix())
    except (OSError, ValueError):
        pass
    pattern = pattern.rstrip("/")
    return any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates)
