"""``flowdesk FILE``: run_app paints the window, opens the file, then opens the store."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from app.main import run_app
from app.mainwindow import MainWindow
from tests.app.conftest import EXAMPLES


def test_run_app_opens_the_file_and_connects(qtbot, monkeypatch, memory_keyring,
                                             flowdesk_home) -> None:  # noqa: ANN001
    seen: dict[str, object] = {}

    def fake_exec() -> int:
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, MainWindow) and w.isVisible()]
        assert len(windows) == 1
        window = windows[0]
        seen["before"] = window.connection
        qtbot.waitUntil(lambda: window.connection is not None)
        seen["title"] = window.windowTitle()
        seen["label"] = window.connection_label.text()
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", staticmethod(fake_exec))
    assert run_app([str(EXAMPLES / "hello.flow.json")]) == 0
    assert seen["before"] is None  # the store opens after the first paint
    assert seen["title"] == "hello.flow.json — Flowdesk"
    assert str(flowdesk_home) in str(seen["label"])
    assert (flowdesk_home / "settings.ini").exists()
    assert (flowdesk_home / "flowdesk.db").exists()
