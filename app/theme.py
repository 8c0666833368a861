"""Light and dark themes as QPalettes, following the system's colour scheme.

Only palettes, no per-widget style sheets: every widget (and the designer's
canvas, which reads the palette) follows one switch. With the theme set to
``system`` the app listens to ``QStyleHints.colorSchemeChanged``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")

_LIGHT = {
    "Window": "#f3f3f3", "WindowText": "#1e1e1e", "Base": "#ffffff",
    "AlternateBase": "#f0f0f5", "ToolTipBase": "#ffffe1", "ToolTipText": "#1e1e1e",
    "PlaceholderText": "#8a8a8a", "Text": "#1e1e1e", "Button": "#ececec",
    "ButtonText": "#1e1e1e", "BrightText": "#d32f2f", "Highlight": "#2f6fd6",
    "HighlightedText": "#ffffff", "Link": "#1a5fb4", "Mid": "#c0c0c0", "Dark": "#a0a0a0",
    "Light": "#ffffff", "Midlight": "#e6e6e6", "Shadow": "#606060",
}
_DARK = {
    "Window": "#2b2b2e", "WindowText": "#e6e6e6", "Base": "#1f1f22",
    "AlternateBase": "#29292d", "ToolTipBase": "#3a3a3f", "ToolTipText": "#e6e6e6",
    "PlaceholderText": "#8c8c8c", "Text": "#e6e6e6", "Button": "#36363a",
    "ButtonText": "#e6e6e6", "BrightText": "#ff6b6b", "Highlight": "#3d7be0",
    "HighlightedText": "#ffffff", "Link": "#78a9ff", "Mid": "#4a4a50", "Dark": "#1a1a1c",
    "Light": "#505056", "Midlight": "#404046", "Shadow": "#000000",
}


def make_palette(dark: bool) -> QPalette:
    """A complete palette; disabled text is dimmed in both themes."""
    colours = _DARK if dark else _LIGHT
    palette = QPalette()
    for role_name, colour in colours.items():
        palette.setColor(getattr(QPalette.ColorRole, role_name), QColor(colour))
    dim = QColor("#7a7a7a" if dark else "#a0a0a0")
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText,
                 QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, dim)
    return palette


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether the palette in use is a dark one (for code that paints its own colours)."""
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


class ThemeManager:
    """Applies ``system``, ``light`` or ``dark`` and keeps following the system."""

    def __init__(self, app: QApplication, theme: str = "system") -> None:
        self.app = app
        self.theme = theme if theme in THEMES else "system"
        app.setStyle("Fusion")
        app.styleHints().colorSchemeChanged.connect(self._system_changed)
        self.apply(self.theme)

    def apply(self, theme: str) -> None:
        self.theme = theme if theme in THEMES else "system"
        dark = system_is_dark() if self.theme == "system" else self.theme == "dark"
        self.app.setPalette(make_palette(dark))

    def close(self) -> None:
        """Stop following the system (when the app quits)."""
        try:
            self.app.styleHints().colorSchemeChanged.disconnect(self._system_changed)
        except (RuntimeError, TypeError):
            pass

    def _system_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self.theme == "system":
            self.apply("system")
