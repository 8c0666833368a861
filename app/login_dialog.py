"""File → Connect to server…: the login dialog.

The login request runs off the GUI thread (argon2 makes a login take a
noticeable fraction of a second on the server). On success the refresh token
goes to the OS keyring through :class:`app.credentials.TokenVault`; when the
keyring is unusable the dialog says why and offers a login for this session
only. Plain ``http`` to another machine needs the user's explicit consent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from app.credentials import TokenVault, keyring_problem
from engine.client import ClientError, InsecureServerError, ServerClient, normalise_url


class _Result(QObject):
    """Carries the outcome of the background login back to the GUI thread."""

    done = Signal(object, object)  # (client or None, error message or None)


def ask_insecure(parent: QWidget | None, url: str) -> bool:
    """Ask before sending a password over plain http to another machine."""
    answer = QMessageBox.warning(
        parent, "Unencrypted connection",
        f"{url} uses plain http. Your password and tokens would cross the network "
        "unencrypted. Connect anyway?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


class LoginDialog(QDialog):
    """Server URL, user name and password; ``client`` holds the session after accept()."""

    def __init__(self, parent: QWidget | None = None, *, url: str = "", username: str = "",
                 confirm_insecure: Callable[[QWidget | None, str], bool] = ask_insecure
                 ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connect to server")
        self.client: ServerClient | None = None
        self.remembered = False
        self._confirm_insecure = confirm_insecure
        self._result = _Result()
        self._result.done.connect(self._finished, Qt.ConnectionType.QueuedConnection)

        self.url_edit = QLineEdit(url)
        self.url_edit.setPlaceholderText("https://flowdesk.example.com")
        self.user_edit = QLineEdit(username)
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.session_only = QCheckBox("Sign in for this session only (store no token)")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setObjectName("loginStatus")

        problem = keyring_problem()
        if problem:
            self.session_only.setChecked(True)
            self.session_only.setEnabled(False)
            self.status.setText(f"{problem}. You can sign in for this session only; you will "
                                "be asked again next time.")

        form = QFormLayout()
        form.addRow("Server", self.url_edit)
        form.addRow("User name", self.user_edit)
        form.addRow("Password", self.password_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign in")
        self.buttons.accepted.connect(self.sign_in)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.session_only)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

    def _busy(self, busy: bool) -> None:
        for w in (self.url_edit, self.user_edit, self.password_edit, self.buttons):
            w.setEnabled(not busy)

    def sign_in(self) -> None:
        """Validate the form, then log in on a background thread."""
        try:
            url = normalise_url(self.url_edit.text())
        except ClientError as exc:
            self.status.setText(str(exc))
            return
        username = self.user_edit.text().strip()
        password = self.password_edit.text()
        if not username or not password:
            self.status.setText("Enter a user name and a password.")
            return
        allow_insecure = False
        try:
            ServerClient(url).close()
        except InsecureServerError:
            if not self._confirm_insecure(self, url):
                self.status.setText("Not connected: plain http to another machine was "
                                    "declined.")
                return
            allow_insecure = True
        remember = not self.session_only.isChecked()
        self.status.setText(f"Signing in to {url}…")
        self._busy(True)

        def work() -> None:
            client: ServerClient | None = None
            try:
                vault = TokenVault(url, username) if remember else None
                client = ServerClient(url, allow_insecure=allow_insecure,
                                      on_refresh_token=vault.save if vault else None)
                client.login(username, password)
                self._result.done.emit(client, None)
            except Exception as exc:  # reported in the dialog, never raised in a thread
                if client is not None:
                    client.close()
                self._result.done.emit(None, str(exc))

        threading.Thread(target=work, name="flowdesk-login", daemon=True).start()

    def _finished(self, client: Any, error: str | None) -> None:
        self._busy(False)
        if error:
            self.status.setText(error)
            return
        self.client = client
        self.remembered = not self.session_only.isChecked()
        self.password_edit.clear()
        self.accept()
