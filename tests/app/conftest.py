"""Fixtures of the app's tests: private settings, an in-memory keyring, no thread left over."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from app.bridge import live_threads
from app.settings import AppSettings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"


class MemoryKeyring(KeyringBackend):
    """What a Secret Service keeps, in a dict."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.items:
            raise PasswordDeleteError("not found")
        del self.items[(service, username)]


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(previous)


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    """Settings in this test's own INI file."""
    return AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture(autouse=True)
def no_thread_left() -> Iterator[None]:
    """A test that leaves an engine or backup thread running fails."""
    yield
    left = live_threads()
    for thread in left:
        thread.join(10)
    still = [t.name for t in live_threads()]
    assert still == [], f"threads left running: {still}"


@pytest.fixture
def window(qtbot, settings: AppSettings, memory_keyring: MemoryKeyring):  # noqa: ANN001, ANN201
    """The main window on the default local store (FLOWDESK_HOME is this test's)."""
    from app.mainwindow import MainWindow

    win = MainWindow(settings, show_welcome=False)
    qtbot.addWidget(win)
    win.editor.ask_save_changes = lambda *_a: QMessageBox.StandardButton.Discard
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.connection is not None, timeout=20000)  # opened in a thread
    yield win
    win.shutdown()
