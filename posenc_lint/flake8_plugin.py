"""The flake8 adapter: lints the buffer flake8 hands over, never the file on disk.

The engine is imported on the first file, not when flake8 loads the plugin, so
flake8 runs that never reach a Python file do not pay for importing LibCST.
"""

from __future__ import annotations

import ast
import logging
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from posenc_lint import __version__

LOG = logging.getLogger(__name__)

Result = Tuple[int, int, str, type]


class Plugin:
    """flake8 entry point ``PEL``."""

    name = "posenc-lint"
    version = __version__

    # Settings by configuration file, shared by the files one flake8 process lints.
    _settings_cache: Dict[Optional[str], Any] = {}

    def __init__(self, tree: ast.AST, lines: List[str], filename: str):
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
        from posenc_lint.config import ConfigError
        from posenc_lint.engine import lint_source

        try:
            settings = self._settings()
        except ConfigError as error:
            yield 1, 0, f"PEL902 invalid posenc-lint configuration: {error}", type(self)
            return
        source = "".join(self.lines)
        path = Path(self.filename) if self.filename not in ("-", "stdin") else None
        # flake8 applies `# noqa` itself, over the same lines.
        result = lint_source(source, self.filename, settings, path=path, apply_noqa=False)
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
            settings = load_settings(config_file)
            self._settings_cache[key] = settings
        return settings
