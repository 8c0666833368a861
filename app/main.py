"""``flowdesk`` with no command: the QApplication, the theme and the main window."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any


def present(app: Any, window: Any) -> None:
    """Show the window, let it paint, then open the store (imports and migrations)."""
    window.show()
    app.processEvents()
    from PySide6.QtCore import QTimer

    QTimer.singleShot(0, window.connect_store)


def run_app(argv: Sequence[str] = ()) -> int:
    """Open the app (and the flow file given, if any); returns the exit code."""
    from PySide6.QtWidgets import QApplication

    from app.mainwindow import MainWindow
    from app.settings import AppSettings
    from app.theme import ThemeManager

    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName("Flowdesk")
    app.setOrganizationName("Flowdesk")
    settings = AppSettings()
    theme = ThemeManager(app, settings.theme())  # type: ignore[arg-type]
    files = [a for a in argv if not a.startswith("-")]
    window = MainWindow(settings, theme=theme, show_welcome=not files, defer_connection=True)
    present(app, window)
    if files:
        window.open_file(files[0])
    try:
        return int(app.exec())
    finally:
        theme.close()


if __name__ == "__main__":
    sys.exit(run_app(sys.argv[1:]))
