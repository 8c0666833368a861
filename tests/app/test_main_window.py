"""The shell: menus and shortcuts, status bar, recent files, layout memory, welcome, themes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from app.mainwindow import MainWindow
from app.settings import AppSettings
from app.theme import ThemeManager, is_dark
from tests.app.conftest import EXAMPLES
from tests.app.helpers import start_slow_run


def _menu(window: MainWindow, title: str) -> list[tuple[str, str]]:
    for action in window.menuBar().actions():
        if action.text().replace("&", "") == title:
            return [(a.text().replace("&", ""), a.shortcut().toString())
                    for a in action.menu().actions() if not a.isSeparator()]
    raise AssertionError(f"no menu {title}")


def test_menus_and_shortcuts(window: MainWindow) -> None:
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles == ["File", "Edit", "View", "Run", "Tools", "Help"]
    file_items = [t for t, _ in _menu(window, "File")]
    assert file_items == ["New", "Open…", "Open Recent", "Save", "Save As…", "Revert",
                          "Export Image…", "Backup…", "Restore…", "Connection profiles…",
                          "Connect to server…", "Open deployed flow…", "Deploy to server",
                          "Log out", "Quit"]
    run = dict(_menu(window, "Run"))
    assert run["Run"] == "F5" and run["Show monitor"] == "Ctrl+M"
    assert "Validate" in run and "Cancel run" in run
    assert [t for t, _ in _menu(window, "Tools")] == ["Backup schedule…"]
    edit = dict(_menu(window, "Edit"))
    assert edit.get("Undo") == "Ctrl+Z"
    view = [t for t, _ in _menu(window, "View")]
    assert {"Palette", "Properties", "Problems", "Run", "Theme"} <= set(view)
    assert {"Zoom In", "Zoom to Fit", "Snap to Grid", "Show Minimap"} <= set(view)
    assert "Zoom In" not in edit and "Auto-layout" in edit


def test_status_bar_shows_connection_without_password(window: MainWindow) -> None:
    text = window.connection_label.text()
    assert text.startswith("Local — sqlite:///") and text.endswith("flowdesk.db")
    assert window.engine_label.text() == "engine: idle"


def test_recent_files_and_layout_are_remembered(qtbot, settings: AppSettings,
                                                memory_keyring) -> None:  # noqa: ANN001
    first = MainWindow(settings, show_welcome=False)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitUntil(lambda: first.connection is not None, timeout=20000)
    assert first.open_file(str(EXAMPLES / "hello.flow.json"))
    assert first.open_file(str(EXAMPLES / "approval.flow.json"))
    first.problems_dock.hide()
    first.resize(700, 500)
    size = (first.width(), first.height())
    first.close()
    assert settings.recent_files()[:2] == [str(EXAMPLES / "approval.flow.json"),
                                           str(EXAMPLES / "hello.flow.json")]
    second = MainWindow(settings, show_welcome=False)
    qtbot.addWidget(second)
    second.show()
    qtbot.waitUntil(lambda: second.connection is not None, timeout=20000)
    second._fill_recent()
    names = [a.text() for a in second.recent_menu.actions() if not a.isSeparator()]
    assert names[:2] == ["approval.flow.json", "hello.flow.json"]
    assert second.problems_dock.isHidden()
    assert (second.width(), second.height()) == size
    second.recent_menu.actions()[1].trigger()
    assert second.editor.flow.name == "hello"
    assert "hello.flow.json" in second.windowTitle()
    second.shutdown()


def test_welcome_page_opens_an_example(qtbot, settings: AppSettings, memory_keyring) -> None:  # noqa: ANN001
    win = MainWindow(settings, show_welcome=True)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.connection is not None, timeout=20000)
    from app.welcome import WelcomeDialog

    qtbot.waitUntil(lambda: win.findChild(WelcomeDialog, "welcomeDialog") is not None)
    dialog = win.findChild(WelcomeDialog, "welcomeDialog")
    names = [dialog.list.item(i).text().split("\n")[0] for i in range(dialog.list.count())]
    assert "hello" in names and "approval" in names
    item = dialog.list.item(names.index("hello"))
    rect = dialog.list.visualItemRect(item)
    qtbot.mouseClick(dialog.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(dialog.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert win.editor.flow.name == "hello"
    assert settings.welcome_seen()
    win.shutdown()


def test_missing_recent_file_is_one_sentence(window: MainWindow, tmp_path: Path) -> None:
    gone = tmp_path / "gone.flow.json"
    assert not window.open_file(str(gone))
    assert window.last_message == f"{gone} no longer exists."


def test_themes_are_palettes(qtbot) -> None:  # noqa: ANN001
    app = QApplication.instance()
    before = app.palette()
    manager = ThemeManager(app, "dark")
    try:
        assert is_dark(app.palette())
        assert app.styleSheet() == ""
        manager.apply("light")
        assert not is_dark(app.palette())
        assert app.palette().color(QPalette.ColorRole.Base).name() == "#ffffff"
    finally:
        manager.close()
        app.setPalette(before)


def test_system_theme_follows_the_colour_scheme(qtbot, monkeypatch) -> None:  # noqa: ANN001
    import app.theme as theme

    app = QApplication.instance()
    before = app.palette()
    manager = ThemeManager(app, "system")
    try:
        monkeypatch.setattr(theme, "system_is_dark", lambda: True)
        app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert is_dark(app.palette())
        monkeypatch.setattr(theme, "system_is_dark", lambda: False)
        app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert not is_dark(app.palette())
        manager.apply("dark")  # a forced theme ignores the system
        app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert is_dark(app.palette())
    finally:
        manager.close()
        app.setPalette(before)


def test_shift_f5_cancels_the_run_started_with_f5(window, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    import json

    flow = tmp_path / "slow.flow.json"
    flow.write_text(json.dumps({"format": "flowdesk/1", "name": "slow", "nodes": [
        {"id": "start", "kind": "start"},
        {"id": "nap", "kind": "delay", "config": {"seconds": 30}},
        {"id": "end", "kind": "end"}], "edges": [{"from": "start", "to": "nap"},
                                                 {"from": "nap", "to": "end"}]}))
    assert window.open_file(str(flow))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.runner.current_run is not None)
    qtbot.waitUntil(lambda: window.engine_label.text() == "engine: 1 run active")
    qtbot.waitUntil(lambda: window.runner.node_states().get("nap") == "running", timeout=10000)
    item = window.editor.scene.node_item("nap")
    assert item.run_state[0] == "running"
    qtbot.keyClick(window, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.run_panel.run_status == "cancelled", timeout=5000)
    qtbot.waitUntil(lambda: window.engine_label.text() == "engine: idle", timeout=5000)
    assert window.runner.node_states()["nap"] == "cancelled"
    assert window.editor.scene.node_item("nap").run_state[0] == "cancelled"


def test_quitting_with_an_active_run_asks_and_pauses_it(window, qtbot) -> None:  # noqa: ANN001
    run_id = start_slow_run(window, qtbot)
    asked: list[int] = []
    window.confirm_close_with_runs = lambda n: asked.append(n) or False
    assert not window.close()
    assert asked == [1] and window.isVisible() and window.bridge.active_count() == 1
    window.confirm_close_with_runs = lambda n: True
    assert window.close()
    assert window.bridge.active_count() == 0
    row = window.connection.store.run_row(run_id)
    assert row["status"] == "running" and row["owner"] is None  # paused, resumable
