"""``python -m designer [FILE]``: the editor alone in a window, with its three docks.

Handy for trying the editor by hand and for screenshots
(``benchmarks/screenshots.py`` builds the same window offscreen). The full
application (``flowdesk``) embeds the same :class:`FlowEditor` with more
around it: runs, the monitor, connections.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QWidget

from designer.editor import FlowEditor

__all__ = ["DesignerWindow", "main"]


class DesignerWindow(QMainWindow):
    """A main window: canvas in the centre, palette left, properties right, problems below."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = FlowEditor(self)
        self.setCentralWidget(self.editor)
        self.palette_dock = self._dock("Palette", self.editor.palette,
                                       Qt.DockWidgetArea.LeftDockWidgetArea)
        self.properties_dock = self._dock("Properties", self.editor.properties,
                                          Qt.DockWidgetArea.RightDockWidgetArea)
        self.problems_dock = self._dock("Problems", self.editor.problems,
                                        Qt.DockWidgetArea.BottomDockWidgetArea)
        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        for action in self.editor.file_actions.all():
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction("&Quit", self.close)
        edit_menu = menus.addMenu("&Edit")
        view_menu = menus.addMenu("&View")
        for action in self.editor.edit_actions.all():
            text = action.text().lower().replace("&", "")
            menu = view_menu if text.startswith(("zoom", "show", "snap")) else edit_menu
            menu.addAction(action)
        view_menu.addSeparator()
        for dock in (self.palette_dock, self.properties_dock, self.problems_dock):
            view_menu.addAction(dock.toggleViewAction())
        self.editor.titleChanged.connect(self._retitle)
        self.editor.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.editor.problems.problemsChanged.connect(self._problems)
        self._retitle()
        self.resize(1280, 800)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title.lower()}Dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _retitle(self, *_args: object) -> None:
        self.setWindowTitle(f"{self.editor.title} — Flowdesk designer")

    def _problems(self, errors: int, warnings: int) -> None:
        self.problems_dock.setWindowTitle(
            "Problems" if not errors + warnings else f"Problems ({errors + warnings})")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.editor.maybe_discard():
            event.accept()
        else:
            event.ignore()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print("usage: python -m designer [FILE.flow.json]")
        return 0
    app = QApplication.instance() or QApplication([sys.argv[0]])
    window = DesignerWindow()
    if args:
        shown = window.editor.show_error
        window.editor.show_error = lambda _w, _title, text: print(text, file=sys.stderr)
        if not window.editor.open_flow(args[0]):
            return 2
        window.editor.show_error = shown
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
