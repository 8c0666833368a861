"""The app's remembered state (QSettings): recent files, layout, profiles, backup schedule.

The settings live in an INI file in the Flowdesk data folder (``FLOWDESK_HOME``
overrides it), so a test or a second installation never sees another's
settings. Secrets never go here: a PostgreSQL password lives in the OS
keyring (see :mod:`app.profiles`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 10


def data_dir() -> Path:
    """The Flowdesk data folder: the rule of :func:`engine.store.data_dir`.

    Repeated here because importing :mod:`engine.store` loads SQLAlchemy and
    Alembic (half a second), which the window does not need before it shows.
    """
    home = os.environ.get("FLOWDESK_HOME")
    if home:
        return Path(home)
    import platformdirs

    return Path(platformdirs.user_data_dir("flowdesk", appauthor=False))


def settings_path() -> str:
    return str(data_dir() / "settings.ini")


@dataclass
class BackupSchedule:
    """Automatic backups: every ``interval_min`` minutes into ``folder``, keeping ``keep``."""

    enabled: bool = False
    interval_min: int = 60
    keep: int = 10
    folder: str = ""

    def effective_folder(self) -> str:
        return self.folder or str(data_dir() / "backups")


class AppSettings:
    """Typed access to the app's QSettings."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings or QSettings(settings_path(), QSettings.Format.IniFormat)

    # -- plain values ------------------------------------------------------
    def _get_json(self, key: str, default: Any) -> Any:
        raw = self.q.value(key)
        if raw is None:
            return default
        try:
            return json.loads(str(raw))
        except ValueError:
            return default

    def _set_json(self, key: str, value: Any) -> None:
        self.q.setValue(key, json.dumps(value))
        self.q.sync()

    # -- recent files --------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self._get_json("files/recent", [])
        return [str(v) for v in value] if isinstance(value, list) else []

    def add_recent(self, path: str) -> list[str]:
        files = [path] + [p for p in self.recent_files() if p != path]
        files = files[:MAX_RECENT]
        self._set_json("files/recent", files)
        return files

    def clear_recent(self) -> None:
        self._set_json("files/recent", [])

    # -- first start ---------------------------------------------------------
    def welcome_seen(self) -> bool:
        return bool(self._get_json("app/welcome_seen", False))

    def set_welcome_seen(self) -> None:
        self._set_json("app/welcome_seen", True)

    # -- window layout -------------------------------------------------------
    def save_window(self, name: str, geometry: QByteArray, state: QByteArray | None) -> None:
        self.q.setValue(f"{name}/geometry", geometry)
        if state is not None:
            self.q.setValue(f"{name}/state", state)
        self.q.sync()

    def window_geometry(self, name: str) -> QByteArray | None:
        value = self.q.value(f"{name}/geometry")
        return value if isinstance(value, QByteArray) else None

    def window_state(self, name: str) -> QByteArray | None:
        value = self.q.value(f"{name}/state")
        return value if isinstance(value, QByteArray) else None

    # -- theme ---------------------------------------------------------------
    def theme(self) -> str:
        value = self.q.value("app/theme", "system")
        return str(value) if value in ("system", "light", "dark") else "system"

    def set_theme(self, theme: str) -> None:
        self.q.setValue("app/theme", theme)
        self.q.sync()

    # -- connection profiles (no secrets) -------------------------------------
    def profiles(self) -> list[dict[str, Any]]:
        value = self._get_json("profiles/list", [])
        return [p for p in value if isinstance(p, dict)] if isinstance(value, list) else []

    def set_profiles(self, profiles: list[dict[str, Any]]) -> None:
        self._set_json("profiles/list", profiles)

    def current_profile(self) -> str | None:
        value = self.q.value("profiles/current")
        return str(value) if value else None

    def set_current_profile(self, name: str) -> None:
        self.q.setValue("profiles/current", name)
        self.q.sync()

    # -- backup schedule -----------------------------------------------------
    def backup_schedule(self) -> BackupSchedule:
        value = self._get_json("backup/schedule", {})
        if not isinstance(value, dict):
            return BackupSchedule()
        try:
            return BackupSchedule(enabled=bool(value.get("enabled", False)),
                                  interval_min=max(1, int(value.get("interval_min", 60))),
                                  keep=max(1, int(value.get("keep", 10))),
                                  folder=str(value.get("folder", "")))
        except (TypeError, ValueError):
            return BackupSchedule()

    def set_backup_schedule(self, schedule: BackupSchedule) -> None:
        self._set_json("backup/schedule", {"enabled": schedule.enabled,
                                           "interval_min": schedule.interval_min,
                                           "keep": schedule.keep, "folder": schedule.folder})
