"""Settings for the documents of a workspace, read from ``[tool.posenc-lint]``."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

from posenc_lint.config import ConfigError, Settings, find_config_file, load_settings
from posenc_lint.discovery import is_excluded


@dataclass(frozen=True)
class FolderSettings:
    """The settings for the files of one folder, or the error that replaced them with the defaults."""

    settings: Settings
    error: Optional[str] = None


class SettingsStore:
    """Settings by folder, read from the nearest ``pyproject.toml`` and kept until ``clear()``.

    Analysis threads read the store while the server thread clears it, so a
    value read before a ``clear()`` is never stored after it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_folder: Dict[Path, FolderSettings] = {}
        self._generation = 0

    def settings_for(self, folder: Path) -> FolderSettings:
        with self._lock:
            cached = self._by_folder.get(folder)
            generation = self._generation
        if cached is not None:
            return cached

        try:
            loaded = FolderSettings(load_settings(find_config_file(folder)))
        except ConfigError as error:
            loaded = FolderSettings(Settings(), f"{error}; using the default settings")
        with self._lock:
            if generation == self._generation:
                self._by_folder[folder] = loaded
        return loaded

    def clear(self) -> None:
        with self._lock:
            self._by_folder.clear()
            self._generation += 1


def is_excluded_document(path: Path, settings: Settings, workspace_root: Optional[Path]) -> bool:
    """Return whether ``exclude`` or ``extend-exclude`` matches the file or a folder above it.

    Folders count only below the configuration's folder, else below the
    workspace root, so a folder named ``build`` above the project does not
    exclude everything in it. This matches ``posenc-lint --force-exclude``.
    """
    if is_excluded(path, settings):
        return True
    base_folder = settings.root or workspace_root
    if base_folder is None:
        return False
    absolute = Path(os.path.abspath(path))
    base = Path(os.path.abspath(base_folder))
    if base not in absolute.parents:
        return False
    return any(is_excluded(folder, settings) for folder in absolute.parents if base in folder.parents)
