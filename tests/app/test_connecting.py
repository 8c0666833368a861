"""Opening a store never freezes the window: at start and on a profile switch.

A host that accepts the TCP connection and then never answers is the worst case
(a firewall, a hung server): the window must keep processing events meanwhile
and show the outcome when the open gives up.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QTimer

from app.profiles import LocalConnection, make_profile
from tests.app.helpers import switch


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 that is listening but never accepts or answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


class Ticker:
    """Counts a 20 ms QTimer's ticks while a condition holds (the GUI thread is free)."""

    def __init__(self, while_: object) -> None:
        self.ticks = 0
        self.while_ = while_
        self.timer = QTimer()
        self.timer.timeout.connect(self._tick)
        self.timer.start(20)

    def _tick(self) -> None:
        if self.while_():  # type: ignore[operator]
            self.ticks += 1

    def stop(self) -> None:
        self.timer.stop()


def test_start_on_a_server_that_never_answers_keeps_the_window_live(
        qtbot, settings, memory_keyring, silent_port: int, monkeypatch) -> None:  # noqa: ANN001
    import app.remote
    from app.credentials import service_for
    from app.mainwindow import MainWindow
    from app.remote import server_profile

    monkeypatch.setattr(app.remote, "CONNECT_TIMEOUT", 2.0)
    server = f"http://127.0.0.1:{silent_port}"
    profile = server_profile(server, "ada")
    settings.set_profiles([profile.to_dict()])
    settings.set_current_profile(profile.name)
    memory_keyring.items[(service_for(server), "ada")] = "stored-refresh-token"
    window = MainWindow(settings, show_welcome=False)
    qtbot.addWidget(window)
    try:
        window.show()
        assert window.statusBar().currentMessage().startswith(f"Connecting to {profile.name}")
        assert window.connection_label.text() == "connecting…"
        ticker = Ticker(lambda: window.connection is None)
        qtbot.waitUntil(lambda: window.connection is not None, timeout=20000)
        ticker.stop()
        assert ticker.ticks >= 5, "the GUI thread stopped while the server did not answer"
        assert isinstance(window.connection, LocalConnection)
        assert f"Could not open profile {profile.name}: Cannot reach {server}" \
            in window.last_message
        assert window.connection_label.text().startswith("Local — ")
    finally:
        window.shutdown()


def test_switching_to_a_silent_postgres_host_keeps_the_window_live(
        qtbot, window, silent_port: int, monkeypatch) -> None:  # noqa: ANN001
    import app.profiles

    monkeypatch.setattr(app.profiles, "PG_CONNECT_TIMEOUT", 2)
    before = window.connection
    profile, _ = make_profile("hung", "postgresql",
                              f"postgresql+psycopg://u@127.0.0.1:{silent_port}/x")
    window.profiles.save(profile)
    ticker = Ticker(lambda: window._connecting)
    outcome: list[bool] = []
    window.switch_profile("hung", outcome.append)
    assert window.connection_label.text() == "connecting to hung…"
    assert window.statusBar().currentMessage().startswith("Connecting to hung")
    # a second switch while one is under way is refused in one sentence
    refused: list[bool] = []
    window.switch_profile("Local", refused.append)
    assert refused == [False]
    assert window.last_message == "Still connecting; try again in a moment."
    qtbot.waitUntil(lambda: bool(outcome), timeout=30000)
    ticker.stop()
    assert ticker.ticks >= 5, "the GUI thread stopped while the host did not answer"
    assert outcome == [False]
    assert "Cannot connect to hung" in window.last_message
    assert window.connection is before
    assert window.connection_label.text().startswith("Local — ")
    assert switch(window, qtbot, "Local")  # nothing is left half switched
    assert window.connection is not before
    assert window.connection_label.text().startswith("Local — ")
